"""Scenario 6: server faults. The agent backs off (the request count proves there is no storm),
never onboards again, never deletes state, and recovers when the server does."""

import os
import time


def requests_to(emu, suffix, since=0):
    return [r for r in emu.requests()[since:] if r["path"].endswith(suffix)]


def test_bursts_rate_limits_and_broken_connections(spawn_emulator, hubagent):
    emu = spawn_emulator("--token-lifetime", "3600")
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    with open(os.path.join(agent.config_dir, "hubagent.conf"), "w") as f:
        f.write("request_timeout = 2\n")
    agent.write_boarding(boarding)

    # Onboarding through a burst of 503 and 500: three failures, then success.
    emu.fault(method="POST", path="/register$", count=2, kind="status", status=503)
    emu.fault(method="POST", path="/register$", count=1, kind="status", status=500)
    agent.start()
    agent.wait_for(r"onboarded as", timeout=30)
    registers = requests_to(emu, "/register")
    assert [r["status"] for r in registers] == [503, 503, 500, 201]
    gaps = [b["time"] - a["time"] for a, b in zip(registers, registers[1:])]
    assert all(gap >= 0.4 for gap in gaps), gaps       # backoff, with jitter >= half of 1, 2, 4 s
    assert gaps[2] > gaps[0], gaps                      # and growing
    agent.wait_for(r"access token valid until", timeout=10)

    # A 429 with Retry-After: the next attempt waits at least that long.
    mark = len(emu.requests())
    emu.fault(method="PUT", path="/register/", count=1, kind="status", status=429,
              headers={"Retry-After": "3"}, body={"id": "x", "error": "too_many_requests", "error_description": "[0] slow down"})
    # Force a rotation now: SIGHUP does not, so make the server say the token is refused.
    emu.fault(method="POST", path="/oauth/token", count=1, kind="status", status=400,
              body={"id": "x", "error": "invalid_client", "error_description": "[0] refused"})
    # Let the current token run out of its refresh margin: restart the agent so it fetches a token.
    assert agent.stop() == 0
    agent.start()
    agent.wait_for(r"rotation failed: .*429", timeout=20)
    agent.wait_for(r"credentials rotated", timeout=20)
    puts = requests_to(emu, "/register/" + agent_id, since=mark)
    assert [r["status"] for r in puts] == [429, 200]
    assert puts[1]["time"] - puts[0]["time"] >= 2.9
    # The rotation is followed by a token request with the new credentials: let it finish
    # before the faults below are armed, or it would take (or dodge) one of them.
    agent.wait_for(r"access token valid until", timeout=20)

    # Resets, a delay beyond the request timeout, and a truncated body on the token endpoint.
    mark = len(emu.requests())
    emu.fault(method="POST", path="/oauth/token", count=1, kind="reset")
    emu.fault(method="POST", path="/oauth/token", count=1, kind="delay", seconds=3)
    emu.fault(method="POST", path="/oauth/token", count=1, kind="truncate")
    assert agent.stop() == 0
    agent.start()
    agent.wait_for(r"access token valid until", timeout=40)
    tokens = requests_to(emu, "/oauth/token", since=mark)
    assert len(tokens) == 4, [(r["status"], r["time"]) for r in tokens]
    assert agent.stop() == 0

    state = emu.state(agent_id)
    assert state["onboard_count"] == 1
    assert agent.state_files()


def test_server_down_for_20_seconds(spawn_emulator, hubagent, tmp_path):
    state_file = str(tmp_path / "southgate-state.json")
    emu = spawn_emulator("--token-lifetime", "4", "--state", state_file)
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"access token valid until", timeout=15)
    port = emu.port
    assert emu.stop() == 0
    down_since = time.monotonic()
    agent.wait_for(r"token request failed: .*could not connect", timeout=10)
    # While the server is down, the agent backs off: 1, 2, 4, 8 s ... at most ~6 attempts in 20 s.
    time.sleep(max(0, 20 - (time.monotonic() - down_since)))
    attempts = agent.count(r"token request failed")
    assert 2 <= attempts <= 7, agent.log()

    emu.args[emu.args.index("--port") + 1] = str(port)
    emu.start()
    agent.wait_for(r"access token valid until", timeout=40)
    assert agent.stop() == 0
    requests = emu.requests()
    assert not [r for r in requests if r["method"] == "POST" and r["path"].endswith("/register")], "onboarded again"
    assert emu.state(agent_id)["onboard_count"] == 1
