"""Scenario 50: the relay's command line as scripts and Node-RED use it: `hubagent send --data`
with the payload quoted for the shell (Node-RED's exec node), `--events`, exit statuses, and
`hubagent relay status` / `dead-letters` for people."""

import json
import os
import shlex
import subprocess

import pytest

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


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_loopback_listener_with_a_bearer_key(spawn_emulator, hubagent):
    """Node-RED's http request node cannot reach a Unix socket: ingest_listen on loopback, every
    request with the key from ingest_key_file; without it 401, and a key others can read keeps
    the listener closed."""
    import http.client
    emu = spawn_emulator()
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    port = free_port()
    key_path = os.path.join(agent.config_dir, "ingest.key")
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    os.write(fd, b"k3y-for-node-red-0123456789\n")
    os.close(fd)
    with open(os.path.join(agent.config_dir, "datasources.yaml"), "w") as f:
        f.write(DATASOURCES)
    with open(os.path.join(agent.config_dir, "hubagent.conf"), "w") as f:
        f.write("relay = on\nrelay_flush_interval = 200ms\ningest_listen = 127.0.0.1:%d\ningest_key_file = %s\n"
                % (port, key_path))
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"taking values from local programs at http://127\.0\.0\.1:%d" % port, timeout=20)
    agent.wait_for(r"relay: checking values against data source configuration line-1", timeout=20)

    def post(headers):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        body = json.dumps([{"timestamp": "2026-12-01T10:00:00Z",
                            "values": [{"dataPointId": "dp-temp", "value": "21.5", "qualityCode": "0"}]}])
        connection.request("POST", "/v1/timeseries", body, dict({"Content-Type": "application/json"}, **headers))
        response = connection.getresponse()
        return response.status, json.loads(response.read())

    assert post({})[0] == 401
    assert post({"Authorization": "Bearer wrong-key-0123456789"})[0] == 401
    status, answer = post({"Authorization": "Bearer k3y-for-node-red-0123456789"})
    assert status == 202 and answer["accepted"] == 1, answer
    emu.await_values(agent_id, 1, timeout=20)
    assert [v["value"] for v in emu.timeseries(agent_id)] == ["21.5"]
    assert agent.stop() == 0

    os.chmod(key_path, 0o644)
    lines = agent.start()
    agent.wait_for(r"taking values from local programs at .*data\.sock", timeout=20)
    agent.wait_for(r"other users can read the ingest key .*the loopback listener stays closed", timeout=20)
    import socket
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    assert agent.count(r"http://127", since=lines) == 0
    assert agent.stop() == 0
