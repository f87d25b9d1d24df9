"""POST /api/mindconnect/v3/exchange (docs/protocol.md §14): both framings byte for byte, each
item type, malformed bodies, each drop reason, both overwrite modes, and the admin queries."""

import base64
import threading
import time
import uuid

import pytest

import client as sgclient
import expect

CONFIG = {"configurationId": "cfg-1", "dataSources": [{"name": "line", "dataPoints": [
    {"id": "T", "name": "Temperature", "type": "DOUBLE", "unit": "°C"},
    {"id": "N", "name": "Count", "type": "INT", "unit": ""},
    {"id": "L", "name": "Total", "type": "LONG", "unit": ""},
    {"id": "B", "name": "Running", "type": "BOOLEAN", "unit": ""},
    {"id": "S", "name": "State", "type": "STRING", "unit": ""},
    {"id": "BS", "name": "Log", "type": "BIG_STRING", "unit": ""},
    {"id": "TS", "name": "Since", "type": "TIMESTAMP", "unit": ""}]}]}
T0 = "2026-03-01T10:00:00.000Z"
T1 = "2026-03-01T10:00:01.000Z"
T2 = "2026-03-01T10:00:02.000Z"
EXCHANGE = "/api/mindconnect/v3/exchange"


@pytest.fixture
def agent(emu):
    agent = emu.onboarded()
    assert agent.token().status == 200
    assert agent.put_dsc(CONFIG).status == 200
    return agent


def _post(agent, content_type, body, correlation_id=None):
    return agent.exchange(payload=body, content_type=content_type, correlation_id=correlation_id)


def _series(*entries, configuration="cfg-1"):
    """One timeseries item from (timestamp, {dataPointId: value}) pairs."""
    return sgclient.timeseries_item(configuration, [
        {"timestamp": ts, "values": [{"dataPointId": p, "value": v, "qualityCode": "0"}
                                     for p, v in values.items()]} for ts, values in entries])


def _send(emu, agent, *items, framing="mcl"):
    """Send items; return the exchange record."""
    correlation = uuid.uuid4().hex
    resp = agent.exchange(items=list(items), framing=framing, correlation_id=correlation)
    assert resp.status == 200 and resp.body == b"", resp
    [record] = emu.exchanges(agent.client_id, correlation_id=correlation)
    return record


def _values(emu, agent, **filters):
    return [(v["dataPointId"], v["timestamp"], v["value"])
            for v in emu.timeseries(agent.client_id, **filters)]


# --- both framings, byte for byte ----------------------------------------------------------

MCL_META = (b'{"type":"item","version":"1.0","payload":{"type":"standardTimeSeries",'
            b'"version":"1.0","details":{"configurationId":"cfg-1"}}}')
MCL_PAYLOAD = (b'[{"timestamp":"2026-03-01T10:00:00.000Z","values":[{"dataPointId":"T",'
               b'"value":"21.5","qualityCode":"00000000"},{"dataPointId":"N","value":"7",'
               b'"qualityCode":"0"}]}]')
MCL_BODY = (b"--Xq3v9LmT0aB7cD2eF4gH\r\n"
            b"Content-Type: multipart/related;boundary=Rk8sP1nW5yZ6uV0tQ3xJ\r\n"
            b"\r\n"
            b"--Rk8sP1nW5yZ6uV0tQ3xJ\r\n"
            b"Content-Type: application/vnd.siemens.mindsphere.meta+json\r\n"
            b"\r\n" + MCL_META + b"\r\n"
            b"--Rk8sP1nW5yZ6uV0tQ3xJ\r\n"
            b"Content-Type: application/json\r\n"
            b"\r\n" + MCL_PAYLOAD + b"\r\n"
            b"--Rk8sP1nW5yZ6uV0tQ3xJ--\r\n"
            b"--Xq3v9LmT0aB7cD2eF4gH--")
MCL_TYPE = "multipart/mixed;boundary=Xq3v9LmT0aB7cD2eF4gH;charset=utf-8"

# mindconnect-template.ts bulkDataTemplate, as sent: LF lines, the meta pretty-printed, a CRLF
# before the closing inner boundary, a final LF
NODE_BODY = (b"--mindspheremessage\n"
             b"Content-Type:multipart/related;boundary=mindspherepart\n"
             b"\n"
             b"--mindspherepart\n"
             b"Content-Type:application/vnd.siemens.mindsphere.meta+json\n"
             b"\n"
             b"{\n"
             b'    "type": "item",\n'
             b'    "version": "1.0",\n'
             b'    "payload": {\n'
             b'        "type": "standardTimeSeries",\n'
             b'        "version": "1.0",\n'
             b'        "details": {\n'
             b'            "configurationId": "cfg-1"\n'
             b"        }\n"
             b"    }\n"
             b"}\n"
             b"\n"
             b"--mindspherepart\n"
             b"Content-Type:application/json\n"
             b"\n" + MCL_PAYLOAD + b"\n"
             b"\n"
             b"\r\n--mindspherepart--\n"
             b"--mindspheremessage--\n")
NODE_TYPE = "multipart/mixed; boundary=mindspheremessage"


@pytest.mark.parametrize("content_type, body, framing", [
    (MCL_TYPE, MCL_BODY, "crlf"), (NODE_TYPE, NODE_BODY, "mixed")], ids=["mcl", "node"])
def test_both_framings_byte_for_byte(emu, agent, content_type, body, framing):
    # GIVEN the exact bytes MCL and the Node SDK send WHEN posted THEN 200 with an empty body,
    # both values stored with their quality codes, one exchange record with the Correlation-ID
    correlation = "0123456789abcdef0123456789abcdef"
    resp = _post(agent, content_type, body, correlation)
    assert resp.status == 200 and resp.body == b"", resp
    stored = emu.timeseries(agent.client_id)
    assert [(v["dataPointId"], v["timestamp"], v["value"], v["qualityCode"]) for v in stored] == [
        ("N", T0, "7", "0"), ("T", T0, "21.5", "00000000")]
    assert all(v["correlationId"] == correlation and v["configurationId"] == "cfg-1"
               for v in stored)
    [record] = emu.exchanges(agent.client_id)
    assert record["correlationId"] == correlation and record["bytes"] == len(body)
    assert record["status"] == 200 and record["framing"] == framing
    assert record["itemCount"] == 1
    assert record["items"] == [{"index": 0, "type": "standardTimeSeries", "version": "1.0",
                                "stored": 2, "dropped": 0, "drops": [], "outcome": "stored"}]


def test_lf_only_throughout_and_transport_padding(emu, agent):
    # GIVEN the MCL body with every CRLF turned into LF, and spaces after a delimiter (RFC 2046
    # transport padding) THEN 200, framing "lf"
    body = MCL_BODY.replace(b"\r\n", b"\n").replace(b"--Xq3v9LmT0aB7cD2eF4gH\n",
                                                     b"--Xq3v9LmT0aB7cD2eF4gH  \n", 1)
    correlation = uuid.uuid4().hex
    assert _post(agent, MCL_TYPE, body, correlation).status == 200
    [record] = emu.exchanges(agent.client_id, correlation_id=correlation)
    assert record["framing"] == "lf" and record["items"][0]["stored"] == 2


def test_the_client_builders_write_those_bytes():
    meta, payload_type, payload = sgclient.item(
        "standardTimeSeries", MCL_PAYLOAD, details={"configurationId": "cfg-1"})
    assert meta == MCL_META and payload_type == "application/json"
    assert sgclient.mcl_body([(meta, payload_type, payload)], "Xq3v9LmT0aB7cD2eF4gH",
                             ["Rk8sP1nW5yZ6uV0tQ3xJ"]) == (MCL_TYPE, MCL_BODY)
    content_type, body = sgclient.node_body([(meta, payload_type, payload)])
    assert content_type == NODE_TYPE
    assert body.replace(meta, b"M") == NODE_BODY.replace(NODE_BODY[NODE_BODY.index(b"{\n"):
                                                                   NODE_BODY.index(b"}\n\n--") + 1],
                                                         b"M")
    assert len(sgclient.random_boundary()) == 20


def test_other_spellings_of_the_content_type_are_accepted(emu, agent):
    # GIVEN a quoted boundary, upper-case media type and a space after ';' THEN 200
    for content_type in ('multipart/mixed; boundary="Xq3v9LmT0aB7cD2eF4gH"',
                         "Multipart/Mixed;Boundary=Xq3v9LmT0aB7cD2eF4gH; charset=utf-8"):
        assert _post(agent, content_type, MCL_BODY).status == 200
    assert emu.counts(agent.client_id)["exchanges"] == 2


def test_every_item_type_in_one_request(emu, agent):
    # GIVEN a timeseries, a businessEvent 1.0 and 2.0, a file and a data source configuration in
    # one body WHEN posted THEN each is stored and the record lists them in order
    config = dict(CONFIG, configurationId="cfg-2")
    record = _send(emu, agent, _series((T0, {"T": "1.5"})),
                   sgclient.event_item(sgclient.sample_event("e-1", severity=1), "1.0"),
                   sgclient.event_item(sgclient.sample_event("e-2", severity=40), "2.0"),
                   sgclient.file_item("logs/a.txt", b"\x00\x01binary\r\n", file_type="txt"),
                   sgclient.dsc_item(config))
    assert [(i["type"], i["version"], i["outcome"], i["stored"]) for i in record["items"]] == [
        ("standardTimeSeries", "1.0", "stored", 1), ("businessEvent", "1.0", "stored", 1),
        ("businessEvent", "2.0", "stored", 1), ("file", "1.0", "stored", 1),
        ("dataSourceConfiguration", "1.0", "stored", 1)]
    assert record["items"][4]["eTag"] == "2"
    events = {e["id"]: e for e in emu.events(agent.client_id)}
    assert events["e-1"]["severity"] == 1 and events["e-1"]["_version"] == "1.0"
    assert events["e-2"]["severity"] == 40 and events["e-2"]["_duplicates"] == 0
    [stored_file] = emu.files(agent.client_id)
    assert stored_file["fileName"] == "logs/a.txt" and stored_file["fileType"] == "txt"
    assert base64.b64decode(stored_file["content"]) == b"\x00\x01binary\r\n"
    assert stored_file["size"] == 10
    assert agent.get_dsc().json()["configurationId"] == "cfg-2"


def test_node_framing_carries_a_file_and_several_items(emu, agent):
    record = _send(emu, agent, sgclient.file_item("f.bin", b"\n\nends with line feeds\n\n"),
                   _series((T0, {"N": "1"})), framing="node")
    assert [i["outcome"] for i in record["items"]] == ["stored", "stored"]
    assert base64.b64decode(emu.files(agent.client_id)[0]["content"]) == \
        b"\n\nends with line feeds\n\n"


# --- malformed bodies -> 400 ----------------------------------------------------------------

def _swap(old, new):
    return lambda body: body.replace(old, new, 1)


MALFORMED = [
    ("preamble", lambda b: b"preamble\r\n" + b),
    ("no-closing-delimiter", lambda b: b[: -len(b"--Xq3v9LmT0aB7cD2eF4gH--")]),
    ("data-after-closing", lambda b: b + b"\r\ntrailing"),
    ("item-not-related", _swap(b"multipart/related;boundary=Rk8sP1nW5yZ6uV0tQ3xJ",
                               b"application/json")),
    ("item-without-boundary", _swap(b"multipart/related;boundary=Rk8sP1nW5yZ6uV0tQ3xJ",
                                    b"multipart/related")),
    ("inner-not-closed", _swap(b"--Rk8sP1nW5yZ6uV0tQ3xJ--", b"--Rk8sP1nW5yZ6uV0tQ3xJ")),
    ("meta-only", lambda b: b[:b.index(b"\r\n--Rk8sP1nW5yZ6uV0tQ3xJ\r\nContent-Type: "
                                       b"application/json")]
     + b"\r\n--Rk8sP1nW5yZ6uV0tQ3xJ--\r\n--Xq3v9LmT0aB7cD2eF4gH--"),
    ("three-parts", _swap(b"--Rk8sP1nW5yZ6uV0tQ3xJ--",
                          b"--Rk8sP1nW5yZ6uV0tQ3xJ\r\nContent-Type: text/plain\r\n\r\nx\r\n"
                          b"--Rk8sP1nW5yZ6uV0tQ3xJ--")),
    ("payload-first", _swap(b"application/vnd.siemens.mindsphere.meta+json", b"application/json")),
    ("part-without-content-type", _swap(b"Content-Type: application/json\r\n", b"")),
    ("header-line-malformed", _swap(b"Content-Type: application/json\r\n",
                                    b"Content-Type: application/json\r\nno colon here\r\n")),
    ("meta-not-json", _swap(MCL_META, b"{not json")),
    ("meta-not-an-item", _swap(b'"type":"item"', b'"type":"thing"')),
    ("meta-without-payload", _swap(MCL_META, b'{"type":"item","version":"1.0"}')),
    ("empty-body", lambda b: b""),
    ("no-parts", lambda b: b"--Xq3v9LmT0aB7cD2eF4gH--"),
    ("boundary-not-followed-by-line-end", _swap(b"--Xq3v9LmT0aB7cD2eF4gH\r\n",
                                                b"--Xq3v9LmT0aB7cD2eF4gHx\r\n")),
]


@pytest.mark.parametrize("mutate", [m for _, m in MALFORMED], ids=[n for n, _ in MALFORMED])
def test_malformed_body_is_400_and_nothing_is_stored(emu, agent, mutate):
    body = mutate(MCL_BODY)
    resp = _post(agent, MCL_TYPE, body, "feedfacefeedfacefeedfacefeedface")
    error = expect.management_error(resp, 400)
    assert "not well formatted" in error["message"] or "meta" in error["message"], error
    assert emu.timeseries(agent.client_id) == []
    [record] = emu.exchanges(agent.client_id)
    assert record["status"] == 400 and record["items"] == []
    assert record["correlationId"] == "feedfacefeedfacefeedfacefeedface"
    assert emu.state(agent.client_id)["exchange_count"] == 0


@pytest.mark.parametrize("content_type", [
    "application/json", "multipart/mixed", "multipart/related;boundary=Xq3v9LmT0aB7cD2eF4gH",
    "multipart/mixed;boundary=other", "multipart/mixed;boundary"])
def test_wrong_content_type_is_400(agent, content_type):
    expect.management_error(_post(agent, content_type, MCL_BODY), 400)


def test_missing_content_type_is_400(agent):
    resp = agent.transport.request("POST", EXCHANGE, MCL_BODY,
                                   {"Authorization": "Bearer " + agent.access_token})
    expect.management_error(resp, 400)


def test_expired_token_is_401_and_nothing_is_recorded(emu, agent):
    emu.settings(clock_offset=3601)
    expect.management_error(_post(agent, MCL_TYPE, MCL_BODY), 401)
    emu.settings(clock_offset=0)
    assert emu.exchanges(agent.client_id) == []


# --- drops: 200, and a reason per item --------------------------------------------------------

def _drops(record):
    return [(d["reason"], d.get("dataPointId")) for i in record["items"] for d in i["drops"]]


def test_unknown_configuration_drops_the_item(emu, agent):
    record = _send(emu, agent, _series((T0, {"T": "1"}), configuration="cfg-other"))
    assert record["items"][0]["outcome"] == "dropped"
    assert _drops(record) == [("unknown_configuration", None)]
    assert emu.timeseries(agent.client_id) == []


def test_an_agent_without_configuration_drops_every_timeseries(emu):
    agent = emu.onboarded()
    assert agent.token().status == 200
    record = _send(emu, agent, _series((T0, {"T": "1"})))
    assert _drops(record) == [("unknown_configuration", None)]


def test_unknown_data_point_drops_that_value_only(emu, agent):
    record = _send(emu, agent, _series((T0, {"T": "1.0", "X": "2"})))
    assert record["items"][0]["outcome"] == "partial"
    assert record["items"][0]["stored"] == 1 and record["items"][0]["dropped"] == 1
    assert _drops(record) == [("unknown_data_point", "X")]
    assert _values(emu, agent) == [("T", T0, "1.0")]


TYPE_CASES = [
    ("N", "2147483647", True), ("N", "-2147483648", True), ("N", "2147483648", False),
    ("N", "1.0", False), ("N", "", False), ("N", "+1", False),
    ("L", "9223372036854775807", True), ("L", "-9223372036854775808", True),
    ("L", "9223372036854775808", False), ("L", "1e3", False),
    ("T", "21.5", True), ("T", "-1", True), ("T", "1.5e3", True), ("T", ".5", True),
    ("T", "NaN", False), ("T", "Infinity", False), ("T", "1e999", False), ("T", "abc", False),
    ("B", "true", True), ("B", "false", True), ("B", "True", False), ("B", "1", False),
    ("S", "s" * 255, True), ("S", "s" * 256, False), ("S", "", True),
    ("BS", "b" * 100000, True), ("BS", "b" * 100001, False),
    ("TS", "2026-01-01T00:00:00.000Z", True), ("TS", "2026-01-01T00:00:00Z", False),
    ("TS", "2026-13-01T00:00:00.000Z", False),
]


@pytest.mark.parametrize("point, value, ok", TYPE_CASES,
                         ids=["%s-%s-%s" % (p, v[:12], ok) for p, v, ok in TYPE_CASES])
def test_value_types(emu, agent, point, value, ok):
    # GIVEN a value (a string on the wire, §14) for a data point of a type WHEN sent THEN stored
    # when it fits the type, else dropped as wrong_type
    record = _send(emu, agent, _series((T0, {point: value})))
    if ok:
        assert record["items"][0]["outcome"] == "stored", record
        assert _values(emu, agent) == [(point, T0, value)]
    else:
        assert _drops(record) == [("wrong_type", point)], record
        assert emu.timeseries(agent.client_id) == []


def test_a_value_that_is_not_a_string_is_malformed(emu, agent):
    item = sgclient.timeseries_item("cfg-1", [{"timestamp": T0, "values": [
        {"dataPointId": "N", "value": 5, "qualityCode": "0"}]}])
    assert _drops(_send(emu, agent, item)) == [("malformed_payload", "N")]


@pytest.mark.parametrize("timestamp", [
    "2026-03-01T10:00:00Z", "2026-03-01T10:00:00.0Z", "2026-03-01T10:00:00.000000Z",
    "2026-03-01T10:00:00.000+00:00", "2026-03-01 10:00:00.000Z", "2026-02-30T10:00:00.000Z",
    "2026-03-01T24:00:00.000Z", 1772359200000, None])
def test_bad_timestamp_drops_the_entry(emu, agent, timestamp):
    # GIVEN an entry whose timestamp is not exactly YYYY-MM-DDTHH:mm:ss.SSSZ next to a good one
    # THEN the bad entry is dropped (bad_timestamp), the good one stored
    item = sgclient.timeseries_item("cfg-1", [
        {"timestamp": timestamp, "values": [{"dataPointId": "N", "value": "1",
                                             "qualityCode": "0"}]},
        {"timestamp": T1, "values": [{"dataPointId": "N", "value": "2", "qualityCode": "0"}]}])
    record = _send(emu, agent, item)
    assert [d["reason"] for d in record["items"][0]["drops"]] == ["bad_timestamp"]
    assert record["items"][0]["outcome"] == "partial"
    assert _values(emu, agent) == [("N", T1, "2")]


@pytest.mark.parametrize("quality, ok", [("0", True), ("00000000", True), ("12189696", True),
                                         ("4294967295", True), ("4294967296", False),
                                         ("-1", False), ("0x0", False), ("", False)])
def test_quality_codes(emu, agent, quality, ok):
    item = sgclient.timeseries_item("cfg-1", [{"timestamp": T0, "values": [
        {"dataPointId": "N", "value": "1", "qualityCode": quality}]}])
    record = _send(emu, agent, item)
    assert _drops(record) == ([] if ok else [("bad_quality_code", "N")])


def test_duplicate_data_point_in_one_entry(emu, agent):
    item = sgclient.timeseries_item("cfg-1", [{"timestamp": T0, "values": [
        {"dataPointId": "N", "value": "1", "qualityCode": "0"},
        {"dataPointId": "N", "value": "2", "qualityCode": "0"}]}])
    assert _drops(_send(emu, agent, item)) == [("duplicate_data_point", "N")]
    assert _values(emu, agent) == [("N", T0, "1")]


@pytest.mark.parametrize("payload", [b"{not json", b'{"timestamp":"x"}', b"[1]",
                                     b'[{"timestamp":"2026-03-01T10:00:00.000Z"}]'])
def test_malformed_timeseries_payload_is_dropped(emu, agent, payload):
    meta, payload_type, _ = _series((T0, {}))
    record = _send(emu, agent, (meta, payload_type, payload))
    assert {d["reason"] for d in record["items"][0]["drops"]} == {"malformed_payload"}
    assert record["items"][0]["outcome"] == "dropped"


@pytest.mark.parametrize("version, severity, ok", [
    ("1.0", 1, True), ("1.0", 2, True), ("1.0", 3, True), ("1.0", 20, False), ("1.0", 0, False),
    ("2.0", 20, True), ("2.0", 30, True), ("2.0", 40, True), ("2.0", 1, False),
    ("2.0", "20", False), ("2.0", True, False)])
def test_event_severities(emu, agent, version, severity, ok):
    event = sgclient.sample_event(severity=severity)
    record = _send(emu, agent, sgclient.event_item(event, version))
    assert _drops(record) == ([] if ok else [("bad_severity", None)])
    assert len(emu.events(agent.client_id)) == (1 if ok else 0)


@pytest.mark.parametrize("change, reason", [
    ({"timestamp": "2026-03-01T10:00:00Z"}, "bad_timestamp"),
    ({"id": ""}, "malformed_payload"),
    ({"id": 5}, "malformed_payload"),
    ({"description": "d" * 256}, "malformed_payload"),
    ({"details": []}, "malformed_payload")])
def test_bad_events_are_dropped(emu, agent, change, reason):
    event = dict(sgclient.sample_event(), **change)
    assert [r for r, _ in _drops(_send(emu, agent, sgclient.event_item(event, "2.0")))] == [reason]


def test_event_description_of_255_is_accepted(emu, agent):
    event = dict(sgclient.sample_event(), description="d" * 255)
    assert _drops(_send(emu, agent, sgclient.event_item(event, "2.0"))) == []


def test_an_unsupported_item_type_is_dropped(emu, agent):
    record = _send(emu, agent, sgclient.item("standardTimeSeries", [], version="2.0"),
                   sgclient.item("somethingElse", {}))
    assert [d["reason"] for i in record["items"] for d in i["drops"]] == ["unsupported_item"] * 2


def test_a_file_needs_a_name_and_a_creation_date(emu, agent):
    record = _send(emu, agent, sgclient.item("file", b"x", details={"creationDate": T0}),
                   sgclient.file_item("f", b"x", creation_date="yesterday"))
    assert [d["reason"] for i in record["items"] for d in i["drops"]] == [
        "malformed_payload", "bad_timestamp"]
    assert emu.files(agent.client_id) == []


# --- storage rules ------------------------------------------------------------------------

def test_last_write_wins_per_data_point_by_default(emu, agent):
    # GIVEN T and N at T0 WHEN T alone is written again at T0 THEN T is replaced and N stays
    _send(emu, agent, _series((T0, {"T": "1.0", "N": "1"}), (T1, {"N": "5"})))
    _send(emu, agent, _series((T0, {"T": "2.0"})))
    assert _values(emu, agent) == [("N", T0, "1"), ("T", T0, "2.0"), ("N", T1, "5")]


def test_whole_record_mode_erases_the_rest_of_the_record(emu, agent):
    # GIVEN whole_record WHEN T alone is written again at T0 THEN N at T0 is gone (docs/protocol.md
    # §14: the record is overwritten completely); other timestamps are untouched
    emu.settings(whole_record=True)
    _send(emu, agent, _series((T0, {"T": "1.0", "N": "1"}), (T1, {"N": "5"})))
    _send(emu, agent, _series((T0, {"T": "2.0"})))
    assert _values(emu, agent) == [("T", T0, "2.0"), ("N", T1, "5")]


def test_whole_record_mode_from_the_command_line(spawn):
    emu = spawn(whole_record=True)
    assert emu.admin_json("GET", "/_admin/settings")["whole_record"] is True


def test_events_are_kept_by_id_with_a_duplicate_count(emu, agent):
    event = sgclient.sample_event("ev-1", severity=30)
    _send(emu, agent, sgclient.event_item(event, "2.0"))
    _send(emu, agent, sgclient.event_item(dict(event, description="again"), "2.0"))
    _send(emu, agent, sgclient.event_item(event, "2.0"))
    [stored] = emu.events(agent.client_id)
    assert stored["id"] == "ev-1" and stored["_duplicates"] == 2
    assert emu.counts(agent.client_id)["duplicates"] == 2


def test_files_are_kept_by_name(emu, agent):
    _send(emu, agent, sgclient.file_item("a", b"1"), sgclient.file_item("b", b"2"))
    _send(emu, agent, sgclient.file_item("a", b"3"))
    files = {f["fileName"]: base64.b64decode(f["content"])
             for f in emu.files(agent.client_id)}
    assert files == {"a": b"3", "b": b"2"}


# --- admin queries and awaiting -------------------------------------------------------------

def test_timeseries_filters(emu, agent):
    _send(emu, agent, _series((T0, {"T": "1", "N": "1"}), (T1, {"T": "2"}), (T2, {"T": "3"})))
    assert _values(emu, agent, data_point="T") == [("T", T0, "1"), ("T", T1, "2"),
                                                  ("T", T2, "3")]
    assert _values(emu, agent, start=T1) == [("T", T1, "2"), ("T", T2, "3")]
    assert _values(emu, agent, end=T1) == [("N", T0, "1"), ("T", T0, "1")]
    assert _values(emu, agent, data_point="T", start=T1, end=T2) == [("T", T1, "2")]
    assert emu.counts(agent.client_id) == {"values": 4, "events": 0, "files": 0,
                                           "exchanges": 1, "duplicates": 0, "reached": True}


def test_exchange_records_across_agents(emu, agent):
    other = emu.onboarded()
    assert other.token().status == 200
    mark = _send(emu, agent, sgclient.event_item(sgclient.sample_event(), "2.0"))["seq"]
    _send(emu, other, sgclient.event_item(sgclient.sample_event(), "2.0"))
    everyone = emu.exchanges(since=mark)
    assert [r["agentId"] for r in everyone] == [agent.client_id, other.client_id]
    assert [r["seq"] for r in emu.exchanges(since=mark + 1)] == [everyone[1]["seq"]]


def test_await_values_returns_once_they_are_stored(emu, agent):
    # GIVEN a long poll for 3 values WHEN they arrive 0.3 s later THEN it returns then, not at
    # its timeout
    def later():
        time.sleep(0.3)
        _post(agent, *sgclient.mcl_body([_series((T0, {"T": "1", "N": "1"}), (T1, {"T": "2"}))]))
    thread = threading.Thread(target=later)
    started = time.monotonic()
    thread.start()
    counts = emu.await_values(agent.client_id, 3, timeout=20)
    thread.join()
    assert counts["values"] == 3 and time.monotonic() - started < 10


def test_await_times_out_with_the_counts(emu, agent):
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        emu.await_counts(agent.client_id, timeout=0.3, values=1, events=1)
    assert time.monotonic() - started >= 0.3
    resp = emu.admin("GET", "/_admin/agents/%s/counts?wait_for=x" % agent.client_id)
    expect.management_error(resp, 400)


def test_clear_data(emu, agent):
    _send(emu, agent, _series((T0, {"T": "1"})))
    emu.clear_data(agent.client_id)
    assert emu.counts(agent.client_id)["values"] == 0


def test_stored_data_survives_a_restart_with_state(spawn, tmp_path):
    state = str(tmp_path / "state.json")
    first = spawn(name="first", state=state)
    agent = first.onboarded()
    assert agent.token().status == 200 and agent.put_dsc(CONFIG).status == 200
    assert _post(agent, *sgclient.mcl_body([_series((T0, {"T": "1"})),
                                            sgclient.file_item("f", b"\x00")])).status == 200
    assert first.stop() == 0
    second = spawn(name="second", state=state, tls_dir=first.tls_dir, port=first.port,
                   admin_token=first.admin_token)
    assert [v["value"] for v in second.timeseries(agent.client_id)] == ["1"]
    assert second.files(agent.client_id)[0]["size"] == 1
    assert len(second.exchanges(agent.client_id)) == 1
