"""Scenario 60: kill -9 at random instants while four producers post to data.sock and the relay
uploads (a third of the cycles with a slowed-down exchange, so kills land mid-upload too). After
the last restart every value acknowledged with a 202 is stored, every stored value is what was
sent, duplicate writes stay within one batch per kill, and the daemon starts every time. The
long version: `make relay-kills` (1,000 kills)."""

import relay_campaigns as rc


def test_kill_nine_during_ingest_and_upload(spawn_emulator, hubagent):
    emu = spawn_emulator()
    rig = rc.Rig(emu, hubagent(emu))
    result = rc.kills(rig, 50, max_after=0.6, checkpoint_every=50, log=lambda *_: None)
    print(rc.kills_table(result))
    assert result["kills"] == 50
    assert result["acked"] > 0 and result["stored"] >= result["acked"]
    assert rc.kills_problems(result) == [], rc.kills_table(result)
