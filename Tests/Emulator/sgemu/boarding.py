"""Boarding configuration, status and offboarding (docs/protocol.md §2, §8).

These are operator calls (user or service credentials on the real service); here they are
authorized with the emulator's admin token.
"""

import time

from . import auth, issuer
from .errors import ApiError
from .messages import Response
from .state import NOT_ONBOARDED, ONBOARDING


def issue_iat(app, agent, lifetime=None):
    """Mint a new IAT for the agent; the previous one (if unused) stops working.
    Caller holds store.lock."""
    settings = app.settings
    token, jti, exp = issuer.mint_iat(app.store, app.base_url, agent, settings.now(),
                                      settings.iat_lifetime if lifetime is None else lifetime)
    agent.iat, agent.iat_jti, agent.iat_exp = token, jti, exp
    app.store.mark_dirty()


def boarding_config(app, agent):
    """The boarding JSON exactly as an operator downloads it (docs/protocol.md §2)."""
    return {"content": {"baseUrl": app.base_url,
                        "iat": agent.iat,
                        "clientCredentialProfile": [agent.profile],
                        "clientId": agent.id,
                        "tenant": agent.tenant},
            "expiration": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(agent.iat_exp))}


def _agent(req, agent_id):
    agent = req.store.get(agent_id)
    if agent is None:
        raise ApiError(404, "Agent %s not found." % agent_id)
    return agent


def get_status(req, agent_id):
    auth.require_admin(req)
    with req.store.lock:
        return Response(200, {"status": _agent(req, agent_id).status})


def offboard(req, agent_id):
    """Invalidates secret, keys, RATs, access tokens and the unused IAT; 409 when there is
    nothing to offboard (docs/protocol.md §8)."""
    auth.require_admin(req)
    with req.store.lock:
        agent = _agent(req, agent_id)
        if agent.status == NOT_ONBOARDED:
            raise ApiError(409, "Agent %s is not onboarded." % agent_id)
        agent.drop_credentials()
        agent.iat = agent.iat_jti = agent.iat_exp = None
        agent.status = NOT_ONBOARDED
        req.store.mark_dirty()
        return Response(200, {"status": agent.status})


def get_configuration(req, agent_id):
    """Hands out the current boarding configuration while its IAT is still usable; otherwise
    (offboarded, IAT consumed or expired) a new one with a new IAT, as `mc renew-agent` gets."""
    auth.require_admin(req)
    store = req.store
    with store.lock:
        agent = _agent(req, agent_id)
        usable = (agent.iat is not None and agent.iat_jti not in store.consumed_iats
                  and agent.iat_exp > req.settings.now())
        if not usable:
            issue_iat(req.app, agent)
        if agent.status == NOT_ONBOARDED:
            agent.status = ONBOARDING  # config generated (docs/protocol.md §2)
        return Response(200, boarding_config(req.app, agent))
