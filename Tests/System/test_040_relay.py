"""Scenario 40: the data relay end to end. Values handed to data.sock (the bulk JSON form, NDJSON,
`hubagent send`) are checked against datasources.yaml, answered 202 once on disk, and stored by
the exchange endpoint exactly as sent; a refused request stores nothing and says which record
and why; events keep the id the relay gave them; the queue survives a restart; the relay's
block reaches status.json."""

import json
import os
import subprocess

from relay_support import await_status, post, relay_agent, send


def status_file_relay(agent):
    """The relay block of status.json, as `hubagent status` and scripts read it."""
    with open(os.path.join(agent.runtime_dir, "status.json")) as f:
        return json.load(f)["relay"]


def test_values_arrive_exactly_as_sent(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)

    # The bulk form the Node SDK and Node-RED use, by id and by source/point name.
    bulk = [{"timestamp": "2026-12-01T10:00:00.000Z", "values": [
        {"dataPointId": "dp-temp", "value": "21.5", "qualityCode": "0"},
        {"dataPointId": "Boiler/Count", "value": 7},
        {"dataPointId": "dp-on", "value": True},
        {"dataPointId": "dp-state", "value": "heating"}]}]
    status, answer = post(agent, "/v1/timeseries", json.dumps(bulk), "application/json")
    assert status == 202, answer
    assert answer["accepted"] == 4 and answer["last"] - answer["first"] == 3

    # NDJSON with offsets and epoch milliseconds, through `hubagent send`.
    lines = [json.dumps({"dataPointId": "dp-count", "value": i, "timestamp": 1764583200000 + i * 1000})
             for i in range(1000)]
    lines.append(json.dumps({"dataPointId": "dp-temp", "value": -3.25, "timestamp": "2026-12-01T12:30:00+02:00"}))
    result = send(agent, lines)
    assert result.returncode == 0, result.stderr
    assert "accepted 1001 values" in result.stdout

    emu.await_values(agent_id, 1005, timeout=30)
    stored = emu.timeseries(agent_id)
    assert len(stored) == 1005
    first = {v["dataPointId"]: v for v in stored if v["timestamp"] == "2026-12-01T10:00:00.000Z"}
    assert {k: (v["value"], v["qualityCode"]) for k, v in first.items()} == {
        "dp-temp": ("21.5", "0"), "dp-count": ("7", "0"), "dp-on": ("true", "0"), "dp-state": ("heating", "0")}
    counts = sorted((v["timestamp"], v["value"]) for v in stored if v["dataPointId"] == "dp-count"
                    and v["timestamp"] != "2026-12-01T10:00:00.000Z")
    assert [int(value) for _, value in counts] == list(range(1000))
    assert counts[0][0] == "2025-12-01T10:00:00.000Z"
    assert [(v["dataPointId"], float(v["value"])) for v in stored if v["timestamp"] == "2026-12-01T10:30:00.000Z"] \
        == [("dp-temp", -3.25)], "the +02:00 value is stored at 10:30 UTC"
    # Nothing dropped by the service: every item was well-formed and known.
    for exchange in emu.exchanges(agent_id):
        assert exchange["status"] == 200
        assert all(item["dropped"] == 0 for item in exchange["items"]), exchange
    assert agent.stop() == 0


def test_refused_request_stores_nothing_and_names_the_record(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    lines = [json.dumps({"dataPointId": "dp-count", "value": 1}),
             json.dumps({"dataPointId": "dp-nope", "value": 2}),
             json.dumps({"dataPointId": "dp-count", "value": 2 ** 31})]
    status, answer = post(agent, "/v1/timeseries", "\n".join(lines))
    assert status == 400, answer
    # Lines 1 and 2 (0-based): an unknown data point, an INT beyond 32 bits.
    assert sorted(error["index"] for error in answer["errors"]) == [1, 2], answer
    assert any("dp-nope" in error["reason"] for error in answer["errors"]), answer

    result = send(agent, lines)
    assert result.returncode == 65, result
    assert "standard input:2:" in result.stderr and "standard input:3:" in result.stderr, result.stderr

    # Then one good value, to prove the refused ones never reached the queue.
    status, answer = post(agent, "/v1/timeseries", json.dumps({"dataPointId": "dp-on", "value": False}))
    assert status == 202, answer
    emu.await_values(agent_id, 1, timeout=20)
    stored = emu.timeseries(agent_id)
    assert [(v["dataPointId"], v["value"]) for v in stored] == [("dp-on", "false")]
    assert agent.stop() == 0


def test_events_keep_their_id(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    status, answer = post(agent, "/v1/events", json.dumps(
        {"severity": "warning", "description": "door open", "timestamp": "2026-12-01T10:00:00Z",
         "details": {"door": "north"}}), "application/json")
    assert status == 202, answer
    emu.await_events(agent_id, 1, timeout=20)
    events = emu.events(agent_id)
    assert len(events) == 1
    event = events[0]
    assert event["id"] == answer["id"]
    assert event["severity"] == 30 and event["description"] == "door open"
    assert event["timestamp"] == "2026-12-01T10:00:00.000Z"
    assert event["_duplicates"] == 0
    assert agent.stop() == 0


def test_queue_survives_a_restart_and_status_shows_it(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    emu.fault(path="/exchange$", kind="status", status=503, count=1000)
    status, answer = post(agent, "/v1/timeseries", "\n".join(
        json.dumps({"dataPointId": "dp-count", "value": i, "timestamp": 1764583200000 + i}) for i in range(50)))
    assert status == 202
    agent.wait_for(r"relay: the exchange endpoint answered 503", timeout=20)
    block = await_status(agent, lambda s: s["queue"]["records"] == 50 and s["lastError"] is not None,
                         source=status_file_relay)
    assert block["lastError"]["status"] == 503 and len(block["lastError"]["correlationId"]) == 32, block
    assert agent.stop() == 0

    emu.admin_json("DELETE", "/_admin/faults")
    agent.start()
    agent.wait_for(r"relay: 50 records queued from before the restart", timeout=20)
    emu.await_values(agent_id, 50, timeout=30)
    assert sorted(int(v["value"]) for v in emu.timeseries(agent_id)) == list(range(50))
    report = subprocess.run([agent.binary, "relay", "status", "--json", "--runtime-dir", agent.runtime_dir],
                            capture_output=True, text=True, timeout=30)
    assert report.returncode == 0, report.stderr
    relay = json.loads(report.stdout)
    assert relay["queue"]["records"] == 0 and relay["uploadedRecords"] == 50, relay
    assert agent.stop() == 0
