"""Scenario 63: steady ingest through an outage of the exchange endpoint (the emulator's
listening socket closed for 15 s): afterwards every acknowledged value is stored, values reach
the exchange in the order of their sequence numbers and none is missing. The long version (a
few minutes): `make relay-outage`."""

import relay_campaigns as rc


def test_steady_ingest_through_an_outage(spawn_emulator, hubagent):
    emu = spawn_emulator()
    rig = rc.Rig(emu, hubagent(emu))
    result = rc.outage(rig, 15, after=3, log=lambda *_: None)
    print(result)
    assert result["acked"] > 0 and result["acked"] == result["sent"], result
    assert result["stored"] == result["acked"], result
    assert (result["missing"], result["wrong"], result["unknown"], result["out_of_order"], result["gaps"]) == (0,) * 5
