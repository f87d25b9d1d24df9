"""GET|PUT /agents/{id}/dataSourceConfiguration (docs/protocol.md §7)."""

import copy

import pytest

import expect


def _config():
    return {"configurationId": "Configuration01",
            "dataSources": [{
                "name": "EnvironmentData",
                "description": "EnvironmentData (from environment sensors)",
                "customData": {"ostype": "Linux", "osHostname": "pi"},
                "dataPoints": [
                    {"id": "DP-Temperature", "name": "Temperature", "description": "Temperature",
                     "type": "DOUBLE", "unit": "°C"},
                    {"id": "DP-Humidity", "name": "Humidity", "type": "INT", "unit": "%"}]}]}


@pytest.fixture
def agent(emu):
    agent = emu.onboarded()
    assert agent.token().status == 200
    return agent


def test_never_configured_agent_gets_404_by_default(agent):
    # GIVEN a fresh agent and --dsc-unconfigured 404 (default) WHEN it GETs its configuration
    # THEN 404 with a management body (AM-OAS, MCL; docs/protocol.md §7 CONTESTED)
    body = expect.management_error(agent.get_dsc(), 404)
    assert agent.client_id in body["message"]


def test_never_configured_agent_gets_200_without_a_configuration_when_empty(emu, agent):
    # GIVEN --dsc-unconfigured empty (the Node reading) WHEN a fresh agent GETs its configuration
    # THEN 2xx, eTag "0", no configurationId
    emu.settings(dsc_unconfigured="empty")
    resp = agent.get_dsc()
    assert resp.status == 200
    body = resp.json()
    assert body["eTag"] == "0" and body["dataSources"] == [] and body["id"]
    assert "configurationId" not in body


def test_put_returns_the_configuration_with_id_and_counter_etag(agent):
    # GIVEN If-Match 0 on a fresh agent WHEN PUT THEN 200 with the fields + id + eTag "1"
    resp = agent.put_dsc(_config(), if_match="0")
    assert resp.status == 200
    body = resp.json()
    assert body["eTag"] == "1"
    assert {k: v for k, v in body.items() if k not in ("id", "eTag")} == _config()
    first_id = body["id"]
    # AND the next PUT with If-Match 1 gives eTag "2", same id; GET returns the same
    assert agent.put_dsc(_config(), if_match="1").json()["eTag"] == "2"
    got = agent.get_dsc().json()
    assert got["eTag"] == "2" and got["id"] == first_id
    assert got["configurationId"] == "Configuration01"


def test_stale_if_match_is_412(agent):
    # GIVEN eTag 1 on the server WHEN PUT with If-Match 0 THEN 412 with the AM-OAS message
    assert agent.put_dsc(_config(), if_match="0").status == 200
    body = expect.management_error(agent.put_dsc(_config(), if_match="0"), 412)
    assert body["message"] == "Resource not found with given the condition."
    expect.management_error(agent.put_dsc(_config(), if_match="7"), 412)
    assert agent.get_dsc().json()["eTag"] == "1"


def test_quoted_if_match_is_read_as_the_counter(agent):
    # GIVEN If-Match "0" with quotes WHEN PUT THEN it matches eTag 0
    assert agent.put_dsc(_config(), if_match='"0"').status == 200


def test_missing_if_match_is_400(agent):
    # GIVEN no If-Match header WHEN PUT THEN 400 (the header is required by AM-OAS)
    body = expect.management_error(agent.put_dsc(_config(), if_match=None), 400)
    assert "If-Match" in body["message"]


def test_cloud_edit_bumps_the_etag(emu, agent):
    # GIVEN the agent PUT eTag 1 WHEN the configuration is edited in the cloud (admin API)
    # THEN the eTag is 2 and the agent's PUT with If-Match 1 gets 412
    assert agent.put_dsc(_config(), if_match="0").status == 200
    edited = _config()
    edited["configurationId"] = "EditedInTheCloud"
    assert emu.admin_json("PUT", "/_admin/agents/%s/dataSourceConfiguration" % agent.client_id,
                          edited)["eTag"] == "2"
    expect.management_error(agent.put_dsc(_config(), if_match="1"), 412)
    assert agent.get_dsc().json()["configurationId"] == "EditedInTheCloud"
    assert emu.state(agent.client_id)["eTag"] == "2"


def test_unit_is_always_emitted_and_absent_fields_are_omitted(agent):
    # GIVEN a data point with empty unit and no description WHEN stored THEN unit "" is returned
    # and description/customData are absent (not null)
    config = _config()
    config["dataSources"][0]["dataPoints"][1]["unit"] = ""
    config["dataSources"][0]["dataPoints"][1]["unknownField"] = 1
    body = agent.put_dsc(config).json()
    point = body["dataSources"][0]["dataPoints"][1]
    assert point == {"id": "DP-Humidity", "name": "Humidity", "type": "INT", "unit": ""}


def _set(path, value):
    """A mutation of the sample configuration: set (or, with value DELETE, remove) a field."""
    def apply(config):
        target = config
        for key in path[:-1]:
            target = target[key]
        if value is DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return config
    return apply


DELETE = object()
DS = ("dataSources", 0)
DP = DS + ("dataPoints", 0)


def _duplicate_in_other_source(config):
    other = copy.deepcopy(config["dataSources"][0])
    other["name"] = "Other"
    other["dataPoints"] = [dict(other["dataPoints"][0], name="Copy")]
    config["dataSources"].append(other)
    return config


LIMITS = [
    ("configurationId-missing", _set(("configurationId",), DELETE), "configurationId"),
    ("configurationId-37", _set(("configurationId",), "c" * 37), "configurationId"),
    ("configurationId-number", _set(("configurationId",), 17), "configurationId"),
    ("dataSources-missing", _set(("dataSources",), DELETE), "dataSources"),
    ("dataSources-object", _set(("dataSources",), {}), "dataSources"),
    ("source-not-object", _set(("dataSources", 0), "x"), "dataSources[0]"),
    ("source-name-missing", _set(DS + ("name",), DELETE), "dataSources[0].name"),
    ("source-name-65", _set(DS + ("name",), "n" * 65), "dataSources[0].name"),
    ("source-description-257", _set(DS + ("description",), "d" * 257),
     "dataSources[0].description"),
    ("source-customData-array", _set(DS + ("customData",), ["a"]), "dataSources[0].customData"),
    ("source-customData-6", _set(DS + ("customData",), {str(i): "v" for i in range(6)}),
     "dataSources[0].customData"),
    ("dataPoints-missing", _set(DS + ("dataPoints",), DELETE), "dataSources[0].dataPoints"),
    ("point-id-missing", _set(DP + ("id",), DELETE), "dataPoints[0].id"),
    ("point-id-37", _set(DP + ("id",), "i" * 37), "dataPoints[0].id"),
    ("point-id-duplicate", _set(DP + ("id",), "DP-Humidity"), "dataPoints[1].id"),
    ("point-id-duplicate-across-sources", _duplicate_in_other_source,
     "dataSources[1].dataPoints[0].id"),
    ("point-name-missing", _set(DP + ("name",), DELETE), "dataPoints[0].name"),
    ("point-name-65", _set(DP + ("name",), "n" * 65), "dataPoints[0].name"),
    ("point-description-257", _set(DP + ("description",), "d" * 257), "dataPoints[0].description"),
    ("point-type-missing", _set(DP + ("type",), DELETE), "dataPoints[0].type"),
    ("point-type-unknown", _set(DP + ("type",), "FLOAT"), "dataPoints[0].type"),
    ("point-type-lowercase", _set(DP + ("type",), "double"), "dataPoints[0].type"),
    ("point-unit-missing", _set(DP + ("unit",), DELETE), "dataPoints[0].unit"),
    ("point-unit-33", _set(DP + ("unit",), "u" * 33), "dataPoints[0].unit"),
    ("point-unit-null", _set(DP + ("unit",), None), "dataPoints[0].unit"),
    ("point-unit-number", _set(DP + ("unit",), 1), "dataPoints[0].unit"),
    ("point-customData-6", _set(DP + ("customData",), {str(i): "v" for i in range(6)}),
     "dataPoints[0].customData"),
]


@pytest.mark.parametrize("mutate, field", [(m, f) for _, m, f in LIMITS],
                         ids=[name for name, _, _ in LIMITS])
def test_field_limits(agent, mutate, field):
    # GIVEN a configuration breaking one rule of §7 WHEN PUT THEN 400 naming the field, and
    # nothing stored
    resp = agent.put_dsc(mutate(_config()))
    body = expect.management_error(resp, 400)
    assert field in body["message"], body
    assert agent.get_dsc().status == 404


def test_limits_are_inclusive_and_all_types_are_known(agent):
    # GIVEN every field at its maximum length, unit "", 5 customData entries, every type
    # WHEN PUT THEN 200
    types = ["INT", "LONG", "DOUBLE", "BOOLEAN", "STRING", "BIG_STRING", "TIMESTAMP"]
    config = {"configurationId": "c" * 36, "dataSources": [{
        "name": "n" * 64, "description": "d" * 256,
        "customData": {str(i): "v" for i in range(5)},
        "dataPoints": [{"id": ("%d" % i) * 36, "name": "n" * 64, "description": "d" * 256,
                        "type": t, "unit": "u" * 32 if i else "",
                        "customData": {str(k): k for k in range(5)}}
                       for i, t in enumerate(types)]}]}
    resp = agent.put_dsc(config)
    assert resp.status == 200, resp
    assert [p["type"] for p in resp.json()["dataSources"][0]["dataPoints"]] == types


def test_bad_json_is_400(agent):
    # GIVEN a body that is not a JSON object WHEN PUT THEN 400
    for body in ("{", "[]", "\"x\""):
        expect.management_error(agent.put_dsc(body), 400)


def test_access_token_rules(emu, agent):
    # GIVEN the DSC endpoint WHEN called without a token, with another agent's token, with a RAT,
    # with a garbled token, or with an expired token THEN 401 (management body)
    other = emu.onboarded()
    assert other.token().status == 200
    expect.management_error(agent.transport.request(
        "GET", "/api/agentmanagement/v3/agents/%s/dataSourceConfiguration" % agent.client_id), 401)
    expect.management_error(agent.get_dsc(token=other.access_token), 401)
    expect.management_error(agent.put_dsc(_config(), token=other.access_token), 401)
    expect.management_error(agent.get_dsc(token=agent.rat), 401)
    expect.management_error(agent.get_dsc(token=agent.access_token[:-4] + "AAAA"), 401)
    emu.settings(clock_offset=3601)
    expect.management_error(agent.get_dsc(), 401)
    emu.settings(clock_offset=0)
    assert agent.get_dsc().status == 404  # the token works; nothing configured yet
