"""Shared by the relay scenarios (test_040…test_049): an onboarded daemon with relay = on against
the emulator, requests to data.sock, `hubagent send` and `hubagent relay`, and what the emulator
logged of the exchange."""

import json
import os
import socket
import subprocess
import time

DATASOURCES = """configurationId: line-1
dataSources:
  - name: Boiler
    dataPoints:
      - id: dp-temp
        name: Temperature
        type: DOUBLE
        unit: "°C"
      - id: dp-count
        name: Count
        type: INT
        unit: ""
      - id: dp-on
        name: Running
        type: BOOLEAN
        unit: ""
      - id: dp-state
        name: State
        type: STRING
        unit: ""
"""

EXCHANGE = "/api/mindconnect/v3/exchange"
# Epoch milliseconds of 2025-12-01T10:00:00Z: timestamps counted from here are in the past, so
# max_future never refuses them.
T0 = 1764583200000


def post(agent, path, body, content_type="application/x-ndjson"):
    """(status, JSON answer) of one request to data.sock."""
    status, _, answer = request(agent, "POST", path, body, content_type)
    return status, answer


def request(agent, method, path, body=b"", content_type="application/x-ndjson", timeout=40):
    """(status, headers with lower-case names, JSON answer) of one request to data.sock."""
    data = body.encode() if isinstance(body, str) else body
    head = "%s %s HTTP/1.1\r\nHost: x\r\n" % (method, path)
    if method == "POST":
        head += "Content-Type: %s\r\nContent-Length: %d\r\n" % (content_type, len(data))
    raw = (head + "\r\n").encode() + data
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(os.path.join(agent.runtime_dir, "data.sock"))
        s.sendall(raw)
        received = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, payload = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not received or len(lines[0].split()) < 2:
        raise ConnectionError("no answer from data.sock")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, json.loads(payload) if payload else None


def write_datasources(agent, text):
    path = os.path.join(agent.config_dir, "datasources.yaml")
    with open(path + ".new", "w") as f:
        f.write(text)
    os.rename(path + ".new", path)


def relay_agent(spawn_emulator, hubagent, settings="", emulator_args=(), datasources=DATASOURCES,
                emulator_kwargs=None):
    """An onboarded daemon with relay = on, its data source configuration uploaded and in force:
    (emulator, agent id, agent). With datasources=None there is no datasources.yaml and the
    function returns once the agent is onboarded."""
    emu = spawn_emulator(*emulator_args, **(emulator_kwargs or {}))
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    if datasources is not None:
        write_datasources(agent, datasources)
    with open(os.path.join(agent.config_dir, "hubagent.conf"), "w") as f:
        f.write("relay = on\nrelay_flush_interval = 200ms\n" + settings)
    agent.write_boarding(boarding)
    agent.start()
    if datasources is None:
        agent.wait_for(r"onboarded as", timeout=20)
        return emu, agent_id, agent
    agent.wait_for(r"data source configuration \S+ uploaded", timeout=20)
    agent.wait_for(r"relay: checking values against data source configuration", timeout=10)
    return emu, agent_id, agent


def send(agent, lines, *args):
    return subprocess.run([agent.binary, "send", "--runtime-dir", agent.runtime_dir, *args],
                          input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60)


def ndjson(point, values, start=T0, step=1):
    """NDJSON lines of `point`, one value each at start, start + step, … (epoch ms)."""
    return "\n".join(json.dumps({"dataPointId": point, "value": v, "timestamp": start + i * step})
                     for i, v in enumerate(values)) + "\n"


def relay_status(agent):
    """`hubagent relay status --json`: the relay block of status.json, as the operator reads it."""
    result = subprocess.run([agent.binary, "relay", "status", "--json", "--runtime-dir", agent.runtime_dir],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def live_status(agent):
    """GET /v1/relay: the relay block now (status.json trails it by up to a second)."""
    status, _, answer = request(agent, "GET", "/v1/relay")
    assert status == 200, answer
    return answer


def await_status(agent, condition, timeout=15, source=relay_status):
    """The first relay status (by default from `hubagent relay status --json`) for which
    `condition` holds. status.json is rewritten at most once a second and has no change
    notification, so this is a bounded poll on its content."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = source(agent)
        except (AssertionError, ValueError, OSError):
            last = None
        if last is not None and condition(last):
            return last
        if time.monotonic() > deadline:
            raise AssertionError("relay status never matched within %ss; last: %r" % (timeout, last))
        time.sleep(0.1)


def exchange_requests(emu, since=0):
    """The emulator's log entries of exchange requests (seq, status, time, headers, …)."""
    return [r for r in emu.requests(since) if r["path"] == EXCHANGE]


def token_requests(emu, since=0):
    return [r for r in emu.requests(since) if r["path"].endswith("/oauth/token")]


def dead_letters(agent):
    """`hubagent relay dead-letters` as parsed JSON lines."""
    result = subprocess.run([agent.binary, "relay", "dead-letters", "--limit", "100000",
                             "--state-dir", agent.state_dir], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def stored_keys(emu, agent_id):
    """{(dataPointId, timestamp): value} of everything the exchange stored for the agent."""
    return {(v["dataPointId"], v["timestamp"]): v["value"] for v in emu.timeseries(agent_id)}


def exchange_time(ms):
    """Epoch milliseconds in the exchange's timestamp form."""
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".%03dZ" % millis
