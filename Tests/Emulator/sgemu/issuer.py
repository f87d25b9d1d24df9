"""Tokens the emulator mints, all RS256 JWTs signed with its one signing key and selected by
`kid` (docs/protocol.md §3, §4, §6.4), and their verification."""

import uuid

from . import jose

IAM_SCHEMA = "urn:siemens:mindsphere:iam:v1"
AGENT_SCOPE = "mdsp:core:DefaultAgent"


def _claims(base_url, agent, now, exp, cat):
    # §3: the IAT/RAT claim sets are not documented; they mirror the access token (§6.4).
    return {"jti": str(uuid.uuid4()),
            "iss": base_url + "/api/agentmanagement/",
            "sub": agent.id, "zid": "agentiam", "aud": ["southgate"],
            "iat": int(now), "exp": int(exp),
            "schemas": [IAM_SCHEMA], "ten": agent.tenant, "ten_ctx": "main-tenant", "cat": cat}


def mint_iat(store, base_url, agent, now, lifetime):
    """Initial access token; returns (token, jti, exp)."""
    claims = _claims(base_url, agent, now, int(now) + lifetime, "initial-access-token:v1")
    return jose.sign_rs256(store.signing_key, claims, store.kid), claims["jti"], claims["exp"]


def mint_rat(store, base_url, agent, now, expires_at):
    """Registration access token; carries `ten` (GO reads it, docs/protocol.md §3). Its `exp` is the
    secret expiry it was issued with; the server checks the agent's current expiry instead."""
    claims = _claims(base_url, agent, now, expires_at, "registration-access-token:v1")
    return jose.sign_rs256(store.signing_key, claims, store.kid)


def mint_access_token(store, base_url, agent, now, lifetime):
    """Access token with exactly the claims of the real one (docs/protocol.md §6.4)."""
    iat = int(now)
    claims = {"jti": str(uuid.uuid4()), "scope": [AGENT_SCOPE],
              "iss": base_url + "/api/agentmanagement/",
              "sub": agent.id, "zid": "agentiam", "aud": ["southgate"],
              "iat": iat, "exp": iat + lifetime, "schemas": [IAM_SCHEMA],
              "ten": agent.tenant, "ten_ctx": "main-tenant", "cat": "agent-token:v1",
              "grant_type": "client_credentials"}
    return jose.sign_rs256(store.signing_key, claims, store.kid), claims


def verify_own(store, token):
    """Signature and kid of a token this emulator minted; returns its claims.
    Raises jose.JoseError."""
    jwt = jose.ParsedJWT(token)
    if jwt.header.get("kid") != store.kid:
        raise jose.JoseError("unknown kid")
    jwt.verify_rsa(store.signing_key.public_key(), allowed=("RS256",))
    return jwt.claims
