"""Scenario 31: SIGTERM (a restart, a package upgrade) while an onboarding or a rotation is in
flight. southgate may already have accepted the request, and its answer is then the only copy of
the new credentials: the daemon waits for it (within the unit's stop timeout), stores it, then
exits 0. After the restart the identity is there and the IAT is not sent again."""

import time


def wait_in_flight(emu, method, path_suffix, since, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for entry in emu.requests(since=since):
            if entry["method"] == method and entry["path"].endswith(path_suffix) and entry["status"] is None:
                return entry
        time.sleep(0.05)
    raise AssertionError("no %s …%s in flight within %ss" % (method, path_suffix, timeout))


def test_sigterm_during_onboarding_keeps_the_answer(spawn_emulator, hubagent):
    emu = spawn_emulator()
    agent_id, boarding = emu.create_agent("RSA_3072")
    emu.fault(method="POST", path="/register$", count=1, kind="delay", seconds=3)
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    mark = emu.next_seq()
    agent.start()
    wait_in_flight(emu, "POST", "/register", mark)
    started = time.time()
    assert agent.stop() == 0
    waited = time.time() - started
    assert 1 < waited < 16, waited
    assert agent.count(r"waiting up to 15s for southgate's answer to the onboarding in flight") == 1
    assert agent.count(r"onboarded as " + agent_id) == 1
    assert agent.stored_state()["identity"]["clientId"] == agent_id

    lines = agent.start()
    agent.wait_for(r"loaded identity " + agent_id, timeout=15, since=lines)
    agent.wait_for(r"access token valid until", timeout=15, since=lines)
    assert emu.state(agent_id)["onboard_count"] == 1
    assert [r for r in emu.requests(since=mark) if r["method"] == "POST" and r["path"].endswith("/register")][1:] == []
    assert agent.stop() == 0


def test_sigterm_during_rotation_keeps_the_answer(spawn_emulator, hubagent):
    emu = spawn_emulator("--secret-lifetime", "9", "--token-lifetime", "30")
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"access token valid until", timeout=15)
    mark = emu.next_seq()
    emu.fault(method="PUT", path="/register/", count=1, kind="delay", seconds=2)
    wait_in_flight(emu, "PUT", "/register/" + agent_id, mark, timeout=20)
    assert agent.stop() == 0
    assert agent.count(r"waiting up to 15s for southgate's answer to the rotation in flight") == 1
    assert agent.count(r"credentials rotated") == 1
    stored = agent.stored_state()["identity"]
    assert stored["current"]["clientSecret"] == emu.state(agent_id)["client_secret"]
    assert stored["rotationInProgress"] is False
    assert emu.state(agent_id)["rotation_count"] == 1


def test_sigterm_when_idle_stops_at_once(spawn_emulator, hubagent):
    emu = spawn_emulator()
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"access token valid until", timeout=15)
    started = time.time()
    assert agent.stop() == 0
    assert time.time() - started < 2
    assert agent.count(r"waiting up to") == 0
