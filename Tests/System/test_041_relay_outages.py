"""Scenario 41: the exchange endpoint fails for a while (5xx, a reset connection, an outage).
Every value answered 202 arrives, once per (data point, timestamp), the same batch is not stored
twice after an answer that said nothing was stored, the retries back off, and
`hubagent relay status` says why and when the next attempt is (docs/relay.md §4)."""

import json
import time

import pytest

from relay_support import (T0, await_status, exchange_requests, exchange_time, ndjson, post,
                           relay_agent, relay_status)


def header(entry, name):
    return {k.lower(): v for k, v in entry["headers"].items()}.get(name.lower())


def stored_per_exchange(emu, agent_id):
    return sum(item["stored"] for exchange in emu.exchanges(agent_id) for item in exchange["items"])


def test_server_errors_then_everything_arrives_once(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    for status in (503, 500, 502):
        emu.fault(path="/exchange$", kind="status", status=status, count=1)

    status, answer = post(agent, "/v1/timeseries", ndjson("dp-count", range(200)))
    assert status == 202 and answer["accepted"] == 200, answer
    status, event = post(agent, "/v1/events", json.dumps({"severity": "error", "description": "trip"}),
                         "application/json")
    assert status == 202, event

    emu.await_counts(agent_id, values=200, events=1, timeout=20)
    stored = emu.timeseries(agent_id)
    assert sorted((v["timestamp"], int(v["value"])) for v in stored) == \
        [(exchange_time(T0 + i), i) for i in range(200)]
    [stored_event] = emu.events(agent_id)
    assert stored_event["id"] == event["id"]

    attempts = exchange_requests(emu)
    assert [r["status"] for r in attempts][:4] == [503, 500, 502, 200], [r["status"] for r in attempts]
    assert all(r["status"] == 200 for r in attempts[3:])
    # The same batch each time, under a fresh Correlation-ID.
    ids = [header(r, "Correlation-ID") for r in attempts[:4]]
    assert len(set(ids)) == 4 and all(ids), ids
    # Back-off with jitter: at least half of 1, 2, 4 s, and growing.
    gaps = [b["time"] - a["time"] for a, b in zip(attempts, attempts[1:4])]
    assert gaps[0] >= 0.45 and gaps[1] >= 0.95 and gaps[2] >= 1.95, gaps
    # A refused request stored nothing, so nothing was stored twice.
    assert stored_per_exchange(emu, agent_id) == 201
    assert emu.counts(agent_id)["duplicates"] == 0
    assert agent.stop() == 0


def test_reset_connection_then_everything_arrives_once(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    emu.fault(path="/exchange$", kind="reset", count=2)
    status, answer = post(agent, "/v1/timeseries", ndjson("dp-temp", [i / 4 for i in range(300)]))
    assert status == 202, answer
    agent.wait_for(r"relay: upload failed", timeout=20)

    emu.await_values(agent_id, 300, timeout=20)
    assert sorted(float(v["value"]) for v in emu.timeseries(agent_id)) == [i / 4 for i in range(300)]
    attempts = exchange_requests(emu)
    assert [r["status"] for r in attempts[:3]] == [0, 0, 200], attempts
    assert stored_per_exchange(emu, agent_id) == 300
    status = relay_status(agent)
    assert status["lastError"]["status"] is None and status["lastError"]["message"], status
    assert agent.stop() == 0


def test_outage_backs_off_and_status_says_why(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    emu.fault(path="/exchange$", kind="status", status=503, count=10000,
              body={"id": "x", "message": "maintenance"})
    status, _ = post(agent, "/v1/timeseries", ndjson("dp-count", range(50)))
    assert status == 202
    agent.wait_for(r"relay: the exchange endpoint answered 503", timeout=20)
    agent.wait_for(r"relay: the exchange endpoint answered 503", timeout=20)
    # Ingest goes on during the outage.
    status, _ = post(agent, "/v1/timeseries", ndjson("dp-count", range(50, 100), start=T0 + 50))
    assert status == 202

    # The status names the last refusal by its Correlation-ID and says when the next try is.
    report = await_status(agent, lambda s: s["lastError"] is not None and s["nextAttemptAt"] is not None
                          and s["queue"]["records"] == 100)
    attempts = exchange_requests(emu)
    assert all(r["status"] == 503 for r in attempts)
    assert report["lastError"]["status"] == 503
    assert report["lastError"]["correlationId"] in [header(r, "Correlation-ID") for r in attempts]
    assert report["state"] == "running", report
    assert report["nextAttemptAt"] > time.time() - 0.5, report
    assert report["nextAttemptAt"] < time.time() + 20, report

    # A third refusal comes later than the second did after the first.
    agent.wait_for(r"relay: the exchange endpoint answered 503", timeout=20)
    attempts = exchange_requests(emu)
    gaps = [b["time"] - a["time"] for a, b in zip(attempts, attempts[1:])]
    assert gaps[0] >= 0.45 and gaps[1] >= 0.95, gaps

    emu.admin_json("DELETE", "/_admin/faults")
    emu.await_values(agent_id, 100, timeout=20)
    assert sorted(int(v["value"]) for v in emu.timeseries(agent_id)) == list(range(100))
    assert stored_per_exchange(emu, agent_id) == 100
    report = await_status(agent, lambda s: s["queue"]["records"] == 0 and s["lastSuccessAt"] is not None)
    assert report["uploadedRecords"] == 100, report
    assert agent.stop() == 0


def test_backlog_after_an_outage_drains_to_the_last_value(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent, settings="relay_batch_bytes = 16KiB\n")
    emu.fault(path="/exchange$", kind="status", status=503, count=1)
    # Values of equal size: 143 fill a 16 KiB batch, so this is six full batches and one value.
    n = 143 * 6 + 1
    status, _ = post(agent, "/v1/timeseries", ndjson("dp-count", range(1000, 1000 + n)))
    assert status == 202
    agent.wait_for(r"relay: the exchange endpoint answered 503", timeout=20)
    emu.await_values(agent_id, n, timeout=10)
    assert sorted(int(v["value"]) for v in emu.timeseries(agent_id)) == list(range(1000, 1000 + n))
    assert agent.stop() == 0
