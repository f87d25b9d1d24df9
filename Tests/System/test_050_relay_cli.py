"""Scenario 50: the relay's command line as scripts and Node-RED use it: `hubagent send --data`
with the payload quoted for the shell (Node-RED's exec node), `--events`, exit statuses, and
`hubagent relay status` / `dead-letters` for people."""

import json
import os
import shlex
import subprocess

DATASOURCES = """configurationId: line-1
dataSources:
  - name: Boiler
    dataPoints:
      - id: dp-state
        name: State
        type: STRING
        unit: ""
      - id: dp-temp
        name: Temperature
        type: DOUBLE
        unit: "°C"
"""


def relay_agent(spawn_emulator, hubagent):
    emu = spawn_emulator()
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    with open(os.path.join(agent.config_dir, "datasources.yaml"), "w") as f:
        f.write(DATASOURCES)
    with open(os.path.join(agent.config_dir, "hubagent.conf"), "w") as f:
        f.write("relay = on\nrelay_flush_interval = 200ms\n")
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"relay: checking values against data source configuration line-1", timeout=20)
    return emu, agent_id, agent


def test_node_red_exec_node_and_events(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    # What the README's function node builds, run the way the exec node runs it (/bin/sh -c).
    lines = "\n".join(json.dumps({"dataPointId": "Boiler/" + name, "value": value, "timestamp": 1764583200000})
                      for name, value in [("State", "it's 'hot'"), ("Temperature", 81.5)])
    quoted = "'" + lines.replace("'", "'\\''") + "'"
    command = "%s send --runtime-dir %s --data %s" % (shlex.quote(agent.binary), shlex.quote(agent.runtime_dir), quoted)
    result = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "accepted 2 values"

    events = "\n".join([json.dumps({"severity": "info", "description": "started"}), "",
                        json.dumps({"severity": 20, "description": "stopped", "timestamp": "2026-12-01T10:00:00Z"})])
    result = subprocess.run([agent.binary, "send", "--events", "--runtime-dir", agent.runtime_dir],
                            input=events + "\n", capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "accepted 2 events"

    emu.await_counts(agent_id, timeout=20, values=2, events=2)
    stored = {v["dataPointId"]: v["value"] for v in emu.timeseries(agent_id)}
    assert stored == {"dp-state": "it's 'hot'", "dp-temp": "81.5"}
    assert sorted(e["description"] for e in emu.events(agent_id)) == ["started", "stopped"]

    status = subprocess.run([agent.binary, "relay", "status", "--runtime-dir", agent.runtime_dir],
                            capture_output=True, text=True, timeout=30)
    assert status.returncode == 0, status.stderr
    assert "state" in status.stdout and "running" in status.stdout
    dead = subprocess.run([agent.binary, "relay", "dead-letters", "--state-dir", agent.state_dir],
                          capture_output=True, text=True, timeout=30)
    assert dead.returncode == 0 and dead.stdout.strip() == "no dead letters", dead
    assert agent.stop() == 0


def test_exit_statuses(spawn_emulator, hubagent, tmp_path):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"dataPointId":"dp-temp","value":1}\n\n{"dataPointId":"dp-temp","value":"warm"}\n')
    result = subprocess.run([agent.binary, "send", "--runtime-dir", agent.runtime_dir, str(bad)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 65, result
    assert "%s:3:" % bad in result.stderr, result.stderr
    assert agent.stop() == 0
    result = subprocess.run([agent.binary, "send", "--runtime-dir", agent.runtime_dir, "--data", "{}"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 69, result
    result = subprocess.run([agent.binary, "send", "--runtime-dir", agent.runtime_dir, "a", "b"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 64, result
