"""Onboarding (POST /register, docs/protocol.md §4) and credential rotation
(PUT /register/{id}, docs/protocol.md §5). Errors use the IAM body family."""

import secrets

from . import auth, issuer, jose
from .errors import ApiError
from .messages import Response
from .state import ONBOARDED, RSA_3072, SHARED_SECRET

IAT_CAT = "initial-access-token:v1"
RAT_CAT = "registration-access-token:v1"

_AUTH_METHOD = {SHARED_SECRET: "client_secret_jwt", RSA_3072: "private_key_jwt"}  # §4 [INFERRED]


def _unauthorized(reason):
    return ApiError(401, "Token validation failed. " + reason, code="token_validation_failed")


def _bearer(req):
    token = auth.bearer_token(req.headers)
    if token is None:
        raise ApiError(400, "Header is missing.", code="invalid_authorization_header")
    return token


def _busy():
    return ApiError(429, "There is already an ongoing registration process for the agent.",
                    code="too_many_requests")


# --- request bodies ------------------------------------------------------------------------

def _registration_key(profile, body):
    """The JWK a request registers: None for SHARED_SECRET, an RSA-3072 JWK (e = 65537,
    n/e padded or not) for RSA_3072. A body that does not fit the profile is a 400."""
    if profile == SHARED_SECRET:
        if "jwks" in body:
            raise ApiError(400, "Agent profile SHARED_SECRET does not take a jwks.")
        return None
    jwks = body.get("jwks")
    if not isinstance(jwks, dict):
        raise ApiError(400, "Agent profile RSA_3072 requires a jwks object.")
    keys = jwks.get("keys")
    if not isinstance(keys, list) or len(keys) != 1 or not isinstance(keys[0], dict):
        raise ApiError(400, "jwks.keys must hold exactly one key.")
    key = keys[0]
    for name in ("e", "n", "kty", "kid"):  # AM-OAS Key required: [e, n, kty, kid] (§4)
        if not isinstance(key.get(name), str) or not key[name]:
            raise ApiError(400, "jwks.keys[0].%s is required and must be a string." % name)
    if key["kty"] != "RSA":
        raise ApiError(400, "jwks.keys[0].kty must be RSA.")
    try:
        n = jose.b64url_to_int(key["n"])
        e = jose.b64url_to_int(key["e"])
    except jose.JoseError:
        raise ApiError(400, "jwks.keys[0].n and .e must be base64url.")
    if n.bit_length() != 3072:
        raise ApiError(400, "jwks.keys[0] must be a 3072-bit RSA key (got %d bits)."
                       % n.bit_length())
    if e != 65537:
        raise ApiError(400, "jwks.keys[0].e must be 65537 (AQAB).")
    return {"e": jose.int_to_b64url(e), "n": jose.int_to_b64url(n), "kty": "RSA",
            "kid": key["kid"]}


# --- credentials ---------------------------------------------------------------------------

def _issue_credentials(req, agent, jwk, keep_previous):
    """New secret (SHARED_SECRET) or the given key (RSA_3072), new expiry and a new RAT.
    Caller holds store.lock."""
    now = req.settings.now()
    if agent.profile == SHARED_SECRET:
        agent.previous_secret = agent.client_secret if keep_previous else None
        # a "256bit" key used as a literal string (§4): 43 chars of base64url
        agent.client_secret = secrets.token_urlsafe(32)
        agent.secret_history.append(agent.client_secret)
    else:
        agent.previous_key = agent.public_key if keep_previous else None
        agent.public_key = jwk
        agent.key_history.append(jose.public_key_to_pem(jose.public_key_from_jwk(jwk)))
    agent.secret_expires_at = int(now) + req.settings.secret_lifetime
    agent.rat = issuer.mint_rat(req.store, req.base_url, agent, now, agent.secret_expires_at)
    req.store.mark_dirty()


def _client_identifier(req, agent):
    """AM-OAS ClientIdentifier (§4); registration_client_uri is our own absolute URL because
    clients PUT to it verbatim."""
    ident = {"client_id": agent.id}
    if agent.profile == SHARED_SECRET:
        ident["client_secret"] = agent.client_secret
    ident.update({
        "client_secret_expires_at": agent.secret_expires_at,  # present for RSA too (§4)
        "grant_types": [agent.profile],
        "registration_access_token": agent.rat,
        "registration_client_uri": req.base_url + "/api/agentmanagement/v3/register/" + agent.id,
        "token_endpoint_auth_method": _AUTH_METHOD[agent.profile],
    })
    return ident


# --- POST /register ------------------------------------------------------------------------

def _check_iat(req, token):
    """The agent an IAT onboards: our signature, not expired on the server clock, not used
    before, and the IAT currently issued to that agent (§3, §4). Caller holds store.lock."""
    try:
        claims = issuer.verify_own(req.store, token)
    except jose.JoseError as exc:
        raise _unauthorized("The IAT is invalid: %s." % exc)
    if claims.get("cat") != IAT_CAT:
        raise _unauthorized("The token is not an initial access token.")
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or req.settings.now() >= exp:
        raise _unauthorized("The IAT has expired.")
    if claims.get("jti") in req.store.consumed_iats:
        raise _unauthorized("The IAT has already been used.")
    agent = req.store.get(claims.get("sub"))
    if agent is None:
        raise _unauthorized("The IAT names an unknown agent.")
    if agent.iat_jti != claims.get("jti"):
        raise _unauthorized("The IAT has been replaced by a newer boarding configuration.")
    return agent, claims["jti"]


def onboard(req):
    token = _bearer(req)
    store = req.store
    with store.lock:
        agent, _ = _check_iat(req, token)
    lock = store.registration_lock(agent.id)
    if not lock.acquire(blocking=False):
        raise _busy()
    try:
        req.apply_pending_delay()
        jwk = _registration_key(agent.profile, req.json_object())
        with store.lock:
            agent, jti = _check_iat(req, token)  # again: it may have changed meanwhile
            # the IAT is consumed only by a successful registration
            store.consumed_iats.add(jti)
            # a valid new IAT re-onboards an onboarded agent: old credentials are replaced
            agent.drop_credentials()
            _issue_credentials(req, agent, jwk, keep_previous=False)
            agent.rat_previous = None
            agent.status = ONBOARDED
            agent.onboard_count += 1
            return Response(201, _client_identifier(req, agent))  # MCL requires exactly 201
    finally:
        lock.release()


# --- PUT /register/{id} --------------------------------------------------------------------

def _check_rat(req, agent, token):
    """Accept the current RAT and the RAT used for the last successful rotation, nothing
    older (§5.2, the NODE-T-AUTH sequence). Caller holds store.lock."""
    if agent.status != ONBOARDED:
        raise _unauthorized("The agent is not onboarded.")
    if token not in (agent.rat, agent.rat_previous):
        raise _unauthorized("The registration access token is not valid for this agent.")
    if req.settings.now() >= agent.secret_expires_at and \
            req.settings.rotation_after_expiry == "refuse":
        # CONTESTED (§5.1): "onboard again" (Node docs, maintainer) vs. a RAT valid
        # indefinitely (MCL's documented recovery); --rotation-after-expiry picks one
        raise _unauthorized("The client secret has expired.")


def rotate(req, agent_id):
    token = _bearer(req)
    store = req.store
    try:
        issuer.verify_own(store, token)
    except jose.JoseError as exc:
        raise _unauthorized("The registration access token is invalid: %s." % exc)
    with store.lock:
        agent = store.get(agent_id)
        if agent is None:
            raise _unauthorized("Unknown agent.")
        _check_rat(req, agent, token)
    lock = store.registration_lock(agent.id)
    if not lock.acquire(blocking=False):
        raise _busy()
    try:
        req.apply_pending_delay()
        body = req.json_object()
        client_id = body.get("client_id")
        if client_id is None and agent.profile == SHARED_SECRET:
            # MCL sends exactly {"client_id":"…"}; GO omits it for RSA (§5)
            raise ApiError(400, "client_id is required.")
        if client_id is not None and client_id != agent_id:
            raise ApiError(400, "client_id does not match the agent in the path.")
        # RSA: a new key (MCL) and the identical key (Node) are both accepted (§5)
        jwk = _registration_key(agent.profile, body)
        with store.lock:
            _check_rat(req, agent, token)
            _issue_credentials(req, agent, jwk, keep_previous=True)
            agent.rat_previous = token
            agent.rotation_count += 1
            return Response(200, _client_identifier(req, agent))  # MCL accepts only 200
    finally:
        lock.release()
