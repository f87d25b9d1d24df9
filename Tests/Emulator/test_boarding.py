"""Boarding status, offboarding and new boarding configurations (docs/protocol.md §2, §8), and the
MindConnect calls an agent makes (§7.1, §9)."""

import http.client
import re

import client as sgclient
import expect

AGENTS = "/api/agentmanagement/v3/agents/"


def _status(emu, agent_id):
    return emu.admin_json("GET", AGENTS + agent_id + "/boarding/status")["status"]


def test_boarding_config_has_the_documented_shape(emu):
    # GIVEN a new agent WHEN its config is created THEN exactly the §2 fields
    agent_id, boarding = emu.create_agent("RSA_3072", tenant="castidev")
    assert set(boarding) == {"content", "expiration"}
    content = boarding["content"]
    assert set(content) == {"baseUrl", "iat", "clientCredentialProfile", "clientId", "tenant"}
    assert content["baseUrl"] == emu.base_url
    assert content["clientCredentialProfile"] == ["RSA_3072"]
    assert content["clientId"] == agent_id and re.match(r"^[0-9a-f]{32}$", agent_id)
    assert content["tenant"] == "castidev"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$", boarding["expiration"])
    assert sgclient.jwt_claims(content["iat"])["sub"] == agent_id


def test_status_follows_the_lifecycle(emu):
    # GIVEN a new agent THEN ONBOARDING; onboarded THEN ONBOARDED; offboarded THEN NOT_ONBOARDED,
    # and a second offboard is 409
    agent = emu.agent()
    assert _status(emu, agent.client_id) == "ONBOARDING"
    assert agent.onboard().status == 201
    assert _status(emu, agent.client_id) == "ONBOARDED"
    resp = emu.admin("POST", AGENTS + agent.client_id + "/boarding/offboard")
    assert resp.status == 200 and resp.json() == {"status": "NOT_ONBOARDED"}
    assert _status(emu, agent.client_id) == "NOT_ONBOARDED"
    expect.management_error(emu.admin("POST", AGENTS + agent.client_id + "/boarding/offboard"), 409)


def test_offboarded_client_is_refused_everywhere(emu):
    # GIVEN an onboarded agent holding an access token WHEN it is offboarded THEN token → 400 with
    # Server-Time, rotation → 401, and the old access token → 401 on DSC and exchange
    agent = emu.onboarded()
    assert agent.token().status == 200
    old_token = agent.access_token
    assert agent.get_dsc().status == 404  # the token works; nothing configured yet
    assert emu.admin("POST", AGENTS + agent.client_id + "/boarding/offboard").status == 200
    resp = agent.token()
    body = expect.iam_error(resp, 400, "invalid_client")
    assert "not onboarded" in body["error_description"] and "Server-Time" in resp.headers
    expect.iam_error(agent.rotate(), 401, "token_validation_failed")
    expect.management_error(agent.get_dsc(token=old_token), 401)
    expect.management_error(agent.exchange(token=old_token), 401)


def test_a_new_iat_after_offboarding_onboards_again(emu):
    # GIVEN an offboarded agent WHEN its configuration is fetched THEN it holds a new IAT; the
    # old IAT is refused (401) and the new one onboards (201)
    agent = emu.onboarded()
    assert emu.admin("POST", AGENTS + agent.client_id + "/boarding/offboard").status == 200
    boarding = emu.admin_json("GET", AGENTS + agent.client_id + "/boarding/configuration")
    assert boarding["content"]["iat"] != agent.iat
    assert _status(emu, agent.client_id) == "ONBOARDING"
    expect.iam_error(sgclient.Agent(agent.boarding, ca_file=emu.ca).onboard(), 401,
                     "token_validation_failed")
    again = sgclient.Agent(boarding, ca_file=emu.ca)
    assert again.onboard().status == 201
    assert again.token().status == 200
    assert _status(emu, agent.client_id) == "ONBOARDED"


def test_configuration_keeps_an_unused_iat(emu):
    # GIVEN an agent whose IAT is unused WHEN its configuration is fetched twice THEN the same IAT;
    # once onboarded THEN a new one
    agent_id, boarding = emu.create_agent()
    again = emu.admin_json("GET", AGENTS + agent_id + "/boarding/configuration")
    assert again == boarding
    assert sgclient.Agent(boarding, ca_file=emu.ca).onboard().status == 201
    renewed = emu.admin_json("GET", AGENTS + agent_id + "/boarding/configuration")
    assert renewed["content"]["iat"] != boarding["content"]["iat"]


def test_offboarding_an_agent_that_never_onboarded_voids_its_iat(emu):
    # GIVEN an ONBOARDING agent WHEN offboarded THEN its unused IAT no longer onboards
    agent = emu.agent()
    assert emu.admin("POST", AGENTS + agent.client_id + "/boarding/offboard").status == 200
    expect.iam_error(agent.onboard(), 401, "token_validation_failed")


def test_boarding_endpoints_need_the_admin_token(emu):
    # GIVEN the three operator endpoints WHEN called without a token, with a wrong one or with
    # the agent's own access token THEN 401 (management body)
    agent = emu.onboarded()
    assert agent.token().status == 200
    for method, suffix in (("GET", "/boarding/status"), ("POST", "/boarding/offboard"),
                           ("GET", "/boarding/configuration")):
        path = AGENTS + agent.client_id + suffix
        for headers in ({}, {"Authorization": "Bearer wrong"},
                        {"Authorization": "Bearer " + agent.access_token}):
            expect.management_error(agent.transport.request(method, path, None, headers), 401)
    assert _status(emu, agent.client_id) == "ONBOARDED"


def test_unknown_agent_is_404(emu):
    expect.management_error(emu.admin("GET", AGENTS + "0" * 32 + "/boarding/status"), 404)


# --- MindConnect ----------------------------------------------------------------------------

def test_exchange_is_accepted_and_counted(emu):
    # GIVEN an agent with a token WHEN it posts two exchanges THEN 200 each, counted
    agent = emu.onboarded()
    assert agent.token().status == 200
    assert agent.exchange().status == 200
    resp = agent.exchange()
    assert resp.status == 200 and resp.body == b""
    assert emu.state(agent.client_id)["exchange_count"] == 2


def test_exchange_needs_a_multipart_body(emu):
    # GIVEN an exchange sent as application/json THEN 400 and not counted
    agent = emu.onboarded()
    assert agent.token().status == 200
    resp = agent.transport.request("POST", "/api/mindconnect/v3/exchange", {"x": 1},
                                   {"Authorization": "Bearer " + agent.access_token})
    expect.management_error(resp, 400)
    assert emu.state(agent.client_id)["exchange_count"] == 0


def test_exchange_with_an_expired_or_missing_token_is_401(emu):
    agent = emu.onboarded()
    assert agent.token().status == 200
    emu.settings(clock_offset=3601)
    expect.management_error(agent.exchange(), 401)
    emu.settings(clock_offset=0)
    expect.management_error(agent.exchange(token="nothing"), 401)
    assert emu.state(agent.client_id)["exchange_count"] == 0


def test_exchange_over_10_mb_is_413(emu):
    # GIVEN exactly 10 MB THEN 200; one byte more THEN 413 (MC-OAS, §9)
    agent = emu.onboarded()
    assert agent.token().status == 200
    content_type, body = sgclient.mcl_body([sgclient.file_item("big.bin", b"")])
    pad = 10485760 - len(body)
    content_type, body = sgclient.mcl_body([sgclient.file_item("big.bin", b"x" * pad)],
                                           boundary=content_type.split("=")[1].split(";")[0])
    assert len(body) == 10485760
    assert agent.exchange(payload=body, content_type=content_type).status == 200
    assert [f["size"] for f in emu.files(agent.client_id)] == [pad]
    expect.management_error(agent.exchange(payload=body + b"\n", content_type=content_type),
                            413)


def test_exchange_declaring_a_huge_body_is_413_without_reading_it(emu):
    # GIVEN a Content-Length of 1 GB and no body WHEN sent THEN 413 and the connection closes
    agent = emu.onboarded()
    assert agent.token().status == 200
    conn = http.client.HTTPSConnection("localhost", emu.port,
                                       context=agent.transport.context, timeout=10)
    conn.putrequest("POST", "/api/mindconnect/v3/exchange")
    conn.putheader("Authorization", "Bearer " + agent.access_token)
    conn.putheader("Content-Type", "multipart/mixed;boundary=b")
    conn.putheader("Content-Length", str(1 << 30))
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 413 and resp.getheader("Connection") == "close"
    conn.close()


def test_data_point_mappings_201_then_409(emu):
    # GIVEN a mapping WHEN created twice THEN 201 then 409 (Node relies on 409, §7.1)
    agent = emu.onboarded()
    assert agent.token().status == 200
    assert agent.put_dsc({"configurationId": "c", "dataSources": [{"name": "s", "dataPoints": [
        {"id": "DP-Temperature", "name": "t", "type": "DOUBLE", "unit": ""}]}]}).status == 200
    mapping = {"agentId": agent.client_id, "dataPointId": "DP-Temperature",
               "entityId": "e" * 32, "propertySetName": "Environment",
               "propertyName": "temperature", "keepMapping": False}
    headers = {"Authorization": "Bearer " + agent.access_token}
    path = "/api/mindconnect/v3/dataPointMappings"
    resp = agent.transport.request("POST", path, mapping, headers)
    assert resp.status == 201 and resp.json()["id"]
    expect.management_error(agent.transport.request("POST", path, mapping, headers), 409)
    listed = agent.transport.request("GET", path, None, headers)
    assert listed.json()["totalElements"] == 1
