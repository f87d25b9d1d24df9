"""Scenario 44: the exchange endpoint refuses a batch with 400. The relay bisects it, the one
record still refused on its own goes to the dead letters with the answer and the Correlation-ID
of the request that refused it, the rest arrives, and the queue goes on (docs/relay.md §4)."""

from relay_support import (T0, await_status, dead_letters, exchange_requests, exchange_time, ndjson,
                           post, relay_agent)


def header(entry, name):
    return {k.lower(): v for k, v in entry["headers"].items()}.get(name.lower())


def test_refused_record_is_isolated_and_the_rest_arrives(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    mark = emu.next_seq()
    # Eight values of equal size at eight timestamps: 400 for the batch, its first half, the first
    # quarter and the first value alone isolates exactly the first value.
    emu.fault(path="/exchange$", kind="status", status=400, count=4,
              body={"id": "4711", "message": "value of dp-count out of range"})
    status, _ = post(agent, "/v1/timeseries", ndjson("dp-count", range(10, 18), step=1000))
    assert status == 202

    emu.await_values(agent_id, 7, timeout=20)
    attempts = exchange_requests(emu, mark)
    assert [r["status"] for r in attempts] == [400, 400, 400, 400, 200, 200, 200], \
        [r["status"] for r in attempts]
    stored = sorted((v["timestamp"], int(v["value"])) for v in emu.timeseries(agent_id))
    assert stored == [(exchange_time(T0 + i * 1000), 10 + i) for i in range(1, 8)]

    [letter] = dead_letters(agent)
    assert letter["record"]["dataPointId"] == "dp-count"
    assert str(letter["record"]["value"]) == "10"
    assert letter["record"]["timestamp"] == exchange_time(T0)
    assert letter["record"]["configurationId"] == "line-1"
    assert letter["correlationId"] == header(attempts[3], "Correlation-ID")
    assert "400" in letter["reason"] and "out of range" in letter["reason"], letter
    report = await_status(agent, lambda s: s["deadLetters"] == 1 and s["queue"]["records"] == 0)
    assert report["uploadedRecords"] == 7, report

    # The queue goes on.
    status, _ = post(agent, "/v1/timeseries", ndjson("dp-count", range(100, 150), start=T0 + 60000))
    assert status == 202
    emu.await_values(agent_id, 57, timeout=20)
    assert len(dead_letters(agent)) == 1
    assert agent.stop() == 0


def test_single_event_refused_is_a_dead_letter(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    emu.fault(path="/exchange$", kind="status", status=400, count=1)
    status, refused = post(agent, "/v1/events", '{"severity": "info", "description": "first"}', "application/json")
    assert status == 202
    agent.wait_for(r"relay: 1 record moved to dead letters", timeout=20)
    status, kept = post(agent, "/v1/events", '{"severity": "info", "description": "second"}', "application/json")
    assert status == 202
    emu.await_events(agent_id, 1, timeout=20)
    assert [e["id"] for e in emu.events(agent_id)] == [kept["id"]]
    [letter] = dead_letters(agent)
    assert letter["record"]["id"] == refused["id"] and letter["correlationId"], letter
    assert agent.stop() == 0


def test_413_splits_the_batch(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    mark = emu.next_seq()
    # A proxy in front of the endpoint refuses the first two bodies as too large.
    emu.fault(path="/exchange$", kind="status", status=413, count=2)
    status, _ = post(agent, "/v1/timeseries", ndjson("dp-count", range(1000, 1400)))
    assert status == 202
    emu.await_values(agent_id, 400, timeout=20)
    attempts = exchange_requests(emu, mark)
    assert [r["status"] for r in attempts] == [413, 413, 200, 200, 200], [r["status"] for r in attempts]
    sizes = [len(r["body"]) for r in attempts]
    assert sizes[1] < sizes[0] * 0.6 and sizes[2] < sizes[0] * 0.35, sizes
    assert sorted(int(v["value"]) for v in emu.timeseries(agent_id)) == list(range(1000, 1400))
    assert dead_letters(agent) == []
    assert agent.stop() == 0
