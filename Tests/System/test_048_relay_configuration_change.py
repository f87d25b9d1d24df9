"""Scenario 48: datasources.yaml changes while values are queued (a data point removed, a type
changed). Queued values that no longer fit go to the dead letters and are counted, the others
arrive under the new configurationId; none is sent under the old one (docs/relay.md §2)."""

import json
import os
import signal

import pytest

from relay_support import (T0, await_status, dead_letters, exchange_time, live_status, post,
                           relay_agent, write_datasources)

LINE_2 = """configurationId: line-2
dataSources:
  - name: Boiler
    dataPoints:
      - id: dp-temp
        name: Temperature
        type: DOUBLE
        unit: "°C"
      - id: dp-count
        name: Count
        type: LONG
        unit: ""
      - id: dp-state
        name: State
        type: DOUBLE
        unit: ""
"""

COUNT = 5


def queue_values(agent, start=T0):
    """COUNT timestamps, each with a value of all four data points of line-1."""
    lines = []
    for i in range(COUNT):
        ts = start + i * 1000
        lines += [json.dumps({"dataPointId": "dp-temp", "value": 20 + i / 2, "timestamp": ts}),
                  json.dumps({"dataPointId": "dp-count", "value": i, "timestamp": ts}),
                  json.dumps({"dataPointId": "dp-on", "value": i % 2 == 0, "timestamp": ts}),
                  json.dumps({"dataPointId": "dp-state", "value": "heating", "timestamp": ts})]
    status, answer = post(agent, "/v1/timeseries", "\n".join(lines) + "\n")
    assert status == 202 and answer["accepted"] == 4 * COUNT, answer


def check_outcome(emu, agent_id, agent, start=T0):
    emu.await_values(agent_id, 2 * COUNT, timeout=15)
    report = await_status(agent, lambda s: s["queue"]["records"] == 0, source=live_status, timeout=5)
    stored = emu.timeseries(agent_id)
    assert sorted((v["dataPointId"], v["timestamp"], v["configurationId"]) for v in stored) == sorted(
        [(p, exchange_time(start + i * 1000), "line-2") for i in range(COUNT) for p in ("dp-temp", "dp-count")])
    for exchange in emu.exchanges(agent_id):
        assert all(item["dropped"] == 0 for item in exchange["items"]), exchange
    letters = dead_letters(agent)
    assert sorted((d["record"]["dataPointId"], d["record"]["timestamp"]) for d in letters) == sorted(
        [(p, exchange_time(start + i * 1000)) for i in range(COUNT) for p in ("dp-on", "dp-state")])
    assert all(d["record"]["configurationId"] == "line-1" for d in letters)
    assert any("dp-on" in d["reason"] and "line-2" in d["reason"] for d in letters), letters
    assert report["deadLetters"] == 2 * COUNT, report


def test_widened_configuration_takes_every_queued_value(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    emu.fault(path="/exchange$", kind="status", status=503, count=100000)
    status, _ = post(agent, "/v1/timeseries", "".join(
        json.dumps({"dataPointId": "dp-count", "value": i, "timestamp": T0 + i}) + "\n" for i in range(20)))
    assert status == 202
    agent.wait_for(r"relay: the exchange endpoint answered 503", timeout=20)
    assert agent.stop() == 0

    # INT values fit LONG; dp-on and dp-state go, but nothing queued used them.
    write_datasources(agent, LINE_2)
    emu.admin_json("DELETE", "/_admin/faults")
    agent.start()
    agent.wait_for(r"data source configuration line-2 uploaded", timeout=20)
    emu.await_values(agent_id, 20, timeout=15)
    assert sorted((int(v["value"]), v["configurationId"]) for v in emu.timeseries(agent_id)) == \
        [(i, "line-2") for i in range(20)]
    report = await_status(agent, lambda s: s["queue"]["records"] == 0, source=live_status)
    assert report["deadLetters"] == 0 and dead_letters(agent) == []
    assert agent.stop() == 0


def test_queued_values_meet_the_new_configuration_after_a_restart(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    emu.fault(path="/exchange$", kind="status", status=503, count=100000)
    queue_values(agent)
    agent.wait_for(r"relay: the exchange endpoint answered 503", timeout=20)
    assert agent.stop() == 0

    write_datasources(agent, LINE_2)
    emu.admin_json("DELETE", "/_admin/faults")
    agent.start()
    agent.wait_for(r"data source configuration line-2 uploaded", timeout=20)
    check_outcome(emu, agent_id, agent)
    assert agent.stop() == 0


def test_sighup_reads_a_changed_configuration(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    # Written without a rename, so that only SIGHUP is certain to announce it.
    with open(os.path.join(agent.config_dir, "datasources.yaml"), "w") as f:
        f.write(LINE_2)
    os.kill(agent.proc.pid, signal.SIGHUP)
    agent.wait_for(r"relay: checking values against data source configuration line-2", timeout=20)
    status, answer = post(agent, "/v1/timeseries", json.dumps({"dataPointId": "dp-on", "value": True}))
    assert status == 400 and "dp-on" in json.dumps(answer), answer
    status, answer = post(agent, "/v1/timeseries", json.dumps({"dataPointId": "dp-state", "value": 1.5}))
    assert status == 202, answer
    emu.await_values(agent_id, 1, timeout=15)
    [value] = emu.timeseries(agent_id)
    assert (value["dataPointId"], value["configurationId"], float(value["value"])) == ("dp-state", "line-2", 1.5)
    assert agent.stop() == 0


def test_configuration_change_while_a_batch_waits(spawn_emulator, hubagent):
    emu, agent_id, agent = relay_agent(spawn_emulator, hubagent)
    emu.fault(path="/exchange$", kind="status", status=503, count=100000)
    queue_values(agent)
    agent.wait_for(r"relay: the exchange endpoint answered 503", timeout=20)

    write_datasources(agent, LINE_2)  # the daemon watches the file
    agent.wait_for(r"data source configuration line-2 uploaded", timeout=20)
    agent.wait_for(r"relay: checking values against data source configuration line-2", timeout=10)
    emu.admin_json("DELETE", "/_admin/faults")
    check_outcome(emu, agent_id, agent)
    assert agent.stop() == 0

