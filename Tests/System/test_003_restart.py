"""Scenario 3: a restart with stored state neither onboards again nor asks for anything but a
token, made with the stored credentials."""

from verify import verifies_hs256
from conftest import assertions_in


def test_restart_uses_stored_credentials(spawn_emulator, hubagent):
    emu = spawn_emulator()
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"access token valid until", timeout=15)
    assert agent.stop() == 0
    before = len(emu.requests())

    agent.start()
    agent.wait_for(r"loaded identity %s" % agent_id)
    agent.wait_for(r"access token valid until", timeout=15)
    assert agent.stop() == 0

    after = emu.requests()[before:]
    assert [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in after] == [("POST", "token")]
    secret = emu.state(agent_id)["client_secret"]
    assert all(verifies_hs256(a, secret) for _, a in assertions_in(after))
    assert emu.state(agent_id)["onboard_count"] == 1
