"""Faults on the exchange (docs/relay.md §6): commit-then-drop, reset mid-body, 429 with and
without Retry-After, 5xx, 401 once and always, 403, a proxy's 413 cap, bandwidth shaping and
outage windows."""

import http.client
import socket
import ssl
import time

import pytest

import client as sgclient
import expect

EXCHANGE = "/api/mindconnect/v3/exchange"
CONFIG = {"configurationId": "cfg-1", "dataSources": [{"name": "line", "dataPoints": [
    {"id": "T", "name": "Temperature", "type": "DOUBLE", "unit": ""}]}]}
T0 = "2026-03-01T10:00:00.000Z"


def _ready(emu):
    agent = emu.onboarded()
    assert agent.token().status == 200
    assert agent.put_dsc(CONFIG).status == 200
    return agent


@pytest.fixture
def agent(emu):
    return _ready(emu)


def _body(n=1, pad=0):
    """An MCL-framed body with n values (and a file of `pad` bytes to make it bigger)."""
    entries = [{"timestamp": "2026-03-01T10:00:%02d.000Z" % i,
                "values": [{"dataPointId": "T", "value": str(i), "qualityCode": "0"}]}
               for i in range(n)]
    items = [sgclient.timeseries_item("cfg-1", entries)]
    if pad:
        items.append(sgclient.file_item("pad.bin", b"p" * pad))
    return sgclient.mcl_body(items)


def _send(agent, body=None):
    content_type, payload = body or _body()
    return agent.exchange(payload=payload, content_type=content_type)


def _last(emu):
    return [e for e in emu.requests() if e["path"] == EXCHANGE][-1]


def test_commit_then_drop_stores_and_closes_without_an_answer(emu, agent):
    # GIVEN commit_then_drop on the exchange WHEN 3 values are sent THEN the connection closes
    # without a response, and the 3 values are stored (a resend overwrites them)
    emu.fault(method="POST", path="/exchange$", kind="commit_then_drop")
    body = _body(3)
    with pytest.raises(http.client.RemoteDisconnected):
        _send(agent, body)
    assert len(emu.timeseries(agent.client_id)) == 3
    assert _last(emu)["status"] == 200 and _last(emu)["answered"] is False
    assert _send(agent, body).status == 200
    assert len(emu.timeseries(agent.client_id)) == 3
    assert emu.counts(agent.client_id)["exchanges"] == 2


def test_reset_mid_body_stores_nothing(emu, agent):
    # GIVEN reset_mid_body WHEN a 1 MB body is sent THEN the connection is reset part-way,
    # nothing is stored, the log shows the fault
    emu.fault(path="/exchange$", kind="reset_mid_body", bytes=4096)
    with pytest.raises((ConnectionError, ssl.SSLError, http.client.HTTPException)):
        _send(agent, _body(1, pad=1 << 20))
    entry = _last(emu)
    assert entry["fault"] == "reset_mid_body" and entry["status"] == 0
    assert emu.counts(agent.client_id)["values"] == 0
    assert _send(agent).status == 200


def test_reset_mid_body_is_a_tcp_rst(spawn):
    emu = spawn(http=True)
    agent = _ready(emu)
    emu.fault(path="/exchange$", kind="reset_mid_body")
    with pytest.raises(ConnectionResetError):
        _send(agent, _body(1, pad=1 << 20))
    assert emu.counts(agent.client_id)["values"] == 0


@pytest.mark.parametrize("headers", [{"Retry-After": "7"}, {}], ids=["retry-after", "bare"])
def test_429_with_and_without_retry_after(emu, agent, headers):
    emu.fault(path="/exchange$", kind="status", status=429, headers=headers)
    resp = _send(agent)
    expect.management_error(resp, 429)
    assert resp.headers.get("Retry-After") == headers.get("Retry-After")
    assert emu.counts(agent.client_id)["values"] == 0
    assert _send(agent).status == 200


@pytest.mark.parametrize("status", [500, 502, 503, 403])
def test_status_faults_store_nothing(emu, agent, status):
    emu.fault(path="/exchange$", kind="status", status=status)
    expect.management_error(_send(agent), status)
    assert emu.counts(agent.client_id) == {"values": 0, "events": 0, "files": 0,
                                           "exchanges": 0, "duplicates": 0, "reached": True}
    assert _send(agent).status == 200


def test_401_once(emu, agent):
    emu.fault(path="/exchange$", kind="status", status=401)
    expect.management_error(_send(agent), 401)
    assert _send(agent).status == 200


def test_401_always_until_cleared(emu, agent):
    fault = emu.fault(path="/exchange$", kind="status", status=401, always=True)
    assert fault["always"] is True
    for _ in range(3):
        expect.management_error(_send(agent), 401)
    assert agent.token().status == 200  # a new token does not help
    expect.management_error(_send(agent), 401)
    assert emu.admin_json("GET", "/_admin/faults")[0]["count"] == 1
    emu.admin_json("DELETE", "/_admin/faults")
    assert _send(agent).status == 200


def test_proxy_cap_413_only_above_the_threshold(emu, agent):
    # GIVEN a persistent 2000-byte cap WHEN a smaller and a bigger body are sent THEN the small
    # one passes (200) and the big one gets 413 with Connection: close, unprocessed
    emu.fault(path="/exchange$", kind="max_body", bytes=2000, always=True)
    small, big = _body(1), _body(1, pad=4000)
    assert len(small[1]) <= 2000 < len(big[1])
    assert _send(agent, small).status == 200
    resp = _send(agent, big)
    expect.management_error(resp, 413)
    assert resp.headers["Connection"] == "close"
    assert emu.counts(agent.client_id)["exchanges"] == 1
    assert _send(agent, small).status == 200


def test_proxy_cap_with_a_custom_body(emu, agent):
    emu.fault(path="/exchange$", kind="max_body", bytes=10, body="<html>413</html>")
    resp = _send(agent)
    assert resp.status == 413 and resp.body == b"<html>413</html>"
    assert _send(agent).status == 200  # count 1: used up


def test_throttle_reads_the_body_at_the_given_rate(emu, agent):
    # GIVEN 40,000 bytes/s WHEN a body of about 30,000 bytes is sent THEN the answer takes at
    # least 0.7 s, and the values are stored
    emu.fault(path="/exchange$", kind="throttle", bytes_per_second=40000)
    body = _body(2, pad=30000)
    started = time.monotonic()
    assert _send(agent, body).status == 200
    elapsed = time.monotonic() - started
    assert elapsed >= len(body[1]) / 40000 - 0.05, elapsed
    assert emu.counts(agent.client_id)["values"] == 2
    started = time.monotonic()
    assert _send(agent, body).status == 200  # count 1: used up
    assert time.monotonic() - started < 0.5


def test_throttle_combines_with_another_fault(emu, agent):
    emu.fault(path="/exchange$", kind="throttle", bytes_per_second=100000, always=True)
    emu.fault(path="/exchange$", kind="status", status=503)
    expect.management_error(_send(agent), 503)
    assert _send(agent).status == 200
    assert [f["kind"] for f in emu.admin_json("GET", "/_admin/faults")] == ["throttle"]


def _connect(emu):
    with socket.create_connection(("localhost", emu.port), timeout=5):
        pass


def test_outage_refuses_connections_then_ends(spawn):
    # GIVEN a 1 s "refuse" outage WHEN the agent connects THEN connection refused; afterwards
    # the same port serves again
    emu = spawn()
    agent = _ready(emu)
    assert emu.outage(1.0)["active"] is True
    with pytest.raises(ConnectionRefusedError):
        _connect(emu)
    with pytest.raises(ConnectionRefusedError):
        _send(agent)
    time.sleep(1.2)
    assert _send(agent).status == 200
    assert emu.admin_json("GET", "/_admin/outage")["active"] is False


def test_outage_reset_mode_resets_requests_but_not_the_admin_api(spawn):
    emu = spawn()
    agent = _ready(emu)
    emu.outage(30, mode="reset")
    with pytest.raises((ConnectionError, ssl.SSLError, http.client.HTTPException)):
        _send(agent)
    assert emu.admin_json("GET", "/_admin/outage")["mode"] == "reset"
    assert _last(emu)["fault"] == "outage"
    emu.end_outage()
    assert _send(agent).status == 200


def test_outage_close_mode_resets_each_new_connection(spawn):
    # GIVEN a "close" outage WHEN a client connects THEN the connection is accepted and reset
    # at once (before TLS); the harness's kept-alive admin connection still works
    emu = spawn()
    agent = _ready(emu)
    emu.outage(30, mode="close")
    with socket.create_connection(("localhost", emu.port), timeout=5) as sock:
        try:
            assert sock.recv(1) == b""
        except ConnectionResetError:
            pass
    with pytest.raises((ConnectionError, ssl.SSLError)):
        _send(agent)
    assert emu.end_outage()["active"] is False
    assert _send(agent).status == 200


def test_outage_fault_starts_on_the_matching_request(spawn):
    emu = spawn()
    agent = _ready(emu)
    emu.fault(path="/exchange$", kind="outage", seconds=0.8, mode="refuse")
    with pytest.raises((ConnectionError, ssl.SSLError, http.client.HTTPException)):
        _send(agent)
    with pytest.raises(ConnectionRefusedError):
        _connect(emu)
    time.sleep(1.0)
    assert _send(agent).status == 200
    assert emu.counts(agent.client_id)["exchanges"] == 1


@pytest.mark.parametrize("spec", [
    {"kind": "max_body"}, {"kind": "max_body", "bytes": -1}, {"kind": "throttle"},
    {"kind": "throttle", "bytes_per_second": 0}, {"kind": "reset_mid_body", "bytes": 0},
    {"kind": "outage", "seconds": -1}, {"kind": "outage", "mode": "explode"},
    {"kind": "status", "always": "yes"}])
def test_invalid_new_fault_specs_are_400(emu, spec):
    expect.management_error(emu.admin("POST", "/_admin/faults", spec), 400)


@pytest.mark.parametrize("body", [{}, {"seconds": 0}, {"seconds": 5, "mode": "x"},
                                  {"seconds": True}])
def test_invalid_outage_is_400(emu, body):
    expect.management_error(emu.admin("POST", "/_admin/outage", body), 400)
