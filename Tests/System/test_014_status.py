"""Scenario 14: `hubagent status` shows the running daemon's state from status.json (human and
JSON), falls back to the state directory when the daemon is not running, and never prints a
credential."""

import json
import re
import subprocess


def status(agent, *flags):
    result = subprocess.run([agent.args[0], "status", "--runtime-dir", agent.runtime_dir, "--state-dir", agent.state_dir] + list(flags),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    return result.returncode, result.stdout, result.stderr


def test_status_running_and_stopped(spawn_emulator, hubagent):
    emu = spawn_emulator()
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"access token valid until", timeout=15)

    code, text, _ = status(agent, "--json")
    assert code == 0
    report = json.loads(text)
    assert report["running"] is True and report["state"] == "onboarded"
    assert report["clientId"] == agent_id and report["profile"] == "SHARED_SECRET"
    assert report["southgate"] == emu.base_url
    assert report["secretExpiresAt"] == emu.state(agent_id)["client_secret_expires_at"]
    assert report["nextRotationAt"] < report["secretExpiresAt"]
    assert report["tokenExpiresAt"] > report["updatedAt"]
    assert abs(report["clockOffset"]) < 2
    assert report["lastError"] is None and report["problems"] == []
    for field in ("summary", "tenant", "dataSources", "offline", "pid", "version"):
        assert field in report

    code, text, _ = status(agent)
    assert code == 0
    # An aligned block: a label, two or more spaces, the value.
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in text.splitlines())
    assert rows["state"] == "onboarded"
    assert rows["agent id"] == agent_id
    assert re.fullmatch(r"valid until \S+Z \(in (59m \d+s|1h 0m)\)", rows["access token"]), rows["access token"]

    secrets = [emu.state(agent_id)["client_secret"], emu.state(agent_id)["rat"], boarding["content"]["iat"]]
    assert agent.stop() == 0

    code, stopped, _ = status(agent)
    assert code == 0
    assert "(daemon not running)" in stopped.splitlines()[0] or "not running" in stopped
    assert agent_id in stopped
    for secret in secrets:
        assert secret not in text and secret not in stopped


def test_status_without_anything(binary, tmp_path):
    result = subprocess.run([binary, "status", "--runtime-dir", str(tmp_path / "run"), "--state-dir", str(tmp_path / "state")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert result.returncode == 1
    assert "no status from a running daemon" in result.stderr


def test_status_in_each_waiting_state(spawn_emulator, hubagent):
    """waitingForBoarding with no file; needsReboarding after offboarding, with the reason as a problem."""
    emu = spawn_emulator()
    agent = hubagent(emu)
    agent.start()
    agent.wait_for(r"serving access tokens to local programs", timeout=10)
    code, text, _ = status(agent, "--json")
    report = json.loads(text)
    assert code == 0 and report["state"] == "waitingForBoarding" and report["clientId"] is None
    assert report["summary"].startswith("waiting for a boarding file")

    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent.write_boarding(boarding)
    agent.wait_for(r"access token valid until", timeout=15)
    emu.admin_json("POST", "/api/agentmanagement/v3/agents/%s/boarding/offboard" % agent_id)
    assert agent.stop() == 0
    agent.start()
    agent.wait_for(r"offboarded", timeout=30)
    code, text, _ = status(agent, "--json")
    report = json.loads(text)
    assert report["state"] == "needsReboarding"
    assert any("offboarded" in problem for problem in report["problems"])
    code, human, _ = status(agent)
    assert "problem" in human and "offboarded" in human
    assert agent.stop() == 0
