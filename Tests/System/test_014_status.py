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
