"""POST /register: onboarding (docs/protocol.md §3, §4)."""

import re
import threading
import time
import uuid

import client as sgclient
import expect

REGISTER = "/api/agentmanagement/v3/register"


def _register(agent, iat=None, body=None, headers=None):
    hdrs = {"Authorization": "Bearer " + (iat or agent.iat)}
    hdrs.update(headers or {})
    return agent.transport.request("POST", REGISTER, {} if body is None else body, hdrs)


def test_shared_secret_register_is_201_with_a_complete_client_identifier(emu):
    # GIVEN a new SHARED_SECRET agent WHEN it registers with {} THEN 201 and every field of §4
    agent = emu.agent("SHARED_SECRET")
    resp = agent.onboard()
    assert resp.status == 201
    ident = resp.json()
    assert ident["client_id"] == agent.client_id
    assert re.match(r"^[A-Za-z0-9_-]{43}$", ident["client_secret"])
    assert abs(ident["client_secret_expires_at"] - (time.time() + 604800)) < 60
    assert ident["grant_types"] == ["SHARED_SECRET"]
    assert ident["token_endpoint_auth_method"] == "client_secret_jwt"
    assert ident["registration_client_uri"] == "%s%s/%s" % (emu.base_url, REGISTER, agent.client_id)
    key = sgclient.load_token_key(emu.get("/api/agentmanagement/v3/oauth/token_key").json())
    _, rat_claims = sgclient.verify_rs256(ident["registration_access_token"], key)
    assert rat_claims["ten"] == agent.tenant and rat_claims["sub"] == agent.client_id
    assert emu.state(agent.client_id)["status"] == "ONBOARDED"


def test_rsa_register_is_201_without_a_secret(emu, keys):
    # GIVEN an RSA_3072 agent WHEN it registers its 3072-bit JWK (MCL form) THEN 201, no secret
    agent = emu.agent("RSA_3072")
    resp = agent.onboard(key=keys[0])
    assert resp.status == 201
    ident = resp.json()
    assert "client_secret" not in ident
    assert isinstance(ident["client_secret_expires_at"], int)  # Node's RenewToken needs it
    assert ident["grant_types"] == ["RSA_3072"]
    assert ident["token_endpoint_auth_method"] == "private_key_jwt"
    pem = emu.state(agent.client_id)["public_keys"]
    assert len(pem) == 1 and pem[0].startswith("-----BEGIN PUBLIC KEY-----")


def test_every_rat_is_unique(emu):
    # GIVEN an agent WHEN it onboards and rotates THEN each RAT differs
    agent = emu.onboarded()
    rats = {agent.rat}
    for _ in range(2):
        assert agent.rotate().status == 200
        rats.add(agent.rat)
    assert len(rats) == 3


def test_reused_iat_is_401_token_validation_failed(emu):
    # GIVEN an IAT that onboarded once WHEN it is sent again THEN 401 token_validation_failed
    agent = emu.onboarded()
    resp = _register(agent)
    expect.iam_error(resp, 401, "token_validation_failed")


def test_iam_error_reflects_the_correlation_id(emu):
    # GIVEN a Correlation-ID header WHEN registration fails THEN the description carries it
    agent = emu.onboarded()
    correlation = uuid.uuid4().hex
    body = expect.iam_error(_register(agent, headers={"Correlation-ID": correlation}), 401)
    assert body["error_description"].startswith("[%s] Token validation failed." % correlation)


def test_expired_iat_is_401(emu):
    # GIVEN a boarding config whose IAT expired a second ago WHEN used THEN 401
    agent = emu.agent(iat_lifetime=-1)
    assert agent.boarding["expiration"] < time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    expect.iam_error(agent.onboard(), 401, "token_validation_failed")


def test_iat_expiry_uses_the_server_clock(emu):
    # GIVEN a valid IAT WHEN the server clock is 8 days ahead THEN it has expired
    agent = emu.agent()
    emu.settings(clock_offset=8 * 86400)
    expect.iam_error(agent.onboard(), 401, "token_validation_failed")
    emu.settings(clock_offset=0)
    assert agent.onboard().status == 201


def test_tampered_iat_signature_is_401_and_the_genuine_iat_still_works(emu):
    # GIVEN an IAT with one signature character changed WHEN used THEN 401, nothing consumed
    agent = emu.agent()
    head, body, sig = agent.iat.split(".")
    middle = len(sig) // 2
    forged_sig = sig[:middle] + ("A" if sig[middle] != "A" else "B") + sig[middle + 1:]
    expect.iam_error(_register(agent, iat="%s.%s.%s" % (head, body, forged_sig)), 401,
                     "token_validation_failed")
    assert agent.onboard().status == 201


def test_iat_with_forged_claims_is_401(emu):
    # GIVEN an IAT whose payload names another agent (signature kept) WHEN used THEN 401
    victim = emu.agent()
    agent = emu.agent()
    head, body, sig = agent.iat.split(".")
    claims = sgclient.jwt_claims(agent.iat)
    claims["sub"] = victim.client_id
    forged = "%s.%s.%s" % (head, sgclient.b64url(sgclient.compact_json(claims).encode()), sig)
    expect.iam_error(_register(agent, iat=forged), 401, "token_validation_failed")


def test_missing_authorization_header_is_400(emu):
    # GIVEN no Authorization header WHEN registering THEN 400 invalid_authorization_header
    resp = emu.post(REGISTER, {}, {"Content-Type": "application/json"})
    body = expect.iam_error(resp, 400, "invalid_authorization_header")
    assert body["error_description"].endswith("Header is missing.")


def test_concurrent_registration_is_429(emu):
    # GIVEN a registration held for 2 s inside the per-agent lock WHEN a second one for the same
    # agent arrives meanwhile THEN it gets 429 too_many_requests and the first one 201
    agent = emu.agent()
    emu.fault(method="POST", path="/register$", kind="delay", seconds=2.0, count=2)
    barrier = threading.Barrier(2)
    results = []

    def register():
        barrier.wait()
        results.append(_register(agent))
    threads = [threading.Thread(target=register) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status for r in results)
    assert statuses == [201, 429], results
    busy = [r for r in results if r.status == 429][0]
    body = expect.iam_error(busy, 429, "too_many_requests")
    assert body["error_description"].endswith(
        "There is already an ongoing registration process for the agent.")


def test_failed_registration_does_not_consume_the_iat(emu):
    # GIVEN a registration rejected with 400 WHEN the IAT is used again correctly THEN 201
    agent = emu.agent("SHARED_SECRET")
    expect.iam_error(_register(agent, body={"jwks": {"keys": []}}), 400)
    assert agent.onboard().status == 201


def test_profile_mismatch_is_400(emu, keys):
    # GIVEN each profile WHEN the other profile's body is sent THEN 400
    shared = emu.agent("SHARED_SECRET")
    jwk = sgclient.public_jwk(keys[0])
    expect.iam_error(_register(shared, body={"jwks": {"keys": [jwk]}}), 400, "invalid_request")
    rsa_agent = emu.agent("RSA_3072")
    expect.iam_error(_register(rsa_agent, body={}), 400, "invalid_request")


def test_rsa_key_must_be_3072_bits_with_e_65537(emu, keys):
    # GIVEN RSA JWKs of the wrong size, exponent or type WHEN registered THEN 400 each
    agent = emu.agent("RSA_3072")
    small = sgclient.public_jwk(sgclient.generate_rsa_key(2048))
    bad_e = dict(sgclient.public_jwk(keys[0]), e="Aw")  # e = 3
    bad_kty = dict(sgclient.public_jwk(keys[0]), kty="EC")
    no_kid = {k: v for k, v in sgclient.public_jwk(keys[0]).items() if k != "kid"}
    bad_b64 = dict(sgclient.public_jwk(keys[0]), n="***")
    for jwk in (small, bad_e, bad_kty, no_kid, bad_b64):
        expect.iam_error(_register(agent, body={"jwks": {"keys": [jwk]}}), 400, "invalid_request")
    assert agent.onboard(key=keys[0]).status == 201


def test_padded_jwk_is_accepted(emu, keys):
    # GIVEN n written with a leading zero byte (385 bytes -> base64url with '==' padding)
    # WHEN registered THEN 201: padded and unpadded base64url are both read
    agent = emu.agent("RSA_3072")
    numbers = keys[0].public_key().public_numbers()
    n = sgclient.b64url(b"\x00" + numbers.n.to_bytes(384, "big"), padded=True)
    assert n.endswith("==")
    jwk = {"e": "AQAB", "n": n, "kty": "RSA", "kid": str(uuid.uuid4())}
    resp = _register(agent, body={"jwks": {"keys": [jwk]}})
    assert resp.status == 201, resp
    agent._keep(resp.json(), keys[0])
    assert agent.token().status == 200


def test_new_iat_reonboards_and_replaces_the_credentials(emu):
    # GIVEN an onboarded agent WHEN a new boarding config is issued and used THEN 201; the old
    # secret no longer gets a token and its access token is no longer honoured
    agent = emu.onboarded()
    assert agent.token().status == 200
    old = sgclient.Agent(agent.boarding, ca_file=emu.ca)
    old._keep(agent.identifier, None)
    boarding = emu.admin_json("GET", "/api/agentmanagement/v3/agents/%s/boarding/configuration"
                              % agent.client_id)
    assert boarding["content"]["iat"] != agent.iat
    fresh = sgclient.Agent(boarding, ca_file=emu.ca)
    assert fresh.onboard().status == 201
    assert fresh.client_secret != old.client_secret
    assert fresh.token().status == 200
    expect.iam_error(old.token(), 400, "invalid_client")
    expect.management_error(agent.get_dsc(), 401)
    assert fresh.get_dsc().status == 404  # the token works; nothing configured yet
    assert emu.state(agent.client_id)["onboard_count"] == 2
