"""Fault injection through /_admin/faults: every kind, matching, counting, clearing."""

import http.client
import ssl
import time

import pytest

import expect

TOKEN_KEY = "/api/agentmanagement/v3/oauth/token_key"


def _last_entry(emu, path_suffix):
    return [e for e in emu.requests() if e["path"].endswith(path_suffix)][-1]


def test_status_fault_429_with_retry_after_leaves_state_untouched(emu):
    # GIVEN a 429 fault with Retry-After on /register WHEN an agent registers THEN 429, the
    # header, an IAM body; the IAT is not consumed, so the next attempt gets 201
    agent = emu.agent()
    emu.fault(method="POST", path="/register$", kind="status", status=429,
              headers={"Retry-After": "2"})
    resp = agent.onboard()
    expect.iam_error(resp, 429, "too_many_requests")
    assert resp.headers["Retry-After"] == "2"
    assert _last_entry(emu, "/register")["fault"] == "status"
    assert emu.state(agent.client_id)["status"] == "ONBOARDING"
    assert agent.onboard().status == 201


@pytest.mark.parametrize("status", [500, 503])
def test_status_fault_bursts_with_custom_body_then_recovers(emu, status):
    # GIVEN a fault for the next 2 token requests with a custom body WHEN 3 requests are sent
    # THEN 2 get the fault (no token issued), the third a token
    agent = emu.onboarded()
    emu.fault(method="POST", path="/oauth/token$", kind="status", status=status, count=2,
              body={"error": "down"})
    first = agent.token()
    assert first.status == status and first.json() == {"error": "down"}
    remaining = emu.admin_json("GET", "/_admin/faults")
    assert [f["count"] for f in remaining] == [1]
    assert agent.token().status == status
    assert emu.admin_json("GET", "/_admin/faults") == []
    assert agent.token().status == 200
    assert emu.state(agent.client_id)["token_count"] == 1


def test_text_body_and_management_default_body(emu):
    # GIVEN a text-body fault and a body-less fault on management paths WHEN hit THEN the text,
    # and a management-family default body
    agent = emu.onboarded()
    assert agent.token().status == 200
    emu.fault(path="dataSourceConfiguration$", kind="status", status=502, body="bad gateway")
    resp = agent.get_dsc()
    assert resp.status == 502 and resp.body == b"bad gateway"
    assert resp.headers["Content-Type"].startswith("text/plain")
    emu.fault(path="dataSourceConfiguration$", kind="status", status=503)
    expect.management_error(agent.get_dsc(), 503)


def test_method_filter_and_first_match_wins(emu):
    # GIVEN a PUT-only fault and two faults matching GET WHEN GET and PUT are sent THEN the GET
    # gets the older GET fault, the PUT the PUT fault
    agent = emu.onboarded()
    assert agent.token().status == 200
    emu.fault(method="PUT", path="dataSourceConfiguration$", kind="status", status=418)
    emu.fault(method="GET", path="dataSourceConfiguration$", kind="status", status=500)
    emu.fault(path=".*", kind="status", status=503)
    assert agent.get_dsc().status == 500
    assert agent.put_dsc({"configurationId": "x", "dataSources": []}).status == 418
    assert agent.get_dsc().status == 503
    assert agent.get_dsc().status == 404  # no fault left: never configured


def test_delete_clears_faults(emu):
    emu.fault(path=TOKEN_KEY, kind="status", status=500, count=5)
    assert emu.admin_json("DELETE", "/_admin/faults") == {"removed": 1}
    assert emu.get(TOKEN_KEY).status == 200


@pytest.mark.parametrize("spec", [
    {"kind": "explode"},
    {"kind": "status", "status": 99},
    {"kind": "status", "count": 0},
    {"kind": "delay", "seconds": -1},
    {"kind": "reset", "path": "("},
    {"kind": "status", "headers": {"X-Bad": "a\r\nb"}},
    {"kind": "status", "headers": {"Bad Name": "x"}},
])
def test_invalid_fault_is_400(emu, spec):
    expect.management_error(emu.admin("POST", "/_admin/faults", spec), 400)


def test_delay_fault_delays_then_answers_normally(emu):
    # GIVEN a 0.5 s delay on token_key WHEN fetched THEN 200 after at least 0.5 s
    emu.fault(method="GET", path="token_key$", kind="delay", seconds=0.5)
    started = time.monotonic()
    resp = emu.get(TOKEN_KEY)
    assert resp.status == 200 and time.monotonic() - started >= 0.5
    assert _last_entry(emu, "token_key")["fault"] == "delay"


def test_reset_fault_resets_the_connection_without_touching_state(emu):
    # GIVEN a reset fault on the token endpoint WHEN a token is requested THEN the connection
    # breaks without an answer, and no token was issued
    agent = emu.onboarded()
    emu.fault(method="POST", path="/oauth/token$", kind="reset")
    # Python's ssl module reports a TCP RST during a TLS read as an EOF, so over TLS only
    # "connection broken" is visible; the plain-HTTP test below tells RST from FIN.
    with pytest.raises((ConnectionError, ssl.SSLError)):
        agent.token()
    entry = _last_entry(emu, "/oauth/token")
    assert entry["status"] == 0 and entry["answered"] is False and entry["fault"] == "reset"
    assert emu.state(agent.client_id)["token_count"] == 0
    assert agent.token().status == 200


def test_reset_is_a_tcp_rst_and_drop_is_an_orderly_close(spawn):
    # GIVEN a plain-HTTP emulator WHEN a request hits a reset fault THEN the client gets
    # ECONNRESET (not an orderly close); a commit_then_drop fault THEN an orderly close
    emu = spawn(http=True)
    emu.fault(path="token_key$", kind="reset")
    with pytest.raises(ConnectionResetError) as info:
        emu.get(TOKEN_KEY)
    assert not isinstance(info.value, http.client.RemoteDisconnected)
    emu.fault(path="token_key$", kind="commit_then_drop")
    with pytest.raises(http.client.RemoteDisconnected):
        emu.get(TOKEN_KEY)
    assert emu.get(TOKEN_KEY).status == 200


def test_truncate_fault_sends_part_of_the_body_after_committing(emu):
    # GIVEN a truncate fault on the token endpoint WHEN a token is requested THEN the body is cut
    # short of its Content-Length, and the token was issued server-side
    agent = emu.onboarded()
    emu.fault(method="POST", path="/oauth/token$", kind="truncate")
    with pytest.raises(http.client.IncompleteRead):
        agent.token()
    assert emu.state(agent.client_id)["token_count"] == 1
    entry = _last_entry(emu, "/oauth/token")
    assert entry["status"] == 200 and entry["answered"] is False


def test_truncate_fault_on_an_empty_body(emu):
    # GIVEN truncate on an exchange (empty 200 body) WHEN posted THEN a declared length with
    # nothing behind it
    agent = emu.onboarded()
    assert agent.token().status == 200
    emu.fault(path="/exchange$", kind="truncate")
    with pytest.raises(http.client.IncompleteRead):
        agent.exchange()
    assert emu.state(agent.client_id)["exchange_count"] == 1


def test_commit_then_drop_applies_the_rotation_and_the_old_rat_still_works(emu):
    # GIVEN commit_then_drop on the rotation PUT WHEN the agent rotates THEN the connection
    # closes without a response, the server shows the new RAT, and repeating the PUT with the
    # old RAT succeeds (docs/protocol.md §5.2) with credentials that get tokens
    agent = emu.onboarded()
    old_rat, old_secret = agent.rat, agent.client_secret
    emu.fault(method="PUT", path="/register/", kind="commit_then_drop")
    with pytest.raises(http.client.RemoteDisconnected):
        agent.rotate()
    assert agent.rat == old_rat  # the client never saw the answer
    state = emu.state(agent.client_id)
    assert state["rat"] != old_rat and state["rat_previous"] == old_rat
    assert state["rotation_count"] == 1 and len(state["client_secrets"]) == 2
    lost_secret = state["client_secret"]
    entry = _last_entry(emu, "/register/" + agent.client_id)
    assert entry["status"] == 200 and entry["answered"] is False
    expect.iam_error(agent.token(secret=old_secret), 400, "invalid_client")
    assert agent.token(secret=lost_secret).status == 200  # the lost rotation is live
    assert agent.rotate().status == 200  # repeat with the old RAT
    assert agent.token().status == 200
    assert emu.state(agent.client_id)["rotation_count"] == 2


def test_commit_then_drop_on_registration_consumes_the_iat(emu):
    # GIVEN commit_then_drop on /register WHEN the agent onboards THEN no answer, the agent is
    # ONBOARDED server-side, and its IAT is used up (401 on retry)
    agent = emu.agent()
    emu.fault(method="POST", path="/register$", kind="commit_then_drop")
    with pytest.raises(http.client.RemoteDisconnected):
        agent.onboard()
    assert emu.state(agent.client_id)["status"] == "ONBOARDED"
    expect.iam_error(agent.onboard(), 401, "token_validation_failed")
