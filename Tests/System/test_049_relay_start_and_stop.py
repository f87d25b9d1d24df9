"""Scenario 49: the relay before it can check values (no identity yet, or no datasources.yaml),
and around SIGTERM. data.sock answers 503 with Retry-After, `hubagent send --wait` gives up with
75, nothing is queued; once the configuration is in force values are taken. SIGTERM with values
queued and a request in flight exits 0 within a few seconds and the restart delivers everything
(docs/relay.md §1, §4)."""

import json
import os
import signal
import time

from relay_support import (DATASOURCES, T0, await_status, exchange_requests, live_status, ndjson, post,
                           relay_agent, request, send, write_datasources)


def refused_while_waiting(agent):
    status, headers, answer = request(agent, "POST", "/v1/timeseries",
                                      json.dumps({"dataPointId": "dp-temp", "value": 1.5}))
    assert status == 503, answer
    assert int(headers["retry-after"]) > 0, headers
    assert answer["error"], answer
    status, headers, _ = request(agent, "POST", "/v1/events", json.dumps({"severity": "info"}), "application/json")
    assert status == 503 and "retry-after" in headers
    started = time.monotonic()
    result = send(agent, [json.dumps({"dataPointId": "dp-temp", "value": 1.5})], "--wait", "1")
    assert result.returncode == 75, result
    assert time.monotonic() - started < 10
    assert "gave up" in result.stderr, result.stderr
    report = live_status(agent)
    assert report["state"] == "waiting" and report["reason"], report
    assert report["queue"]["records"] == 0 and report["ingestedRecords"] == 0, report


def test_503_before_a_data_source_configuration_exists(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent, datasources=None)
    refused_while_waiting(agent)

    write_datasources(agent, DATASOURCES)
    agent.wait_for(r"relay: checking values against data source configuration line-1", timeout=20)
    result = send(agent, [json.dumps({"dataPointId": "dp-temp", "value": 1.5, "timestamp": T0})], "--wait", "1")
    assert result.returncode == 0, result
    emu.await_values(agent_id, 1, timeout=15)
    assert [(v["dataPointId"], float(v["value"])) for v in emu.timeseries(agent_id)] == [("dp-temp", 1.5)]
    assert agent.stop() == 0


def test_503_before_onboarding(spawn_emulator, hubagent):
    emu = spawn_emulator()
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    write_datasources(agent, DATASOURCES)
    with open(os.path.join(agent.config_dir, "hubagent.conf"), "w") as f:
        f.write("relay = on\nrelay_flush_interval = 200ms\n")
    agent.start()
    agent.wait_for(r"waiting for a boarding file", timeout=10)
    agent.wait_for(r"taking values from local programs", timeout=10, since=0)
    refused_while_waiting(agent)

    agent.write_boarding(boarding)
    agent.wait_for(r"relay: checking values against data source configuration line-1", timeout=20)
    status, _ = post(agent, "/v1/timeseries", ndjson("dp-count", range(10)))
    assert status == 202
    emu.await_values(agent_id, 10, timeout=15)
    assert agent.stop() == 0


def test_sigterm_with_values_queued_and_in_flight(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    # The first upload hangs for 3 s on the server (then it is stored): SIGTERM meets it in flight.
    emu.fault(path="/exchange$", kind="delay", seconds=3, count=1)
    status, _ = post(agent, "/v1/timeseries", ndjson("dp-count", range(500)))
    assert status == 202
    deadline = time.monotonic() + 10
    while not any(r["status"] is None for r in exchange_requests(emu)):
        assert time.monotonic() < deadline, "no exchange request in flight"
        time.sleep(0.05)
    # More values queue behind it.
    status, _ = post(agent, "/v1/timeseries", ndjson("dp-count", range(500, 1000), start=T0 + 500))
    assert status == 202

    started = time.monotonic()
    os.kill(agent.proc.pid, signal.SIGTERM)
    # Stopping: no new values (503), or the socket is already gone.
    try:
        status, headers, answer = request(agent, "POST", "/v1/timeseries", ndjson("dp-count", [1], start=T0 + 5000))
        assert status == 503 and "stopping" in answer["error"], answer
    except (ConnectionError, FileNotFoundError):
        pass
    assert agent.stop(timeout=10) == 0
    assert time.monotonic() - started < 8, "SIGTERM took %.1f s" % (time.monotonic() - started)

    agent.start()
    emu.await_values(agent_id, 1000, timeout=15)
    assert sorted(int(v["value"]) for v in emu.timeseries(agent_id)) == list(range(1000))
    await_status(agent, lambda s: s["queue"]["records"] == 0, source=live_status)
    assert agent.stop() == 0


def test_sigterm_during_an_outage(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    emu.fault(path="/exchange$", kind="status", status=503, count=100000)
    status, _ = post(agent, "/v1/timeseries", ndjson("dp-count", range(300)))
    assert status == 202
    agent.wait_for(r"relay: the exchange endpoint answered 503", timeout=20)
    started = time.monotonic()
    assert agent.stop(timeout=10) == 0
    assert time.monotonic() - started < 3, "SIGTERM took %.1f s" % (time.monotonic() - started)

    emu.admin_json("DELETE", "/_admin/faults")
    agent.start()
    agent.wait_for(r"relay: 300 records queued from before the restart", timeout=20)
    emu.await_values(agent_id, 300, timeout=15)
    assert sorted(int(v["value"]) for v in emu.timeseries(agent_id)) == list(range(300))
    assert agent.stop() == 0
