"""MindConnect API calls an agent makes with its access token (docs/protocol.md §7.1, §9):
exchange (accepted and counted, not parsed) and data point mappings."""

import uuid

from . import auth
from .errors import ApiError
from .messages import Response

MAX_EXCHANGE_BYTES = 10485760  # 10 MB (MC-OAS; MCL_MAXIMUM_HTTP_PAYLOAD_SIZE), §9
MAPPING_FIELDS = ("agentId", "dataPointId", "entityId", "propertySetName", "propertyName")


def exchange(req):
    agent = auth.require_agent(req)
    content_type = req.headers.get("Content-Type", "")
    if not content_type.lower().startswith("multipart/mixed") or "boundary=" not in content_type:
        raise ApiError(400, "Content-Type must be multipart/mixed with a boundary.")
    with req.store.lock:
        agent.exchange_count += 1
        agent.exchange_bytes += len(req.body)
        req.store.mark_dirty()
    return Response(200)


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
    key = tuple(body[name] for name in MAPPING_FIELDS)
    with req.store.lock:
        if any(tuple(m[name] for name in MAPPING_FIELDS) == key for m in agent.mappings):
            raise ApiError(409, "Mapping already exists.")
        mapping = {"id": str(uuid.uuid4())}
        mapping.update({name: body[name] for name in MAPPING_FIELDS})
        mapping["keepMapping"] = keep
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
