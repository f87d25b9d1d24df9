"""Bearer tokens: parsing, agent access tokens, the admin token."""

import hmac

from . import issuer, jose
from .errors import ApiError


def bearer_token(headers):
    """The token of an `Authorization: Bearer <token>` header, or None."""
    value = headers.get("Authorization")
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_admin(req):
    """Operator calls (boarding endpoints, /_admin/) use the emulator's admin token in place of
    user or service credentials."""
    token = bearer_token(req.headers)
    if token is None or not hmac.compare_digest(token.encode(), req.app.admin_token.encode()):
        raise ApiError(401, "Full authentication is required to access this resource.")


def require_agent(req, agent_id=None):
    """The agent of a valid access token (docs/protocol.md §6.6): our signature, not expired on the
    server clock, issued to an agent that has not been offboarded since, and - when the path
    names an agent - issued to that agent. Anything else is 401 (management family)."""
    token = bearer_token(req.headers)
    if token is None:
        raise ApiError(401, "Full authentication is required to access this resource.")
    try:
        claims = issuer.verify_own(req.store, token)
    except jose.JoseError as exc:
        raise ApiError(401, "Access token is invalid: %s." % exc)
    if claims.get("cat") != "agent-token:v1":
        raise ApiError(401, "Access token is invalid: not an agent access token.")
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)) or req.settings.now() >= exp:
        raise ApiError(401, "Access token expired.")
    store = req.store
    with store.lock:
        agent = store.get(claims.get("sub"))
        if agent is None or claims.get("jti") not in agent.access_jtis:
            raise ApiError(401, "Access token is no longer valid (agent offboarded).")
        if agent_id is not None and agent.id != agent_id:
            raise ApiError(401, "Access token was issued to another agent.")
        return agent
