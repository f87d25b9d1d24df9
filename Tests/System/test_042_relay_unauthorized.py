"""Scenario 42: the exchange endpoint answers 401. Once: the relay asks the agent for one token
refresh (exactly one more token request) and the batch arrives. Always: after the refresh and a
second 401 the relay pauses, ingest still answers 202, and once the cause is gone and the agent
has a new token the queue drains (docs/relay.md §4)."""

import pytest

from relay_support import (T0, await_status, exchange_requests, live_status, ndjson, post,
                           relay_agent, token_requests)


def test_one_401_costs_one_token_refresh(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    # The agent's token lasts an hour: any token request from here on is the relay's refresh.
    agent.wait_for(r"access token valid until", timeout=10, since=0)
    mark = emu.next_seq()
    emu.fault(path="/exchange$", kind="status", status=401, count=1)
    status, _ = post(agent, "/v1/timeseries", ndjson("dp-count", range(100)))
    assert status == 202

    emu.await_values(agent_id, 100, timeout=20)
    assert sorted(int(v["value"]) for v in emu.timeseries(agent_id)) == list(range(100))
    assert [r["status"] for r in exchange_requests(emu, mark)] == [401, 200]
    tokens = token_requests(emu, mark)
    assert [r["status"] for r in tokens] == [200], tokens
    exchanges = exchange_requests(emu, mark)
    assert exchanges[0]["time"] < tokens[0]["time"] < exchanges[1]["time"]
    # The retry carried the new token, not the refused one.
    auth = [{k.lower(): v for k, v in r["headers"].items()}["authorization"] for r in exchanges]
    assert auth[0] != auth[1]
    assert agent.stop() == 0


def paused_until_new_token(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent, emulator_args=("--token-lifetime", "4"))
    mark = emu.next_seq()
    emu.fault(path="/exchange$", kind="status", status=401, count=100000)
    status, _ = post(agent, "/v1/timeseries", ndjson("dp-count", range(20)))
    assert status == 202
    agent.wait_for(r"relay paused: .*401", timeout=20)
    report = await_status(agent, lambda s: s["state"] == "paused")
    assert report["lastError"]["status"] == 401, report
    # Refresh once, retry once, then pause: no storm of 401s. Each new token (they live 4 s here)
    # is worth one more try, and its refusal one refresh and one retry.
    attempts = [r["status"] for r in exchange_requests(emu, mark)]
    assert set(attempts) == {401} and 2 <= len(attempts) <= 2 * len(token_requests(emu, mark)) + 2, attempts

    # Ingest goes on while paused.
    status, _ = post(agent, "/v1/timeseries", ndjson("dp-count", range(20, 40), start=T0 + 20))
    assert status == 202
    assert live_status(agent)["queue"]["records"] == 40

    # The cause goes away; the agent's next token (it lives 4 s) must wake the relay.
    emu.admin_json("DELETE", "/_admin/faults")
    tokens_before = len(token_requests(emu, mark))
    agent.wait_for(r"access token valid until", timeout=10)
    assert len(token_requests(emu, mark)) > tokens_before
    emu.await_values(agent_id, 40, timeout=15)
    assert sorted(int(v["value"]) for v in emu.timeseries(agent_id)) == list(range(40))
    await_status(agent, lambda s: s["state"] == "running" and s["queue"]["records"] == 0)
    assert agent.stop() == 0


def test_401_always_pauses_until_a_new_token(spawn_emulator, hubagent):
    paused_until_new_token(spawn_emulator, hubagent)


def test_403_pauses_and_says_so(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    mark = emu.next_seq()
    emu.fault(path="/exchange$", kind="status", status=403, count=100000)
    status, _ = post(agent, "/v1/timeseries", ndjson("dp-count", range(10)))
    assert status == 202
    agent.wait_for(r"relay paused: .*403", timeout=20)
    report = await_status(agent, lambda s: s["state"] == "paused")
    assert "403" in report["reason"] and report["lastError"]["status"] == 403, report
    assert report["nextAttemptAt"] is not None, report
    # No token refresh for a 403, no retry soon after it (the next is minutes away).
    assert report["nextAttemptAt"] - report["lastError"]["at"] >= 60, report
    assert [r["status"] for r in exchange_requests(emu, mark)] == [403]
    assert token_requests(emu, mark) == []
    status, _ = post(agent, "/v1/timeseries", ndjson("dp-count", range(10, 20), start=T0 + 10))
    assert status == 202
    assert live_status(agent)["queue"]["records"] == 20
    assert agent.stop() == 0
