"""Data source configuration: GET|PUT /agents/{id}/dataSourceConfiguration (docs/protocol.md §7).

The eTag is a decimal counter: "0" while never configured, +1 per successful PUT (or edit
through the admin API, standing in for an edit in the cloud UI).
"""

from . import auth
from .errors import ApiError
from .messages import Response

TYPES = ("INT", "LONG", "DOUBLE", "BOOLEAN", "STRING", "BIG_STRING", "TIMESTAMP")
MAX_CUSTOM_DATA = 5  # "A list of string tuples. Max 5 tuples allowed." (NODE-SDK, §7)


def _bad(message):
    return ApiError(400, message)


def _string(obj, name, where, limit, required=True, may_be_empty=False):
    field = where + name
    value = obj.get(name)
    if value is None:
        if required:
            raise _bad("%s is required." % field)
        return None
    if not isinstance(value, str):
        raise _bad("%s must be a string." % field)
    if required and not value and not may_be_empty:
        raise _bad("%s must not be empty." % field)
    if len(value) > limit:
        raise _bad("%s must be at most %d characters long (got %d)." % (field, limit, len(value)))
    return value


def _custom_data(obj, where):
    value = obj.get("customData")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad("%scustomData must be an object." % where)
    if len(value) > MAX_CUSTOM_DATA:
        raise _bad("%scustomData allows at most %d entries (got %d)."
                   % (where, MAX_CUSTOM_DATA, len(value)))
    return value


def _array(obj, name, where):
    value = obj.get(name)
    if value is None:
        raise _bad("%s%s is required." % (where, name))
    if not isinstance(value, list):
        raise _bad("%s%s must be an array." % (where, name))
    return value


def _optional(out, name, value):
    # absent stays absent: MCL's parser wants no nulls (§7)
    if value is not None:
        out[name] = value


def validate(config):
    """Check a configuration against §7 and return it with only the known fields, in a stable
    order. Raises ApiError(400) naming the offending field."""
    out = {"configurationId": _string(config, "configurationId", "", 36)}
    seen_ids = {}
    sources = []
    for i, source in enumerate(_array(config, "dataSources", "")):
        where = "dataSources[%d]." % i
        if not isinstance(source, dict):
            raise _bad("dataSources[%d] must be an object." % i)
        s = {"name": _string(source, "name", where, 64)}
        _optional(s, "description", _string(source, "description", where, 256, required=False))
        _optional(s, "customData", _custom_data(source, where))
        points = []
        for j, point in enumerate(_array(source, "dataPoints", where)):
            pwhere = "%sdataPoints[%d]." % (where, j)
            if not isinstance(point, dict):
                raise _bad("%sdataPoints[%d] must be an object." % (where, j))
            dp_id = _string(point, "id", pwhere, 36)
            if dp_id in seen_ids:
                # unique per configuration (AM-OAS) and per agent (DOC-UPL)
                raise _bad("%sid %r duplicates %sid." % (pwhere, dp_id, seen_ids[dp_id]))
            seen_ids[dp_id] = pwhere
            p = {"id": dp_id, "name": _string(point, "name", pwhere, 64)}
            _optional(p, "description", _string(point, "description", pwhere, 256, required=False))
            dp_type = point.get("type")
            if dp_type not in TYPES:
                raise _bad("%stype must be one of %s (case-sensitive)."
                           % (pwhere, ", ".join(TYPES)))
            p["type"] = dp_type
            p["unit"] = _string(point, "unit", pwhere, 32, may_be_empty=True)  # "Can be empty"
            _optional(p, "customData", _custom_data(point, pwhere))
            points.append(p)
        s["dataPoints"] = points
        sources.append(s)
    out["dataSources"] = sources
    return out


def view(agent):
    """The DataSourceConfiguration body: the stored fields + id + eTag; for a never-configured
    agent (with --dsc-unconfigured empty) no configurationId and no data sources."""
    body = dict(agent.dsc) if agent.dsc else {"dataSources": []}
    body["id"] = agent.dsc_id
    body["eTag"] = str(agent.dsc_etag)
    return body


def store_configuration(store, agent, config):
    """Replace the configuration and bump the eTag; delete the data point mappings without
    keepMapping and re-validate the others (MC-OAS, §7). Caller holds store.lock."""
    agent.dsc = config
    agent.dsc_etag += 1
    points = {p["id"] for s in config["dataSources"] for p in s["dataPoints"]}
    kept = []
    for mapping in agent.mappings:
        if not mapping.get("keepMapping"):
            continue
        valid = mapping["dataPointId"] in points
        mapping["validity"] = {"status": "VALID" if valid else "INVALID",
                               "reasons": [] if valid else ["MISSING_DATAPOINT"]}
        kept.append(mapping)
    agent.mappings = kept
    store.mark_dirty()


def get(req, agent_id):
    """A never-configured agent: 404 (AM-OAS, MCL) or 200 without configurationId (the Node
    SDK's live test), by --dsc-unconfigured; docs/protocol.md §7 marks this CONTESTED."""
    agent = auth.require_agent(req, agent_id)
    with req.store.lock:
        if agent.dsc is None and req.settings.dsc_unconfigured == "404":
            raise ApiError(404, "Data source configuration of agent %s not found." % agent_id)
        return Response(200, view(agent))


def _if_match(value):
    """Node sends the bare counter (`If-Match: 0`); a quoted or weak tag is read the same way."""
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')


def put(req, agent_id):
    agent = auth.require_agent(req, agent_id)
    body = req.json_object()
    if_match = req.headers.get("If-Match")
    if if_match is None:
        # required by AM-OAS; a missing required header is a 400 there
        raise ApiError(400, "Required request header 'If-Match' is not present.")
    config = validate(body)
    with req.store.lock:
        if _if_match(if_match) != str(agent.dsc_etag):
            raise ApiError(412, "Resource not found with given the condition.")
        store_configuration(req.store, agent, config)
        return Response(200, view(agent))
