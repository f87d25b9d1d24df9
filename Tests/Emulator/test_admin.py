"""The admin API, the request log, and robustness against malformed requests."""

import socket
import ssl

import pytest

import expect


def test_admin_api_needs_the_admin_token(emu):
    # GIVEN each admin route WHEN called without a token or with a wrong one THEN 401
    for method, path in (("GET", "/_admin/agents"), ("POST", "/_admin/agents"),
                         ("GET", "/_admin/requests"), ("DELETE", "/_admin/requests"),
                         ("POST", "/_admin/faults"), ("DELETE", "/_admin/faults"),
                         ("POST", "/_admin/settings"), ("GET", "/_admin/nothing")):
        expect.management_error(emu.transport().request(method, path, {}), 401)
        expect.management_error(emu.admin(method, path, {}, token="wrong"), 401)


def test_request_log_records_every_request_in_order(emu):
    # GIVEN an agent that onboards and gets a token WHEN the log is read THEN both requests are
    # there, in order, with method, path, headers, body text, status and time; admin calls not
    since = emu.next_seq()
    agent = emu.onboarded()
    assert agent.token().status == 200
    entries = emu.requests(since)
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/api/agentmanagement/v3/register", 201),
        ("POST", "/api/agentmanagement/v3/oauth/token", 200)]
    register, token = entries
    assert register["headers"]["Authorization"] == "Bearer " + agent.iat
    assert len(register["headers"]["Correlation-ID"]) == 32
    assert register["body"] == "{}"
    assert token["body"].startswith("grant_type=client_credentials&client_assertion_type=")
    assert token["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert register["time"] <= token["time"] and token["seq"] == register["seq"] + 1
    assert all(not e["path"].startswith("/_admin") for e in emu.requests())


def test_request_log_since_and_clear(emu):
    emu.get("/api/agentmanagement/v3/oauth/token_key")
    seq = emu.next_seq()
    emu.get("/api/agentmanagement/v3/oauth/token_keys")
    assert [e["path"] for e in emu.requests(seq)] == ["/api/agentmanagement/v3/oauth/token_keys"]
    assert emu.admin_json("DELETE", "/_admin/requests")["removed"] >= 2
    assert emu.requests() == []
    emu.get("/api/agentmanagement/v3/oauth/token_key")
    assert emu.requests()[0]["seq"] == seq + 1


def test_settings_can_be_read_and_changed(emu):
    # GIVEN the settings WHEN changed THEN the new values are returned; invalid ones are 400
    changed = emu.settings(clock_offset=12.5, token_lifetime=5, accept_previous_secret=True)
    assert changed["clock_offset"] == 12.5 and changed["token_lifetime"] == 5
    assert changed["accept_previous_secret"] is True
    for bad in ({"token_lifetime": 0}, {"token_lifetime": "5"}, {"clock_tolerance": -1},
                {"accept_previous_secret": 1}, {"secret_lifetime": True}, {"no_such": 1}):
        expect.management_error(emu.admin("POST", "/_admin/settings", bad), 400)


def test_agent_view_shows_the_full_state(emu, keys):
    # GIVEN an RSA agent rotated once WHEN its admin view is read THEN profile, status, RATs,
    # key history (PEM), expiry and counters are there
    agent = emu.onboarded("RSA_3072", key=keys[0])
    first_rat = agent.rat
    assert agent.rotate(key=keys[1]).status == 200
    assert agent.token().status == 200
    state = emu.state(agent.client_id)
    assert state["profile"] == "RSA_3072" and state["status"] == "ONBOARDED"
    assert state["rat"] == agent.rat and state["rat_previous"] == first_rat
    assert len(state["public_keys"]) == 2
    assert all(p.startswith("-----BEGIN PUBLIC KEY-----\n") for p in state["public_keys"])
    assert state["client_secret_expires_at"] == agent.expires_at
    assert state["token_count"] == 1 and state["rotation_count"] == 1
    assert state["eTag"] == "0" and state["exchange_count"] == 0
    listed = emu.admin_json("GET", "/_admin/agents")
    assert {"id": agent.client_id, "name": "test-agent", "profile": "RSA_3072",
            "status": "ONBOARDED"} in listed


@pytest.mark.parametrize("body, status", [
    ({"profile": "X509"}, 400),
    ({}, 400),
    ({"profile": "SHARED_SECRET", "id": "has/slash"}, 400),
    ({"profile": "SHARED_SECRET", "id": "x" * 37}, 400),
    ({"profile": "SHARED_SECRET", "tenant": ""}, 400),
    ({"profile": "SHARED_SECRET", "iat_lifetime": "long"}, 400),
])
def test_create_agent_validation(emu, body, status):
    expect.management_error(emu.admin("POST", "/_admin/agents", body), status)


def test_create_agent_with_a_given_id_and_duplicate(emu):
    agent_id, boarding = emu.create_agent(id="a3ac5ae8-8954-4717-b02f-a8282a30d1b4")
    assert boarding["content"]["clientId"] == agent_id
    expect.management_error(emu.admin("POST", "/_admin/agents",
                                      {"profile": "SHARED_SECRET", "id": agent_id}), 409)


def test_unknown_path_is_404_and_wrong_method_405(emu):
    # GIVEN an unknown path and a known path with the wrong method THEN 404 and 405 (with Allow),
    # in the family of the path
    expect.management_error(emu.get("/api/agentmanagement/v3/nothing"), 404)
    expect.management_error(emu.get("/"), 404)
    resp = emu.get("/api/agentmanagement/v3/register")
    expect.iam_error(resp, 405)
    assert resp.headers["Allow"] == "POST"
    resp = emu.transport().request("DELETE", "/api/mindconnect/v3/exchange")
    expect.management_error(resp, 405)


# --- malformed input ------------------------------------------------------------------------

def _raw(emu, data, read=65536):
    """Send raw bytes over TLS; return what comes back."""
    context = ssl.create_default_context(cafile=emu.ca)
    with socket.create_connection(("localhost", emu.port), timeout=10) as sock:
        with context.wrap_socket(sock, server_hostname="localhost") as tls:
            tls.sendall(data)
            chunks = []
            while True:
                chunk = tls.recv(read)
                if not chunk:
                    break
                chunks.append(chunk)
    return b"".join(chunks)


def test_malformed_requests_get_json_errors_and_never_crash(emu):
    # GIVEN broken requests WHEN sent THEN 4xx with a proper JSON body and Content-Length, and
    # the emulator keeps serving
    agent = emu.agent()
    auth = {"Authorization": "Bearer " + agent.iat, "Content-Type": "application/json"}
    t = emu.transport()
    expect.iam_error(t.request("POST", "/api/agentmanagement/v3/register", "{not json", auth), 400)
    expect.iam_error(t.request("POST", "/api/agentmanagement/v3/register", b"\xff\xfe", auth), 400)
    expect.iam_error(t.request("POST", "/api/agentmanagement/v3/register", "[1]", auth), 400)
    expect.iam_error(t.request("POST", "/api/agentmanagement/v3/oauth/token", b"\xff=\xfe"), 400)
    huge = t.request("POST", "/api/agentmanagement/v3/register", b"{" + b" " * (2 << 20) + b"}",
                     auth)
    expect.iam_error(huge, 413)
    bad_length = _raw(emu, b"POST /api/agentmanagement/v3/register HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Length: abc\r\n\r\n")
    assert bad_length.startswith(b"HTTP/1.1 400 ") and b"Content-Length: " in bad_length
    chunked = _raw(emu, b"POST /api/agentmanagement/v3/register HTTP/1.1\r\nHost: x\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    assert chunked.startswith(b"HTTP/1.1 411 ")
    garbage = _raw(emu, b"NOT-HTTP\r\n\r\n")
    assert garbage.startswith(b"HTTP/1.1 400 ") and b'"message"' in garbage
    assert agent.onboard().status == 201


def test_responses_use_crlf_and_content_length(emu):
    # GIVEN a keep-alive connection WHEN two requests are sent back to back THEN two complete
    # responses, each with CRLF header lines and a Content-Length matching its body
    request = (b"GET /api/agentmanagement/v3/oauth/token_key HTTP/1.1\r\nHost: localhost\r\n\r\n"
               b"GET /api/agentmanagement/v3/nothing HTTP/1.1\r\nHost: localhost\r\n"
               b"Connection: close\r\n\r\n")
    data = _raw(emu, request)
    responses = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        assert all(b"\n" not in line for line in lines)
        [length] = [int(line.split(b":")[1]) for line in lines
                    if line.lower().startswith(b"content-length:")]
        responses.append((lines[0], rest[:length]))
        data = rest[length:]
    assert [r[0] for r in responses] == [b"HTTP/1.1 200 OK", b"HTTP/1.1 404 Not Found"]
