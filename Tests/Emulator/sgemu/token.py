"""Access tokens: POST /oauth/token (docs/protocol.md §6.1-§6.4) and the verification key,
GET /oauth/token_key(s) (§6.5)."""

import math
from urllib.parse import unquote

from . import issuer, jose
from .errors import ApiError
from .messages import Response
from .state import ONBOARDED, SHARED_SECRET

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLIENT_SCHEMA = "urn:siemens:mindsphere:v1"
AUDIENCE = "southgate"
MAX_ASSERTION_LIFETIME = 7 * 86400  # the DOC-TOK sample uses 604800 s (§6.2)
FIELDS = ("grant_type", "client_assertion_type", "client_assertion")


def _bad_request(message):
    return ApiError(400, message, code="invalid_request")


def _bad_client(message):
    return ApiError(400, message, code="invalid_client")


def parse_form(body):
    """application/x-www-form-urlencoded, split on '&' and on the FIRST '=' of each pair:
    MCL sends raw ':' and '=' padding (§6.1, §13). Values are percent-decoded but '+' is kept
    as '+': no valid value holds a space, and a raw assertion may hold '+' (DOC-TOK, §6.2)."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise _bad_request("The request body is not a URL-encoded form.")
    fields = {}
    for pair in text.split("&"):
        if not pair:
            continue
        name, sep, value = pair.partition("=")
        if not sep:
            raise _bad_request("Malformed form field %r." % unquote(name)[:40])
        name, value = unquote(name), unquote(value)
        if name in fields:
            raise _bad_request("Duplicate parameter: %s." % name)
        fields[name] = value
    return fields


def _check_form(req, fields):
    for name in FIELDS:
        if name not in fields:
            raise _bad_request("Missing parameter: %s." % name)
    for name in fields:
        if name not in FIELDS:
            # no client_id field, no other parameters (§6.1)
            raise _bad_request("Unexpected parameter: %s." % name)
    if fields["grant_type"] != "client_credentials" and not req.settings.accept_any_grant_type:
        raise ApiError(400, "grant_type must be client_credentials.", code="unsupported_grant_type")
    if fields["client_assertion_type"] != ASSERTION_TYPE:
        raise _bad_request("client_assertion_type must be %s." % ASSERTION_TYPE)


def _number(claims, name, required=True):
    value = claims.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad_client("Claim %s is missing or not a number." % name)
    return value


def _check_claims(claims, tenant, now, tolerance):
    """aud, schemas, ten, jti and the times, against the server clock with the configured
    tolerance (§6.2, §10.3). jti is not checked for replay (a public agent reuses one)."""
    aud = claims.get("aud")
    if not (aud == AUDIENCE or isinstance(aud, list) and AUDIENCE in aud):
        raise _bad_client("Claim aud must be \"southgate\" or an array containing it.")
    schemas = claims.get("schemas")
    if not isinstance(schemas, list) or CLIENT_SCHEMA not in schemas:
        raise _bad_client("Claim schemas must contain %s." % CLIENT_SCHEMA)
    if claims.get("ten") != tenant:
        raise _bad_client("Claim ten does not match the agent's tenant.")
    if not isinstance(claims.get("jti"), str) or not claims["jti"]:
        raise _bad_client("Claim jti is missing.")
    iat = _number(claims, "iat")
    exp = _number(claims, "exp")
    nbf = _number(claims, "nbf", required=False)
    if exp < now - tolerance:
        raise _bad_client("The client assertion has expired (exp %d, server time %d)." % (exp, now))
    if iat > now + tolerance:
        raise _bad_client("The client assertion is issued in the future (iat %d, server time %d)."
                          % (iat, now))
    if nbf is not None and nbf > now + tolerance:
        raise _bad_client("The client assertion is not valid yet (nbf %d, server time %d)."
                          % (nbf, now))
    if exp <= iat or exp - iat > MAX_ASSERTION_LIFETIME:
        raise _bad_client("The client assertion lifetime must be positive and at most 7 days.")


def _verify_signature(jwt, agent, accept_previous):
    """HS256 with the client_secret for SHARED_SECRET agents; RS256/RS384/RS512 with the
    registered key for RSA_3072 agents (§6.2). The previous secret/key counts only when the
    emulator is told to accept it (§5.2: unknown on the real service)."""
    if agent.profile == SHARED_SECRET:
        candidates = [agent.client_secret]
        if accept_previous and agent.previous_secret:
            candidates.append(agent.previous_secret)
        if jwt.alg != "HS256":
            raise _bad_client("SHARED_SECRET clients sign the assertion with HS256.")
        verify = jwt.verify_hs256
    else:
        candidates = [jose.public_key_from_jwk(agent.public_key)]
        if accept_previous and agent.previous_key:
            candidates.append(jose.public_key_from_jwk(agent.previous_key))
        if jwt.alg not in jose.RSA_HASHES:
            raise _bad_client("RSA_3072 clients sign the assertion with RS256, RS384 or RS512.")
        verify = jwt.verify_rsa
    for candidate in candidates:
        try:
            verify(candidate)
            return
        except jose.JoseError:
            pass
    raise _bad_client("The client assertion signature is invalid.")


def _issue(req):
    fields = parse_form(req.body)
    _check_form(req, fields)
    try:
        jwt = jose.ParsedJWT(fields["client_assertion"])
    except jose.JoseError as exc:
        raise _bad_request("client_assertion is not a JWT: %s." % exc)
    iss, sub = jwt.claims.get("iss"), jwt.claims.get("sub")
    if not isinstance(sub, str) or iss != sub:
        raise _bad_client("Claims iss and sub must both be the client id.")
    store, settings = req.store, req.settings
    with store.lock:
        agent = store.get(sub)
        if agent is None:
            raise _bad_client("Unknown client.")
        if agent.status != ONBOARDED:
            # only ONBOARDED clients get tokens (DOC-TOK, §6.2, §8)
            raise _bad_client("The client is not onboarded.")
        now = settings.now()
        if now >= agent.secret_expires_at:
            raise _bad_client("The client secret has expired.")
        _verify_signature(jwt, agent, settings.accept_previous_secret)
        _check_claims(jwt.claims, agent.tenant, now, settings.clock_tolerance)
        token, claims = issuer.mint_access_token(store, req.base_url, agent, now,
                                                 settings.token_lifetime)
        # forget tokens that expired a day ago; the rest stay honoured until offboarding
        agent.access_jtis = {j: e for j, e in agent.access_jtis.items() if e > now - 86400}
        agent.access_jtis[claims["jti"]] = claims["exp"]
        agent.token_count += 1
        store.mark_dirty()
    return Response(200, {"access_token": token, "token_type": "bearer",
                          "expires_in": settings.token_lifetime,
                          "scope": list(claims["scope"]), "jti": claims["jti"]})


def issue(req):
    """Server-Time (epoch s, server clock) goes on the 200 and on every 400 (§6.3, §10.3)."""
    try:
        response = _issue(req)
    except ApiError as exc:
        exc.headers["Server-Time"] = str(int(req.settings.now()))
        raise
    response.headers["Server-Time"] = str(int(req.settings.now()))
    return response


# --- verification key ----------------------------------------------------------------------

def _key_description(store):
    public_key = store.signing_key.public_key()
    jwk = jose.jwk_of(public_key, store.kid)
    return {"alg": "RS256", "use": "sig", "value": jose.single_line_pem(public_key),
            "e": jwk["e"], "n": jwk["n"], "kty": "RSA", "kid": store.kid}


def _etag(store):
    return '"%s"' % jose.fingerprint(store.signing_key.public_key())[:32]


def _not_modified(req, etag):
    header = req.headers.get("If-None-Match")
    if not header:
        return False
    for tag in (t.strip() for t in header.split(",")):
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag == "*" or tag.strip('"') == etag.strip('"'):
            return True
    return False


def _keys_response(req, body):
    etag = _etag(req.store)
    if _not_modified(req, etag):
        return Response(304, None, {"ETag": etag})
    return Response(200, body, {"ETag": etag})


def token_key(req):
    """No authentication; If-None-Match -> 304 (AM-OAS, §6.5)."""
    return _keys_response(req, _key_description(req.store))


def token_keys(req):
    return _keys_response(req, {"keys": [_key_description(req.store)]})
