"""Diagnostic activations and recoverable records (docs/protocol.md §9, §14): the agent-side
view of what the exchange dropped, keyed by Correlation-ID; and data point mappings against
the configuration (§7.1)."""

import json
import uuid
from urllib.parse import quote

import pytest

import client as sgclient
import expect

MC = "/api/mindconnect/v3"
CONFIG = {"configurationId": "cfg-1", "dataSources": [{"name": "line", "dataPoints": [
    {"id": "T", "name": "Temperature", "type": "DOUBLE", "unit": ""},
    {"id": "N", "name": "Count", "type": "INT", "unit": ""}]}]}
T0 = "2026-03-01T10:00:00.000Z"


def _agent(emu, tenant=None):
    agent = emu.onboarded(**({"tenant": tenant} if tenant else {}))
    assert agent.token().status == 200
    assert agent.put_dsc(CONFIG).status == 200
    return agent


@pytest.fixture
def agent(emu):
    return _agent(emu)


def _call(agent, method, path, body=None):
    headers = {"Authorization": "Bearer " + agent.access_token}
    return agent.transport.request(method, MC + path, body, headers)


def _exchange(agent, values, correlation):
    item = sgclient.timeseries_item("cfg-1", [{"timestamp": T0, "values": [
        {"dataPointId": p, "value": v, "qualityCode": "0"} for p, v in values.items()]}])
    assert agent.exchange(items=[item], correlation_id=correlation).status == 200


def _filter(correlation):
    return "?filter=" + quote(json.dumps({"correlationId": correlation}))


def test_activation_lifecycle(emu, agent):
    created = _call(agent, "POST", "/diagnosticActivations", {"agentId": agent.client_id})
    assert created.status == 201
    activation = created.json()
    assert activation["agentId"] == agent.client_id and activation["status"] == "ACTIVE"
    expect.management_error(_call(agent, "POST", "/diagnosticActivations",
                                  {"agentId": agent.client_id}), 409)
    listed = _call(agent, "GET", "/diagnosticActivations").json()
    assert listed["content"] == [activation] and listed["totalElements"] == 1
    path = "/diagnosticActivations/" + activation["id"]
    assert _call(agent, "GET", path).json() == activation
    assert _call(agent, "PUT", path, {"status": "INACTIVE"}).json()["status"] == "INACTIVE"
    expect.management_error(_call(agent, "PUT", path, {"status": "ON"}), 400)
    assert _call(agent, "DELETE", path).status == 204
    expect.management_error(_call(agent, "GET", path), 404)


def test_agents_manage_only_their_own_activation(emu, agent):
    other = _agent(emu)
    expect.management_error(_call(agent, "POST", "/diagnosticActivations",
                                  {"agentId": other.client_id}), 403)
    theirs = _call(other, "POST", "/diagnosticActivations",
                   {"agentId": other.client_id}).json()
    expect.management_error(_call(agent, "GET", "/diagnosticActivations/" + theirs["id"]), 403)
    expect.management_error(_call(agent, "GET", "/diagnosticActivations/%s/messages"
                                  % theirs["id"]), 403)
    assert _call(agent, "GET", "/diagnosticActivations").json()["content"] == []


def test_at_most_five_active_agents_per_tenant(emu):
    tenant = "t" + uuid.uuid4().hex[:8]
    agents = [_agent(emu, tenant) for _ in range(6)]
    for a in agents[:5]:
        assert _call(a, "POST", "/diagnosticActivations", {"agentId": a.client_id}).status == 201
    sixth = agents[5]
    expect.management_error(_call(sixth, "POST", "/diagnosticActivations",
                                  {"agentId": sixth.client_id}), 400)
    inactive = _call(sixth, "POST", "/diagnosticActivations",
                     {"agentId": sixth.client_id, "status": "INACTIVE"})
    assert inactive.status == 201
    expect.management_error(_call(sixth, "PUT", "/diagnosticActivations/" +
                                  inactive.json()["id"], {"status": "ACTIVE"}), 400)


def test_messages_tell_what_was_dropped_by_correlation_id(emu, agent):
    # GIVEN an active activation WHEN one exchange stores everything and another drops a value
    # THEN the messages, filtered by Correlation-ID, say FINISHED and DROPPED with the reason
    activation = _call(agent, "POST", "/diagnosticActivations",
                       {"agentId": agent.client_id}).json()
    good, bad = uuid.uuid4().hex, uuid.uuid4().hex
    _exchange(agent, {"T": "1.5"}, good)
    _exchange(agent, {"T": "1.5", "N": "1.5"}, bad)
    path = "/diagnosticActivations/%s/messages" % activation["id"]
    everything = _call(agent, "GET", path).json()
    assert everything["totalElements"] == 2
    [finished] = _call(agent, "GET", path + _filter(good)).json()["content"]
    assert finished["state"] == "FINISHED" and finished["severity"] == "INFO"
    assert finished["source"] == "TIMESERIES" and finished["correlationId"] == good
    [dropped] = _call(agent, "GET", path + _filter(bad)).json()["content"]
    assert dropped["state"] == "DROPPED" and dropped["severity"] == "WARN"
    assert "wrong_type" in dropped["message"]


def test_no_messages_while_inactive(emu, agent):
    activation = _call(agent, "POST", "/diagnosticActivations",
                       {"agentId": agent.client_id, "status": "INACTIVE"}).json()
    _exchange(agent, {"X": "1"}, uuid.uuid4().hex)
    path = "/diagnosticActivations/%s/messages" % activation["id"]
    assert _call(agent, "GET", path).json()["content"] == []


def test_recoverable_records_by_correlation_id(emu, agent):
    # GIVEN an exchange that drops two values WHEN the agent lists its recoverable records
    # filtered by the Correlation-ID THEN one record per drop with the reason; paging works;
    # a record can be deleted
    bad = uuid.uuid4().hex
    _exchange(agent, {"X": "1", "N": "x", "T": "2"}, bad)
    _exchange(agent, {"T": "3"}, uuid.uuid4().hex)
    page = _call(agent, "GET", "/recoverableRecords" + _filter(bad)).json()
    records = page["content"]
    assert [r["dropReason"] for r in records] == ["unknown_data_point", "wrong_type"]
    assert all(r["correlationId"] == bad and r["agentId"] == agent.client_id
               and len(r["requestTime"]) == 24 for r in records)
    first = _call(agent, "GET", "/recoverableRecords?size=1&page=1").json()
    assert first["content"] == [records[1]] and first["totalPages"] == 2 and first["last"]
    other = _agent(emu)
    assert _call(other, "GET", "/recoverableRecords").json()["content"] == []
    expect.management_error(_call(other, "DELETE", "/recoverableRecords/" + records[0]["id"]),
                            404)
    assert _call(agent, "DELETE", "/recoverableRecords/" + records[0]["id"]).status == 204
    assert _call(agent, "GET", "/recoverableRecords").json()["totalElements"] == 1
    expect.management_error(_call(agent, "GET", "/recoverableRecords?filter=%7B"), 400)
    expect.management_error(_call(agent, "GET", "/recoverableRecords?size=0"), 400)


def test_diagnostics_need_an_access_token(emu, agent):
    for method, path in (("GET", "/recoverableRecords"), ("GET", "/diagnosticActivations"),
                         ("POST", "/diagnosticActivations")):
        expect.management_error(agent.transport.request(method, MC + path, {}), 401)


# --- data point mappings against the configuration -------------------------------------------

def _mapping(agent, point, keep=False):
    return {"agentId": agent.client_id, "dataPointId": point, "entityId": "e" * 32,
            "propertySetName": "Set", "propertyName": point.lower(), "keepMapping": keep}


def test_a_mapping_needs_a_data_point_of_the_configuration(emu, agent):
    body = expect.management_error(_call(agent, "POST", "/dataPointMappings",
                                         _mapping(agent, "X")), 400)
    assert "X" in body["message"]
    created = _call(agent, "POST", "/dataPointMappings", _mapping(agent, "T"))
    assert created.status == 201
    assert created.json()["validity"] == {"status": "VALID", "reasons": []}


@pytest.mark.parametrize("how", ["put", "exchange"])
def test_a_configuration_update_deletes_mappings_without_keep_mapping(emu, agent, how):
    # GIVEN a mapping without and one with keepMapping WHEN the configuration is replaced (by PUT
    # or as an exchange item) without data point T THEN the first is deleted and the second kept,
    # INVALID / MISSING_DATAPOINT
    assert _call(agent, "POST", "/dataPointMappings", _mapping(agent, "N")).status == 201
    assert _call(agent, "POST", "/dataPointMappings", _mapping(agent, "T", keep=True)).status \
        == 201
    config = {"configurationId": "cfg-2", "dataSources": [{"name": "line", "dataPoints": [
        {"id": "N", "name": "Count", "type": "INT", "unit": ""}]}]}
    if how == "put":
        assert agent.put_dsc(config, if_match="1").status == 200
    else:
        assert agent.exchange(items=[sgclient.dsc_item(config)]).status == 200
    got = agent.get_dsc().json()
    assert got["configurationId"] == "cfg-2" and got["eTag"] == "2"
    [kept] = _call(agent, "GET", "/dataPointMappings").json()["content"]
    assert kept["dataPointId"] == "T" and kept["keepMapping"] is True
    assert kept["validity"] == {"status": "INVALID", "reasons": ["MISSING_DATAPOINT"]}


def test_an_invalid_configuration_item_changes_nothing(emu, agent):
    config = {"configurationId": "c" * 37, "dataSources": []}
    correlation = uuid.uuid4().hex
    assert agent.exchange(items=[sgclient.dsc_item(config)],
                          correlation_id=correlation).status == 200
    [record] = emu.exchanges(agent.client_id, correlation_id=correlation)
    [drop] = record["items"][0]["drops"]
    assert drop["reason"] == "invalid_configuration" and "configurationId" in drop["detail"]
    got = agent.get_dsc().json()
    assert got["configurationId"] == "cfg-1" and got["eTag"] == "1"


def test_a_configuration_item_configures_a_never_configured_agent(emu):
    agent = emu.onboarded()
    assert agent.token().status == 200
    expect.management_error(agent.get_dsc(), 404)
    assert agent.exchange(items=[sgclient.dsc_item(CONFIG)]).status == 200
    got = agent.get_dsc().json()
    assert got["configurationId"] == "cfg-1" and got["eTag"] == "1"
    assert got["dataSources"] == CONFIG["dataSources"]
