"""Scenario 46: kill -9 of the daemon in the middle of a burst from several producers. Every value
that was answered 202 is stored by the exchange endpoint after the restart (docs/relay.md: "a
202 means the values survive kill -9"); values of requests cut off by the kill may or may not
arrive; duplicates are bounded by the batch in flight."""

import json
import threading
import time

import pytest

from relay_support import T0, await_status, live_status, relay_agent, request

PRODUCERS = 4
PER_REQUEST = 250
KILL_AFTER = 30000


def producer(agent, index, acked, lock, enough, stop):
    """Posts NDJSON of unique (timestamp, value) pairs until stopped or the daemon is gone."""
    base = T0 + index * 10_000_000
    n = 0
    while not stop.is_set():
        values = range(n, n + PER_REQUEST)
        body = "".join(json.dumps({"dataPointId": "dp-count", "value": index * 10_000_000 + i,
                                   "timestamp": base + i}) + "\n" for i in values)
        try:
            status, _, answer = request(agent, "POST", "/v1/timeseries", body, timeout=10)
        except (OSError, ValueError):
            return  # the daemon was killed mid-request: no answer, no promise
        if status != 202:
            return
        assert answer["accepted"] == PER_REQUEST
        with lock:
            acked.update(index * 10_000_000 + i for i in values)
            if len(acked) >= KILL_AFTER:
                enough.set()
        n += PER_REQUEST


def burst_then_kill(agent):
    """Runs the producers until KILL_AFTER values are acknowledged, then kill -9: the values
    promised."""
    acked, lock, enough, stop = set(), threading.Lock(), threading.Event(), threading.Event()
    threads = [threading.Thread(target=producer, args=(agent, i, acked, lock, enough, stop), daemon=True)
               for i in range(PRODUCERS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    assert enough.wait(timeout=30), "the producers got %d values accepted" % len(acked)
    agent.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    print("burst of %d values in %.2f s" % (len(acked), time.monotonic() - started))
    with lock:
        return set(acked)


def restart_and_check(emu, agent_id, agent, promised, stored_before):
    agent.start()
    agent.wait_for(r"relay: checking values against data source configuration", timeout=20)
    emu.await_values(agent_id, len(promised), timeout=15)
    await_status(agent, lambda s: s["queue"]["records"] == 0, source=live_status)
    stored = {int(v["value"]) for v in emu.timeseries(agent_id)}
    lost = promised - stored
    assert not lost, "%d acknowledged values lost, e.g. %r" % (len(lost), sorted(lost)[:10])
    per_exchange = [sum(item["stored"] for item in x["items"]) for x in emu.exchanges(agent_id)]
    total = sum(per_exchange)
    print("acknowledged %d, stored %d (%d beyond the acknowledged: cut-off requests that were on disk), "
          "%d stored before the kill, %d value writes (%d repeated)"
          % (len(promised), len(stored), len(stored - promised), stored_before, total, total - len(stored)))
    # Repeats come from the one batch whose answer the kill cut off.
    assert total - len(stored) <= max(per_exchange), per_exchange
    assert agent.stop() == 0


def test_every_acknowledged_value_survives_kill_9(spawn_emulator, hubagent):
    # Batches of up to 8 MiB: the backlog left by the kill is one batch (see the test below).
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent, settings="relay_batch_bytes = 8MiB\n")
    promised = burst_then_kill(agent)
    restart_and_check(emu, agent_id, agent, promised, emu.counts(agent_id)["values"])


def test_backlog_left_by_kill_9_drains_completely(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    # Nothing leaves during the burst: the whole burst is the backlog after the restart.
    emu.fault(path="/exchange$", kind="status", status=503, count=100000)
    promised = burst_then_kill(agent)
    emu.admin_json("DELETE", "/_admin/faults")
    restart_and_check(emu, agent_id, agent, promised, 0)
