"""The /_admin/ API: a test tool, loopback only, admin token required. Errors use the
management family. Admin requests are not written to the request log."""

import re
import uuid

from . import boarding, dsc
from .errors import ApiError
from .faults import MAX_OUTAGE, OUTAGE_MODES, FaultError
from .messages import Response
from .routes import Route
from .state import Agent, ONBOARDED, ONBOARDING, PROFILES, SHARED_SECRET, SettingsError

_AGENT_ID = re.compile(r"^[A-Za-z0-9-]{1,36}$")  # ClientId maxLength 36 (docs/protocol.md §1)
DEFAULT_TENANT = "tenant01"


def _agent(req, agent_id):
    agent = req.store.get(agent_id)
    if agent is None:
        raise ApiError(404, "Agent %s not found." % agent_id)
    return agent


def _optional_string(body, name, default, limit):
    value = body.get(name, default)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise ApiError(400, "%s must be a non-empty string of at most %d characters."
                       % (name, limit))
    return value


# --- agents --------------------------------------------------------------------------------

def create_agent(req):
    """{"profile", "name", optional "tenant", "iat_lifetime" (s, may be negative), "id"}
    -> 201 {"id", "boarding"}; the agent is ONBOARDING (config generated, docs/protocol.md §2)."""
    body = req.json_object()
    profile = body.get("profile")
    if profile not in PROFILES:
        raise ApiError(400, "profile must be one of " + ", ".join(PROFILES) + ".")
    agent_id = body.get("id", uuid.uuid4().hex)
    if not isinstance(agent_id, str) or not _AGENT_ID.match(agent_id):
        raise ApiError(400, "id must be 1-36 characters of letters, digits and '-'.")
    name = _optional_string(body, "name", "agent-" + agent_id[:8], 128)
    tenant = _optional_string(body, "tenant", DEFAULT_TENANT, 36)
    lifetime = body.get("iat_lifetime")
    if lifetime is not None and (isinstance(lifetime, bool) or not isinstance(lifetime, int)):
        raise ApiError(400, "iat_lifetime must be an integer number of seconds.")
    store = req.store
    with store.lock:
        if agent_id in store.agents:
            raise ApiError(409, "Agent %s already exists." % agent_id)
        agent = Agent(id=agent_id, name=name, profile=profile, tenant=tenant, status=ONBOARDING)
        store.agents[agent_id] = agent
        boarding.issue_iat(req.app, agent, lifetime)
        return Response(201, {"id": agent_id, "boarding": boarding.boarding_config(req.app, agent)})


def list_agents(req):
    with req.store.lock:
        return Response(200, [{"id": a.id, "name": a.name, "profile": a.profile,
                               "status": a.status} for a in req.store.agents.values()])


def get_agent(req, agent_id):
    with req.store.lock:
        return Response(200, _agent(req, agent_id).public_view())


def edit_configuration(req, agent_id):
    """Stands in for an edit in the cloud UI: replaces the server copy, bumps the eTag."""
    config = dsc.validate(req.json_object())
    with req.store.lock:
        agent = _agent(req, agent_id)
        dsc.store_configuration(req.store, agent, config)
        return Response(200, dsc.view(agent))


def set_client_secret(req, agent_id):
    """Replace the current client secret, so a test can send a known-answer assertion
    (the docs/protocol.md §6.2 vector)."""
    secret = _optional_string(req.json_object(), "client_secret", None, 256)
    with req.store.lock:
        agent = _agent(req, agent_id)
        if agent.profile != SHARED_SECRET or agent.status != ONBOARDED:
            raise ApiError(409, "Only an onboarded SHARED_SECRET agent has a client secret.")
        agent.client_secret = secret
        agent.secret_history.append(secret)
        req.store.mark_dirty()
        return Response(200, agent.public_view())


# --- what the exchange stored ----------------------------------------------------------------

def _query(req, name, default=None):
    return req.query.get(name, [default])[0]


def _number(req, name, default, minimum=0):
    value = _query(req, name)
    if value is None:
        return default
    try:
        number = float(value) if "." in value else int(value)
    except ValueError:
        raise ApiError(400, "%s must be a number." % name)
    if number < minimum:
        raise ApiError(400, "%s must be at least %s." % (name, minimum))
    return number


def get_timeseries(req, agent_id):
    """Every stored value, by timestamp then data point; ?dataPointId=, ?from= (inclusive),
    ?to= (exclusive) in the exchange timestamp form."""
    values = req.app.data.timeseries(agent_id, _query(req, "dataPointId"), _query(req, "from"),
                                     _query(req, "to"))
    return Response(200, {"count": len(values), "values": values})


def get_events(req, agent_id):
    return Response(200, req.app.data.events(agent_id))


def get_files(req, agent_id):
    return Response(200, req.app.data.files(agent_id))


def get_exchanges(req, agent_id=None):
    """One record per exchange request; ?correlationId=, ?since=SEQ."""
    return Response(200, req.app.data.exchanges(agent_id, _query(req, "correlationId"),
                                                _number(req, "since", 0)))


_WAITS = {"wait_for": "values", "wait_for_values": "values", "wait_for_events": "events",
          "wait_for_files": "files", "wait_for_exchanges": "exchanges"}
MAX_WAIT = 300


def get_counts(req, agent_id):
    """{"values","events","files","exchanges","duplicates","reached"}. A long poll with
    ?wait_for=N (values), ?wait_for_events=N, ?wait_for_files=N, ?wait_for_exchanges=N and
    ?timeout=S (default 30, at most 300): answers as soon as every named count is reached, or
    at the timeout with "reached": false."""
    minimum = {}
    for name, count in _WAITS.items():
        value = _number(req, name, None)
        if value is not None:
            minimum[count] = max(minimum.get(count, 0), value)
    timeout = min(_number(req, "timeout", 30), MAX_WAIT)
    counts, reached = req.app.data.wait_for(agent_id, minimum, timeout if minimum else 0)
    counts["reached"] = reached
    return Response(200, counts)


def clear_data(req, agent_id):
    req.app.data.clear(agent_id)
    return Response(200, {"cleared": agent_id})


# --- request log, faults, settings ---------------------------------------------------------

def get_requests(req):
    since = req.query.get("since", ["0"])[0]
    try:
        since = int(since)
    except ValueError:
        raise ApiError(400, "since must be an integer.")
    return Response(200, req.app.log.since(since))


def clear_requests(req):
    return Response(200, {"removed": req.app.log.clear()})


def add_fault(req):
    try:
        fault = req.app.faults.add(req.json_object())
    except FaultError as exc:
        raise ApiError(400, str(exc))
    return Response(201, fault.describe())


def list_faults(req):
    return Response(200, req.app.faults.list())


def clear_faults(req):
    return Response(200, {"removed": req.app.faults.clear()})


def start_outage(req):
    """{"seconds", "mode": "refuse"|"close"|"reset"} -> the outage begins before the answer."""
    body = req.json_object()
    seconds, mode = body.get("seconds"), body.get("mode", "refuse")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or \
            not 0 < seconds <= MAX_OUTAGE:
        raise ApiError(400, "seconds must be a number in (0, %d]." % MAX_OUTAGE)
    if mode not in OUTAGE_MODES:
        raise ApiError(400, "mode must be one of " + ", ".join(OUTAGE_MODES) + ".")
    req.app.server.start_outage(seconds, mode)
    return Response(200, req.app.outage.describe())


def get_outage(req):
    return Response(200, req.app.outage.describe())


def end_outage(req):
    req.app.outage.end()
    return Response(200, req.app.outage.describe())


def get_settings(req):
    return Response(200, req.settings.as_dict())


def change_settings(req):
    try:
        req.settings.update(req.json_object())
    except SettingsError as exc:
        raise ApiError(400, str(exc))
    return Response(200, req.settings.as_dict())


_ID = "(?P<agent_id>[^/]+)"

ADMIN_ROUTES = [
    Route("POST", "/_admin/agents", create_agent),
    Route("GET", "/_admin/agents", list_agents),
    Route("GET", "/_admin/agents/" + _ID, get_agent),
    Route("PUT", "/_admin/agents/" + _ID + "/dataSourceConfiguration", edit_configuration),
    Route("PUT", "/_admin/agents/" + _ID + "/client_secret", set_client_secret),
    Route("GET", "/_admin/agents/" + _ID + "/timeseries", get_timeseries),
    Route("GET", "/_admin/agents/" + _ID + "/events", get_events),
    Route("GET", "/_admin/agents/" + _ID + "/files", get_files),
    Route("GET", "/_admin/agents/" + _ID + "/exchanges", get_exchanges),
    Route("GET", "/_admin/agents/" + _ID + "/counts", get_counts),
    Route("DELETE", "/_admin/agents/" + _ID + "/data", clear_data),
    Route("GET", "/_admin/exchanges", get_exchanges),
    Route("GET", "/_admin/requests", get_requests),
    Route("DELETE", "/_admin/requests", clear_requests),
    # Faults may carry large bodies: an oversized answer is itself a fault to inject.
    Route("POST", "/_admin/faults", add_fault, body_limit=8 * 1024 * 1024),
    Route("GET", "/_admin/faults", list_faults),
    Route("DELETE", "/_admin/faults", clear_faults),
    Route("POST", "/_admin/outage", start_outage),
    Route("GET", "/_admin/outage", get_outage),
    Route("DELETE", "/_admin/outage", end_outage),
    Route("GET", "/_admin/settings", get_settings),
    Route("POST", "/_admin/settings", change_settings),
]
