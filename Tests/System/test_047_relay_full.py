"""Scenario 47: the relay's disk bound (relay_max_disk = 8 MiB, the smallest) is reached while the
exchange endpoint is down. Under reject_new producers get 507 with Retry-After and nothing
acknowledged is lost; under drop_oldest every request is taken, the oldest whole segments go,
the status counts exactly what went, and the rest arrives (docs/relay.md §3)."""

import json

import pytest

from relay_support import (DATASOURCES, T0, await_status, exchange_time, live_status, relay_agent, relay_status,
                           request, send)

PER_REQUEST = 10
DATASOURCES = DATASOURCES + """      - id: dp-blob
        name: Blob
        type: BIG_STRING
        unit: ""
"""


def big_values(first, count):
    """NDJSON of `count` 90,000-character strings, one per millisecond from T0 + first."""
    return "".join(json.dumps({"dataPointId": "dp-blob", "value": ("v%07d" % i) + "x" * 89_992,
                               "timestamp": T0 + i}) + "\n" for i in range(first, first + count))


def fill(agent, requests):
    """Posts `requests` requests of PER_REQUEST values (stopping at the first refusal): the
    acknowledged timestamps and the answers."""
    acked, answers = set(), []
    for n in range(requests):
        status, headers, answer = request(agent, "POST", "/v1/timeseries", big_values(n * PER_REQUEST, PER_REQUEST))
        answers.append((status, headers, answer))
        if status != 202:
            break
        assert answer["accepted"] == PER_REQUEST
        acked.update(exchange_time(T0 + i) for i in range(n * PER_REQUEST, (n + 1) * PER_REQUEST))
    return acked, answers


SETTINGS = "relay_max_disk = 8MiB\nrelay_batch_bytes = 9MiB\n"


def test_reject_new_refuses_with_507_and_loses_nothing(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent,
                                       settings=SETTINGS + "relay_full_policy = reject_new\n", datasources=DATASOURCES)
    emu.fault(path="/exchange$", kind="status", status=503, count=100000)
    acked, answers = fill(agent, 20)
    status, headers, answer = answers[-1]
    assert status == 507, answers[-1]
    assert int(headers["retry-after"]) > 0, headers
    assert "error" in answer, answer
    assert len(acked) >= 6 * PER_REQUEST, "8 MiB holds more than this: %d" % len(acked)
    # Smaller requests fill the rest of the room, until not even one value fits.
    first = 10**4
    for size in (3, 1):
        while True:
            status, _, _ = request(agent, "POST", "/v1/timeseries", big_values(first, size))
            if status != 202:
                assert status == 507
                break
            acked.update(exchange_time(T0 + i) for i in range(first, first + size))
            first += size
    # hubagent send waits as told, up to --wait, then says so with 75.
    result = send(agent, big_values(2 * 10**4, 1).splitlines(), "--wait", "1")
    assert result.returncode == 75, result
    report = live_status(agent)
    assert report["queue"]["records"] == len(acked) and report["dropped"] == {}, report
    assert report["queue"]["diskBytes"] <= 8 << 20, report

    emu.admin_json("DELETE", "/_admin/faults")
    emu.await_values(agent_id, len(acked), timeout=20)
    stored = {v["timestamp"] for v in emu.timeseries(agent_id)}
    assert stored == acked
    # Room again: new values are taken.
    status, _, _ = request(agent, "POST", "/v1/timeseries", big_values(10**6, 10))
    assert status == 202
    assert agent.stop() == 0


def drop_oldest_run(spawn_emulator, hubagent):
    """Fills the journal under drop_oldest with the exchange down, then lets it drain:
    (emulator, agent id, agent, acknowledged timestamps, stored timestamps, dropped count)."""
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent,
                                       settings=SETTINGS + "relay_full_policy = drop_oldest\n", datasources=DATASOURCES)
    emu.fault(path="/exchange$", kind="status", status=503, count=100000)
    acked, answers = fill(agent, 14)
    assert [a[0] for a in answers] == [202] * 14, [a[:1] + a[2:] for a in answers]
    agent.wait_for(r"relay: .*drop", timeout=5)
    report = live_status(agent)
    dropped = report["dropped"].get("full", 0)
    assert dropped > 0, report
    assert report["queue"]["records"] + dropped == len(acked), report
    assert report["queue"]["diskBytes"] <= 8 << 20, report

    emu.admin_json("DELETE", "/_admin/faults")
    await_status(agent, lambda s: s["queue"]["records"] == 0, timeout=20, source=live_status)
    stored = {v["timestamp"] for v in emu.timeseries(agent_id)}
    assert relay_status(agent)["dropped"] == {"full": dropped}
    return emu, agent_id, agent, acked, stored, dropped


def test_drop_oldest_keeps_the_newest(spawn_emulator, hubagent):
    emu, agent_id, agent, acked, stored, dropped = drop_oldest_run(spawn_emulator, hubagent)
    assert stored <= acked
    # Everything but the oldest `dropped` values arrives.
    newest = set(sorted(acked)[dropped:])
    assert newest <= stored, len(newest - stored)
    assert agent.stop() == 0


def test_drop_oldest_counts_exactly_what_it_dropped(spawn_emulator, hubagent):
    emu, agent_id, agent, acked, stored, dropped = drop_oldest_run(spawn_emulator, hubagent)
    assert len(stored) + dropped == len(acked), (len(stored), dropped, len(acked))
    # What went is the oldest: everything stored is newer than everything dropped.
    missing = sorted(acked - stored)
    assert max(missing) < min(stored), (missing[-1], min(stored))
    assert agent.stop() == 0
