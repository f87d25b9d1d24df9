"""Scenario 45: the exchange endpoint stores a batch and the answer is lost (commit_then_drop).
The relay sends the batch again: every acknowledged value and event is stored, events keep
their ids (the emulator counts the repeat as a duplicate), and what was stored twice is bounded
by one batch per lost answer (docs/relay.md §4: at-least-once)."""

import json

from relay_support import T0, exchange_requests, exchange_time, ndjson, post, relay_agent

N = 20000


def stored_counts(exchange):
    values = sum(i["stored"] for i in exchange["items"] if i["type"] == "standardTimeSeries")
    events = sum(i["stored"] for i in exchange["items"] if i["type"] == "businessEvent")
    return values, events


def test_lost_answers_cost_at_most_one_batch_each(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    mark = emu.next_seq()
    emu.fault(path="/exchange$", kind="commit_then_drop", count=2)
    # Two requests of 10,000 values: three batches of about 1 MiB (relay_batch_bytes).
    for half in (0, 10000):
        status, answer = post(agent, "/v1/timeseries", ndjson("dp-count", range(half, half + 10000), start=T0 + half))
        assert status == 202 and answer["accepted"] == 10000

    ids = []
    for n in range(3):
        status, answer = post(agent, "/v1/events", json.dumps(
            {"severity": "info", "description": "batch %d" % n, "timestamp": T0 + n}), "application/json")
        assert status == 202
        ids.append(answer["id"])

    emu.await_counts(agent_id, values=N, events=3, timeout=40)
    stored = emu.timeseries(agent_id)
    assert sorted((v["timestamp"], int(v["value"])) for v in stored) == \
        [(exchange_time(T0 + i), i) for i in range(N)]
    events = emu.events(agent_id)
    assert sorted(e["id"] for e in events) == sorted(ids)

    attempts = exchange_requests(emu, mark)
    assert [r["answered"] for r in attempts[:2]] == [False, False], attempts[:2]
    exchanges = emu.exchanges(agent_id)
    per_exchange = [stored_counts(x) for x in exchanges]
    # What the two lost answers covered was sent again, and nothing else was.
    lost = per_exchange[:2]
    total_values = sum(v for v, _ in per_exchange)
    total_events = sum(e for _, e in per_exchange)
    assert total_values - N <= sum(v for v, _ in lost), per_exchange
    assert total_events - 3 <= sum(e for _, e in lost), per_exchange
    assert sum(e["_duplicates"] for e in events) == total_events - 3
    assert max(e["_duplicates"] for e in events) <= 2
    assert len(exchanges) >= 4, "the two lost answers and at least two more batches"
    print("duplicates: %d values, %d events over %d exchanges; lost answers covered %r"
          % (total_values - N, total_events - 3, len(exchanges), lost))

    # A lost answer for a batch of events: resent with the same ids, stored once, counted twice.
    emu.fault(path="/exchange$", kind="commit_then_drop", count=1)
    later = []
    for n in range(2):
        status, answer = post(agent, "/v1/events", json.dumps({"severity": 20, "description": "later %d" % n}),
                              "application/json")
        assert status == 202
        later.append(answer["id"])
    agent.wait_for(r"relay: upload failed", timeout=20)
    emu.await_counts(agent_id, events=5, exchanges=len(exchanges) + 2, timeout=20)
    duplicates = {e["id"]: e["_duplicates"] for e in emu.events(agent_id)}
    assert len(duplicates) == 5
    assert [duplicates[i] for i in later] == [1, 1], duplicates
    assert agent.stop() == 0
