"""MindConnect API calls an agent makes with its access token (docs/protocol.md §7.1, §9, §14):
the exchange (parsed strictly, each item stored or dropped with a reason), data point mappings,
diagnostic activations and recoverable records."""

import datetime
import json
import math
import re
import time
import uuid

from . import auth, dsc, multipart
from .errors import ApiError
from .messages import Response

MAX_EXCHANGE_BYTES = 10485760  # 10 MB (MC-OAS; MCL_MAXIMUM_HTTP_PAYLOAD_SIZE), §9
MAPPING_FIELDS = ("agentId", "dataPointId", "entityId", "propertySetName", "propertyName")

# the exchange form: exactly 24 characters, milliseconds, UTC (docs/protocol.md §14)
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
_INTEGER = re.compile(r"^-?\d+$")
_DECIMAL = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_QUALITY = re.compile(r"^\d{1,10}$")
_SEVERITIES = {"1.0": (1, 2, 3), "2.0": (20, 30, 40)}  # error, warning, info (§14)
MAX_STRING = 255
MAX_BIG_STRING = 100000
MAX_DESCRIPTION = 255  # "< 256" (§14)

# drop reasons, as recorded (README: "Exchange")
UNKNOWN_CONFIGURATION = "unknown_configuration"
UNKNOWN_DATA_POINT = "unknown_data_point"
WRONG_TYPE = "wrong_type"
BAD_TIMESTAMP = "bad_timestamp"
BAD_QUALITY_CODE = "bad_quality_code"
DUPLICATE_DATA_POINT = "duplicate_data_point"
MALFORMED_PAYLOAD = "malformed_payload"
BAD_SEVERITY = "bad_severity"
INVALID_CONFIGURATION = "invalid_configuration"
UNSUPPORTED_ITEM = "unsupported_item"


def valid_timestamp(text):
    if not isinstance(text, str) or not _TIMESTAMP.match(text):
        return False
    try:
        datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return False
    return True


def _int_in(text, bits):
    if not _INTEGER.match(text):
        return False
    return -(1 << (bits - 1)) <= int(text) < (1 << (bits - 1))


def type_error(dp_type, value):
    """None when the string `value` fits the data point type, else why not (§14; values are
    strings on the wire)."""
    if dp_type == "INT" and not _int_in(value, 32):
        return "not a 32-bit integer"
    if dp_type == "LONG" and not _int_in(value, 64):
        return "not a 64-bit integer"
    if dp_type == "DOUBLE" and not (_DECIMAL.match(value) and math.isfinite(float(value))):
        return "not a finite number"
    if dp_type == "BOOLEAN" and value not in ("true", "false"):
        return "not true or false"
    if dp_type == "STRING" and len(value) > MAX_STRING:
        return "longer than %d characters" % MAX_STRING
    if dp_type == "BIG_STRING" and len(value) > MAX_BIG_STRING:
        return "longer than %d characters" % MAX_BIG_STRING
    if dp_type == "TIMESTAMP" and not valid_timestamp(value):
        return "not a timestamp of the form YYYY-MM-DDTHH:mm:ss.SSSZ"
    return None


def _drop(reason, detail, **where):
    out = {"reason": reason, "detail": detail}
    out.update(where)
    return out


# --- the exchange ---------------------------------------------------------------------------

def _meta(raw, index):
    """The meta part as {"type", "version", "details"} of its payload; a meta part that is not
    this shape makes the body malformed (400)."""
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "item %d: the meta part is not valid JSON." % index)
    payload = meta.get("payload") if isinstance(meta, dict) else None
    if (not isinstance(payload, dict) or meta.get("type") != "item"
            or not isinstance(meta.get("version"), str)):
        raise ApiError(400, 'item %d: the meta part must be {"type":"item","version",'
                            '"payload":{...}}.' % index)
    kind, version = payload.get("type"), payload.get("version")
    details = payload.get("details", {})
    if not isinstance(kind, str) or not isinstance(version, str) or not isinstance(details, dict):
        raise ApiError(400, "item %d: the meta payload needs string type and version and an "
                            "object details." % index)
    return kind, version, details


def _json_payload(item):
    try:
        return json.loads(item["payload"].decode("utf-8")), None
    except (UnicodeDecodeError, ValueError):
        return None, _drop(MALFORMED_PAYLOAD, "the payload is not valid JSON")


def _points(agent):
    """data point id -> type of the agent's configuration."""
    if not agent.dsc:
        return {}
    return {p["id"]: p["type"] for s in agent.dsc["dataSources"] for p in s["dataPoints"]}


def _timeseries(ctx, details, item, out):
    configuration = details.get("configurationId")
    if not isinstance(configuration, str) or not ctx.agent.dsc or \
            configuration != ctx.agent.dsc.get("configurationId"):
        out["drops"].append(_drop(UNKNOWN_CONFIGURATION, "configurationId %r is not the agent's "
                                  "configuration" % (configuration,)))
        return
    entries, bad = _json_payload(item)
    if bad is None and not isinstance(entries, list):
        bad = _drop(MALFORMED_PAYLOAD, "the payload is not an array")
    if bad is not None:
        out["drops"].append(bad)
        return
    points = _points(ctx.agent)
    for e, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("values"), list):
            out["drops"].append(_drop(MALFORMED_PAYLOAD, "entry is not {timestamp, values[]}",
                                      entry=e))
            continue
        timestamp = entry.get("timestamp")
        if not valid_timestamp(timestamp):
            out["drops"].append(_drop(BAD_TIMESTAMP, "timestamp %r is not of the form "
                                      "YYYY-MM-DDTHH:mm:ss.SSSZ" % (timestamp,), entry=e,
                                      values=len(entry["values"])))
            continue
        accepted, seen = [], set()
        for v, value in enumerate(entry["values"]):
            where = {"entry": e, "value": v, "timestamp": timestamp}
            point = value.get("dataPointId") if isinstance(value, dict) else None
            if point is not None:
                where["dataPointId"] = point
            if (not isinstance(value, dict) or not isinstance(point, str)
                    or not isinstance(value.get("value"), str)
                    or not isinstance(value.get("qualityCode", "0"), str)):
                out["drops"].append(_drop(MALFORMED_PAYLOAD, "a value needs string dataPointId, "
                                          "value and qualityCode", **where))
                continue
            if point not in points:
                out["drops"].append(_drop(UNKNOWN_DATA_POINT, "data point %r is not in "
                                          "configuration %r" % (point, configuration), **where))
                continue
            if point in seen:
                out["drops"].append(_drop(DUPLICATE_DATA_POINT, "data point %r appears twice "
                                          "in one entry" % point, **where))
                continue
            problem = type_error(points[point], value["value"])
            if problem:
                out["drops"].append(_drop(WRONG_TYPE, "value %r for %s data point %r: %s"
                                          % (value["value"][:40], points[point], point, problem),
                                          **where))
                continue
            quality = value.get("qualityCode", "0")
            if not _QUALITY.match(quality) or int(quality) >= 1 << 32:
                out["drops"].append(_drop(BAD_QUALITY_CODE, "qualityCode %r is not a decimal "
                                          "uint32" % quality[:20], **where))
                continue
            seen.add(point)
            accepted.append({"dataPointId": point, "value": value["value"],
                             "qualityCode": quality})
        if accepted:
            ctx.data.store_entry(ctx.agent.id, configuration, timestamp, accepted, points,
                                 ctx.correlation, ctx.settings.whole_record)
            out["stored"] += len(accepted)


def _events(ctx, version, item, out):
    severities = _SEVERITIES[version]
    events, bad = _json_payload(item)
    if bad is None and (not isinstance(events, list) or not events):
        bad = _drop(MALFORMED_PAYLOAD, "the payload is not a non-empty array of events")
    if bad is not None:
        out["drops"].append(bad)
        return
    for e, event in enumerate(events):
        if not isinstance(event, dict):
            out["drops"].append(_drop(MALFORMED_PAYLOAD, "event is not an object", entry=e))
            continue
        where = {"entry": e}
        if isinstance(event.get("id"), str):
            where["eventId"] = event["id"]
        optional_ok = all(name not in event or isinstance(event[name], str)
                          for name in ("correlationId", "description", "type", "version"))
        if not isinstance(event.get("id"), str) or not event["id"] or not optional_ok or \
                not isinstance(event.get("details", {}), dict):
            out["drops"].append(_drop(MALFORMED_PAYLOAD, "an event needs a string id; "
                                      "correlationId, description, type, version strings and "
                                      "details an object", **where))
        elif not valid_timestamp(event.get("timestamp")):
            out["drops"].append(_drop(BAD_TIMESTAMP, "timestamp %r is not of the form "
                                      "YYYY-MM-DDTHH:mm:ss.SSSZ" % (event.get("timestamp"),),
                                      **where))
        elif isinstance(event.get("severity"), bool) or event.get("severity") not in severities:
            out["drops"].append(_drop(BAD_SEVERITY, "severity %r is not one of %s for "
                                      "businessEvent %s" % (event.get("severity"),
                                                            severities, version), **where))
        elif len(event.get("description", "")) > MAX_DESCRIPTION:
            out["drops"].append(_drop(MALFORMED_PAYLOAD, "description is longer than %d "
                                      "characters" % MAX_DESCRIPTION, **where))
        else:
            ctx.data.store_event(ctx.agent.id, event, version, ctx.correlation)
            out["stored"] += 1


def _file(ctx, details, item, out):
    name, created = details.get("fileName"), details.get("creationDate")
    if not isinstance(name, str) or not name or not isinstance(details.get("fileType", ""), str):
        out["drops"].append(_drop(MALFORMED_PAYLOAD, "file details need a fileName string "
                                  "(and fileType a string)"))
    elif not valid_timestamp(created):
        out["drops"].append(_drop(BAD_TIMESTAMP, "creationDate %r is not of the form "
                                  "YYYY-MM-DDTHH:mm:ss.SSSZ" % (created,)))
    else:
        ctx.data.store_file(ctx.agent.id, dict(details), item["payload"], ctx.correlation)
        out["stored"] += 1


def _configuration(ctx, item, out):
    config, bad = _json_payload(item)
    if bad is None and not isinstance(config, dict):
        bad = _drop(MALFORMED_PAYLOAD, "the payload is not a JSON object")
    if bad is not None:
        out["drops"].append(bad)
        return
    try:
        config = dsc.validate(config)
    except ApiError as exc:
        out["drops"].append(_drop(INVALID_CONFIGURATION, exc.message))
        return
    # exactly like a PUT: eTag + 1, mappings without keepMapping deleted (§7)
    dsc.store_configuration(ctx.store, ctx.agent, config)
    out["stored"] += 1
    out["eTag"] = str(ctx.agent.dsc_etag)


class _Context:
    def __init__(self, req, agent):
        self.agent = agent
        self.store = req.store
        self.data = req.app.data
        self.settings = req.settings
        self.correlation = req.correlation


def _process(ctx, index, kind, version, details, item):
    out = {"index": index, "type": kind, "version": version, "stored": 0, "drops": []}
    if kind == "standardTimeSeries" and version == "1.0":
        _timeseries(ctx, details, item, out)
    elif kind == "businessEvent" and version in _SEVERITIES:
        _events(ctx, version, item, out)
    elif kind == "file" and version == "1.0":
        _file(ctx, details, item, out)
    elif kind == "dataSourceConfiguration" and version == "1.0":
        _configuration(ctx, item, out)
    else:
        out["drops"].append(_drop(UNSUPPORTED_ITEM, "item type %s version %s is not supported"
                                  % (kind, version)))
    out["dropped"] = len(out["drops"])
    out["outcome"] = ("stored" if not out["drops"] else "dropped" if not out["stored"]
                      else "partial")
    return out


def exchange(req):
    """200 for every well-formed body, whatever its content; each item is stored or dropped
    with a reason, later readable per Correlation-ID (§14: processing is asynchronous on the
    real service, so drops never change the answer)."""
    agent = auth.require_agent(req)
    data = req.app.data
    record = {"seq": None, "correlationId": req.correlation, "agentId": agent.id,
              "time": time.time(), "bytes": len(req.body), "status": 200, "framing": None,
              "items": [], "itemCount": 0}
    try:
        try:
            items, framing = multipart.parse_exchange(req.headers.get("Content-Type"),
                                                      req.body)
        except multipart.MultipartError as exc:
            raise ApiError(400, "multi part body is not well formatted: %s" % exc)
        metas = [_meta(item["meta"], i) for i, item in enumerate(items)]
    except ApiError as exc:
        record.update(status=exc.status, error=exc.message)
        with data.lock:
            record["seq"] = data.next_seq()
            data.add_exchange(agent.id, record)
            data.notify()
        raise
    record["framing"] = framing
    record["itemCount"] = len(items)
    with req.store.lock, data.lock:  # always this order: store, then data
        ctx = _Context(req, agent)
        for i, (item, (kind, version, details)) in enumerate(zip(items, metas)):
            record["items"].append(_process(ctx, i, kind, version, details, item))
        agent.exchange_count += 1
        agent.exchange_bytes += len(req.body)
        req.store.mark_dirty()
        record["seq"] = data.next_seq()
        data.add_exchange(agent.id, record)
        data.notify()
    return Response(200)


# --- data point mappings --------------------------------------------------------------------

def create_mapping(req):
    """201 on create, 409 when the same mapping exists (Node relies on 409, §7.1)."""
    agent = auth.require_agent(req)
    body = req.json_object()
    for name in MAPPING_FIELDS:
        if not isinstance(body.get(name), str) or not body[name]:
            raise ApiError(400, "%s is required and must be a string." % name)
    keep = body.get("keepMapping", False)
    if not isinstance(keep, bool):
        raise ApiError(400, "keepMapping must be a boolean.")
    if body["agentId"] != agent.id:
        raise ApiError(403, "Agents may only create mappings for themselves.")
    with req.store.lock:
        if body["dataPointId"] not in _points(agent):
            raise ApiError(400, "dataPointId %s is not in the agent's data source configuration."
                           % body["dataPointId"])
    key = tuple(body[name] for name in MAPPING_FIELDS)
    with req.store.lock:
        if any(tuple(m[name] for name in MAPPING_FIELDS) == key for m in agent.mappings):
            raise ApiError(409, "Mapping already exists.")
        mapping = {"id": str(uuid.uuid4())}
        mapping.update({name: body[name] for name in MAPPING_FIELDS})
        mapping["keepMapping"] = keep
        mapping["validity"] = {"status": "VALID", "reasons": []}
        agent.mappings.append(mapping)
        req.store.mark_dirty()
        return Response(201, mapping)


def list_mappings(req):
    """The calling agent's mappings as one PagedMapping page (filters are not evaluated)."""
    agent = auth.require_agent(req)
    with req.store.lock:
        content = [dict(m) for m in agent.mappings]
    n = len(content)
    return Response(200, {"content": content, "last": True, "totalPages": 1, "totalElements": n,
                          "numberOfElements": n, "first": True, "sort": None, "size": max(n, 1),
                          "number": 0})
