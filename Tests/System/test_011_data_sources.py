"""Scenario 11: the data source configuration in datasources.yaml is uploaded after onboarding,
not again when nothing changed (restart included), exactly once per change (SIGHUP or a change
on disk) with the right If-Match, over a change made in Insights Hub (412 -> GET -> overwrite),
never from an invalid file, and in one request for 500 data points."""

import json
import os
import signal

import pytest

EXAMPLE = """configurationId: gateway-line-1        # optional
dataSources:
  - name: Boiler
    description: Steam boiler sensors
    customData:
      site: Ingolstadt
    dataPoints:
      - id: dp-boiler-temp
        name: Temperature
        type: DOUBLE
        unit: "°C"
        description: Water temperature
      - name: Pressure
        type: DOUBLE
        unit: bar
"""


def dsc_puts(emu, since=0):
    return [r for r in emu.requests()[since:] if r["method"] == "PUT" and r["path"].endswith("/dataSourceConfiguration")]


def write(agent, text, name="datasources.yaml"):
    path = os.path.join(agent.config_dir, name)
    with open(path + ".new", "w") as f:
        f.write(text)
    os.rename(path + ".new", path)


def onboarded_agent(spawn_emulator, hubagent, text=EXAMPLE):
    emu = spawn_emulator()
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    write(agent, text)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"data source configuration gateway-line-1 uploaded|data source configuration \S+ uploaded", timeout=20)
    return emu, agent_id, agent


def test_upload_once_and_not_after_restart(spawn_emulator, hubagent):
    emu, agent_id, agent = onboarded_agent(spawn_emulator, hubagent)
    puts = dsc_puts(emu)
    assert len(puts) == 1 and puts[0]["status"] == 200
    assert puts[0]["headers"]["If-Match"] == "0"
    body = json.loads(puts[0]["body"])
    assert body["configurationId"] == "gateway-line-1"
    points = body["dataSources"][0]["dataPoints"]
    assert points[0] == {"id": "dp-boiler-temp", "name": "Temperature", "description": "Water temperature", "type": "DOUBLE", "unit": "°C"}
    assert points[1]["id"].startswith("dp-") and points[1]["unit"] == "bar"
    assert emu.state(agent_id)["eTag"] == "1"
    assert agent.stop() == 0

    agent.start()
    agent.wait_for(r"access token valid until", timeout=15)
    assert agent.stop() == 0
    assert len(dsc_puts(emu)) == 1, "uploaded again although nothing changed"


def test_change_then_sighup_uploads_once_with_if_match(spawn_emulator, hubagent):
    emu, agent_id, agent = onboarded_agent(spawn_emulator, hubagent)
    mark = len(emu.requests())
    # An in-place write (no rename) is picked up from the disk as well; SIGHUP must not double it.
    with open(os.path.join(agent.config_dir, "datasources.yaml"), "w") as f:
        f.write(EXAMPLE.replace("unit: bar", "unit: kPa"))
    agent.proc.send_signal(signal.SIGHUP)
    agent.wait_for(r"data source configuration \S+ uploaded \(eTag 2\)", timeout=20)
    agent.proc.send_signal(signal.SIGHUP)
    agent.wait_for(r"SIGHUP|reloaded|access token", timeout=10)
    assert agent.stop() == 0
    puts = dsc_puts(emu, since=mark)
    assert len(puts) == 1, [p["headers"].get("If-Match") for p in puts]
    assert puts[0]["headers"]["If-Match"] == "1"
    assert json.loads(puts[0]["body"])["dataSources"][0]["dataPoints"][1]["unit"] == "kPa"


def test_server_side_change_is_overwritten(spawn_emulator, hubagent):
    emu, agent_id, agent = onboarded_agent(spawn_emulator, hubagent)
    edited = {"configurationId": "edited-in-the-cloud", "dataSources": [{"name": "Other", "dataPoints": [
        {"id": "x", "name": "X", "type": "INT", "unit": ""}]}]}
    emu.admin_json("PUT", "/_admin/agents/%s/dataSourceConfiguration" % agent_id, edited)
    mark = len(emu.requests())
    write(agent, EXAMPLE.replace("Steam boiler sensors", "Steam boiler"))
    agent.wait_for(r"changed in Insights Hub .*overwriting", timeout=20)
    agent.wait_for(r"data source configuration \S+ uploaded", timeout=20)
    assert agent.stop() == 0
    seen = [(r["method"], r["status"], r["headers"].get("If-Match")) for r in emu.requests()[mark:] if r["path"].endswith("/dataSourceConfiguration")]
    assert seen == [("PUT", 412, "1"), ("GET", 200, None), ("PUT", 200, "2")], seen
    server = emu.state(agent_id)["dataSourceConfiguration"]
    assert server["configurationId"] == "gateway-line-1"
    assert server["dataSources"][0]["description"] == "Steam boiler"


def test_invalid_file_keeps_the_previous_configuration(spawn_emulator, hubagent):
    emu, agent_id, agent = onboarded_agent(spawn_emulator, hubagent)
    mark = len(emu.requests())
    write(agent, EXAMPLE.replace("type: DOUBLE\n        unit: bar", "type: FLOAT\n        unit: bar"))
    match = agent.wait_for(r"datasources\.yaml:(\d+):(\d+): .*FLOAT.*previous data source configuration stays in force", timeout=20)
    assert match.group(1) == "14"
    agent.proc.send_signal(signal.SIGHUP)
    agent.wait_for(r"datasources\.yaml:14:", timeout=10)
    assert agent.stop() == 0
    assert dsc_puts(emu, since=mark) == []
    assert emu.state(agent_id)["dataSourceConfiguration"]["configurationId"] == "gateway-line-1"


def test_500_points_in_one_request(spawn_emulator, hubagent):
    lines = ["configurationId: big", "dataSources:"]
    for source in range(5):
        lines += ["  - name: Source %d" % source, "    dataPoints:"]
        for point in range(100):
            lines += ["      - name: Point %d" % point, "        type: INT", "        unit: \"\""]
    emu, agent_id, agent = onboarded_agent(spawn_emulator, hubagent, "\n".join(lines) + "\n")
    assert agent.stop() == 0
    puts = dsc_puts(emu)
    assert len(puts) == 1 and puts[0]["status"] == 200
    body = json.loads(puts[0]["body"])
    assert sum(len(s["dataPoints"]) for s in body["dataSources"]) == 500


@pytest.mark.parametrize("reading", ["404", "empty"])
def test_never_configured_server_copy_after_412(spawn_emulator, hubagent, reading):
    """docs/protocol.md §7 (contested): a never-configured agent's GET answers 404 or 200 without
    configurationId. After a 412, either reading means "never configured": the file is uploaded
    with If-Match 0."""
    emu = spawn_emulator("--dsc-unconfigured", reading)
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    emu.fault(method="PUT", path="/dataSourceConfiguration$", kind="status", status=412, count=1)
    write(agent, EXAMPLE)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"Insights Hub has no data source configuration for this agent; uploading", timeout=20)
    agent.wait_for(r"data source configuration gateway-line-1 uploaded \(eTag 1\)", timeout=20)
    assert agent.stop() == 0
    seen = [(r["method"], r["status"], r["headers"].get("If-Match")) for r in emu.requests()
            if r["path"].endswith("/dataSourceConfiguration")]
    expected_get = 404 if reading == "404" else 200
    assert seen == [("PUT", 412, "0"), ("GET", expected_get, None), ("PUT", 200, "0")], seen
    assert emu.state(agent_id)["dataSourceConfiguration"]["configurationId"] == "gateway-line-1"

