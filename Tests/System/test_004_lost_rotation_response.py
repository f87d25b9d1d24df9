"""Scenario 4: the server applies a rotation but its answer is lost ("commit then drop"). The
agent repeats the PUT with the same registration access token and ends with working
credentials, without onboarding again."""

import pytest


@pytest.mark.parametrize("profile", ["SHARED_SECRET", "RSA_3072"])
def test_lost_rotation_response_is_recovered(spawn_emulator, hubagent, profile):
    emu = spawn_emulator("--secret-lifetime", "9", "--token-lifetime", "30")
    agent_id, boarding = emu.create_agent(profile)
    emu.fault(method="PUT", path="/register/", count=1, kind="commit_then_drop")
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"onboarded as", timeout=20)
    # libcurl itself replays a request whose reused connection died before any answer, or the
    # agent repeats it after a "connection lost": either way the same PUT goes out again.
    agent.wait_for(r"credentials rotated", timeout=20)
    agent.wait_for(r"access token valid until", timeout=10)
    assert agent.stop() == 0

    requests = emu.requests()
    puts = [r for r in requests if r["method"] == "PUT"]
    assert len(puts) >= 2
    assert puts[0]["fault"] == "commit_then_drop" and puts[0]["answered"] is False, puts[0]
    # The repeated PUT carries the same RAT as the one whose answer was lost (docs/protocol.md §5.2).
    assert puts[0]["headers"]["Authorization"] == puts[1]["headers"]["Authorization"]
    assert puts[1]["status"] == 200
    if profile == "RSA_3072":
        # ... and the same pending key, stored before the first attempt.
        import json
        key = lambda r: json.loads(r["body"])["jwks"]["keys"][0]["n"]
        assert key(puts[0]) == key(puts[1])
    state = emu.state(agent_id)
    assert state["onboard_count"] == 1
    assert state["rotation_count"] >= 2
    last_token = [r for r in requests if r["path"].endswith("/oauth/token")][-1]
    assert last_token["status"] == 200


def test_lost_onboarding_answer_is_reported_not_retried_forever(spawn_emulator, hubagent):
    """The one loss no client can repair: southgate registers the agent (the IAT is used up) and
    the answer never arrives. The agent says what happened and what to do, marks the boarding file
    used and stops sending it."""
    emu = spawn_emulator()
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    emu.fault(method="POST", path="/register$", count=1, kind="commit_then_drop")
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"onboarding refused: .*token_validation_failed.*may already have registered this agent.*new boarding file", timeout=30)
    registers = [r for r in emu.requests() if r["method"] == "POST" and r["path"].endswith("/register")]
    assert [r["status"] for r in registers] == [201, 401], [(r["status"], r["fault"]) for r in registers]
    assert agent.stop() == 0
    assert boarding["content"]["iat"] and "identity" not in agent.stored_state()
    # A restart does not send the used IAT again.
    agent.start()
    agent.wait_for(r"was already used; not sending its initial access token again", timeout=15)
    assert agent.stop() == 0
    assert len([r for r in emu.requests() if r["method"] == "POST" and r["path"].endswith("/register")]) == 2
