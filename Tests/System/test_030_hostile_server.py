"""Scenario 30: a broken or hostile southgate cannot take the identity away.

- an oversized client secret in a registration answer is refused (the answer is not stored), so
  the state stays readable and the next start keeps the identity;
- one answer whose Server-Time is 30 days ahead does not make valid credentials "expired": no
  re-boarding, no rotation, the clock offset stays;
- text in error bodies (newlines, terminal escapes) never reaches the log as a forged line."""

import json
import subprocess


def status_json(agent):
    result = subprocess.run([agent.args[0], "status", "--json", "--runtime-dir", agent.runtime_dir,
                             "--state-dir", agent.state_dir],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    return json.loads(result.stdout)


def test_oversized_client_secret_is_refused(spawn_emulator, hubagent):
    emu = spawn_emulator()
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    huge = "s" * (1200 * 1024)  # larger than a state file may be (1 MiB)
    emu.fault(method="POST", path="/register$", count=1, kind="status", status=201, body={
        "client_id": agent_id, "client_secret": huge, "client_secret_expires_at": int(emu.server_now()) + 3600,
        "registration_access_token": "rat", "registration_client_uri": emu.base_url
        + "/api/agentmanagement/v3/register/" + agent_id})
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"onboarding failed: register: invalid response: field client_secret is \d+ bytes long", timeout=20)
    agent.wait_for(r"onboarded as", timeout=30)
    agent.wait_for(r"access token valid until", timeout=15)
    stored = agent.stored_state()
    assert stored["identity"]["current"]["clientSecret"] == emu.state(agent_id)["client_secret"]
    assert agent.stop() == 0

    # The next start reads the identity back and does not onboard again.
    agent.start()
    agent.wait_for(r"loaded identity " + agent_id, timeout=15)
    agent.wait_for(r"access token valid until", timeout=15)
    assert emu.state(agent_id)["onboard_count"] == 1
    assert agent.stop() == 0


def test_one_far_future_server_time_is_not_believed(spawn_emulator, hubagent):
    emu = spawn_emulator("--token-lifetime", "4")
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"access token valid until", timeout=15)
    offset_before = status_json(agent)["clockOffset"]

    mark = emu.next_seq()
    seen = len(agent.lines)
    far = int(emu.server_now()) + 30 * 86400
    emu.fault(method="POST", path="/oauth/token$", count=1, kind="status", status=200,
              headers={"Server-Time": str(far)},
              body={"access_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "token_type": "bearer", "expires_in": 4})
    # The faulted answer, then two normal refreshes, each logged as it is taken.
    agent.wait_for(r"access token valid until", timeout=20, since=seen)
    agent.wait_for(r"access token valid until", timeout=20)
    agent.wait_for(r"access token valid until", timeout=20)
    tokens = [r for r in emu.requests(since=mark) if r["path"].endswith("/oauth/token") and r["status"] == 200]
    assert len(tokens) >= 3, tokens
    report = status_json(agent)
    assert report["state"] == "onboarded", report
    assert abs(report["clockOffset"] - offset_before) < 2, report
    assert agent.count(r"credentials expired|needs a new boarding file|offboarded") == 0
    puts = [r for r in emu.requests(since=mark) if r["method"] == "PUT"]
    assert puts == [], "a rotation followed one far-off header"
    assert emu.state(agent_id)["rotation_count"] == 0
    assert agent.stop() == 0


def test_server_text_cannot_forge_log_lines(spawn_emulator, hubagent):
    emu = spawn_emulator()
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    emu.fault(method="POST", path="/register$", count=1, kind="status", status=503,
              body={"message": "down\nhubagent[1]: FORGED onboarded as someone-else\x1b[2J"})
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"onboarded as " + agent_id, timeout=30)
    assert agent.stop() == 0
    log = agent.log()
    assert "\x1b" not in log
    assert not any(line.startswith("hubagent[1]: FORGED") for line in log.splitlines()), log
    assert "down?hubagent[1]: FORGED" in log
