"""Where an agent learns what became of its exchange items (docs/protocol.md §9, §14):
diagnostic activations and their messages, and recoverable records, both keyed by the
exchange request's Correlation-ID. Agents see and manage their own only (MC-OAS)."""

import json
import uuid

from . import auth
from .datastore import MAX_ACTIVATIONS_PER_TENANT
from .errors import ApiError
from .messages import Response

STATUSES = ("ACTIVE", "INACTIVE")


def _paged(req, items):
    """A Spring-style page (MC-OAS Paged*): ?size= (default 20), ?page= (0-based)."""
    try:
        size = int(req.query.get("size", ["20"])[0])
        page = int(req.query.get("page", ["0"])[0])
    except ValueError:
        raise ApiError(400, "size and page must be integers.")
    if size < 1 or page < 0:
        raise ApiError(400, "size must be positive and page not negative.")
    total = len(items)
    content = items[page * size:(page + 1) * size]
    pages = (total + size - 1) // size
    return Response(200, {"content": content, "last": page >= pages - 1, "totalPages": pages,
                          "totalElements": total, "numberOfElements": len(content),
                          "first": page == 0, "sort": None, "size": size, "number": page})


def _filter(req):
    """The JSON ?filter= as a dict of exact matches."""
    raw = req.query.get("filter", [None])[0]
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise ApiError(400, "filter is not valid JSON.")
    if not isinstance(value, dict):
        raise ApiError(400, "filter must be a JSON object.")
    return value


def _matches(entry, wanted):
    return all(entry.get(k) == v for k, v in wanted.items())


def _public(activation):
    return {k: activation[k] for k in ("id", "agentId", "status")}


def _own_activation(req, agent, activation_id):
    activation = req.app.data.activations.get(activation_id)
    if activation is None:
        raise ApiError(404, "Diagnostic activation %s not found." % activation_id)
    if activation["agentId"] != agent.id:
        raise ApiError(403, "Agents may only manage their own diagnostic activation.")
    return activation


def _status(body, default=None):
    status = body.get("status", default)
    if status not in STATUSES:
        raise ApiError(400, "status must be ACTIVE or INACTIVE.")
    return status


def create_activation(req):
    """201; 403 for another agent; 409 when the agent has one; 400 beyond 5 active agents in
    the tenant (MC-OAS)."""
    agent = auth.require_agent(req)
    body = req.json_object()
    if body.get("agentId") != agent.id:
        raise ApiError(403, "Agents may only create a diagnostic activation for themselves.")
    status = _status(body, "ACTIVE")
    data = req.app.data
    with req.store.lock, data.lock:
        if any(a["agentId"] == agent.id for a in data.activations.values()):
            raise ApiError(409, "A diagnostic activation for agent %s exists." % agent.id)
        if status == "ACTIVE":
            _check_tenant_limit(req, agent)
        activation = {"id": str(uuid.uuid4()), "agentId": agent.id, "status": status,
                      "messages": []}
        data.activations[activation["id"]] = activation
        return Response(201, _public(activation))


def _check_tenant_limit(req, agent):
    active = [a for a in req.app.data.activations.values() if a["status"] == "ACTIVE"
              and a["agentId"] != agent.id and req.store.get(a["agentId"]) is not None
              and req.store.get(a["agentId"]).tenant == agent.tenant]
    if len(active) >= MAX_ACTIVATIONS_PER_TENANT:
        raise ApiError(400, "At most %d agents per tenant can be activated."
                       % MAX_ACTIVATIONS_PER_TENANT)


def list_activations(req):
    agent = auth.require_agent(req)
    with req.app.data.lock:
        own = [_public(a) for a in req.app.data.activations.values() if a["agentId"] == agent.id]
    return _paged(req, own)


def get_activation(req, activation_id):
    agent = auth.require_agent(req)
    with req.app.data.lock:
        return Response(200, _public(_own_activation(req, agent, activation_id)))


def update_activation(req, activation_id):
    agent = auth.require_agent(req)
    status = _status(req.json_object())
    with req.store.lock, req.app.data.lock:
        activation = _own_activation(req, agent, activation_id)
        if status == "ACTIVE" and activation["status"] != "ACTIVE":
            _check_tenant_limit(req, agent)
        activation["status"] = status
        return Response(200, _public(activation))


def delete_activation(req, activation_id):
    agent = auth.require_agent(req)
    with req.app.data.lock:
        _own_activation(req, agent, activation_id)
        del req.app.data.activations[activation_id]
    return Response(204)


def activation_messages(req, activation_id):
    """Messages recorded while the activation was ACTIVE; ?filter={"correlationId":…} (also
    message, source, severity, state, timestamp)."""
    agent = auth.require_agent(req)
    wanted = _filter(req)
    with req.app.data.lock:
        activation = _own_activation(req, agent, activation_id)
        messages = [m for m in activation["messages"] if _matches(m, wanted)]
    return _paged(req, messages)


def list_recoverable(req):
    """The caller's dropped records, oldest first; ?filter={"correlationId":…}."""
    agent = auth.require_agent(req)
    wanted = _filter(req)
    with req.app.data.lock:
        records = [dict(r) for r in req.app.data.recoverable.values()
                   if r["agentId"] == agent.id and _matches(r, wanted)]
    return _paged(req, records)


def delete_recoverable(req, record_id):
    agent = auth.require_agent(req)
    with req.app.data.lock:
        record = req.app.data.recoverable.get(record_id)
        if record is None or record["agentId"] != agent.id:
            raise ApiError(404, "Recoverable record %s not found." % record_id)
        del req.app.data.recoverable[record_id]
    return Response(204)
