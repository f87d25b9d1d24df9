"""POST /oauth/token and GET /oauth/token_key(s) (docs/protocol.md §6)."""

import time

import pytest

import client as sgclient
import expect

TOKEN = "/api/agentmanagement/v3/oauth/token"
TOKEN_KEY = "/api/agentmanagement/v3/oauth/token_key"

# docs/protocol.md §6.2 test vector (MCL style, SHARED_SECRET)
VECTOR_SECRET = "e8KgU3uK0lq2cR8x1x0e6XoQw6bV0m2cYt9sZp4nHkA"
VECTOR_CLIENT = "5d06988ac50a44758ed0d9bff9edc4a0"
VECTOR_CLAIMS = {"iss": VECTOR_CLIENT, "sub": VECTOR_CLIENT, "aud": "southgate",
                 "iat": 1700000000, "nbf": 1700000000, "exp": 1700086400,
                 "schemas": ["urn:siemens:mindsphere:v1"], "ten": "castidev",
                 "jti": "3f2b8c1e-7d4a-4e9b-9c61-0a5f2d8e4b17"}
VECTOR_PAYLOAD = (
    "eyJpc3MiOiI1ZDA2OTg4YWM1MGE0NDc1OGVkMGQ5YmZmOWVkYzRhMCIsInN1YiI6IjVkMDY5ODhhYzUwYTQ0NzU4ZW"
    "QwZDliZmY5ZWRjNGEwIiwiYXVkIjoic291dGhnYXRlIiwiaWF0IjoxNzAwMDAwMDAwLCJuYmYiOjE3MDAwMDAwMDAs"
    "ImV4cCI6MTcwMDA4NjQwMCwic2NoZW1hcyI6WyJ1cm46c2llbWVuczptaW5kc3BoZXJlOnYxIl0sInRlbiI6ImNhc3"
    "RpZGV2IiwianRpIjoiM2YyYjhjMWUtN2Q0YS00ZTliLTljNjEtMGE1ZjJkOGU0YjE3In0")
VECTOR_MCL = ("eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9." + VECTOR_PAYLOAD
              + "=.Mxo8N4_AX2L-X2xe8fmMkuxn8uUd-GPNA0yRsH82eR4=")
VECTOR_STANDARD = ("eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9." + VECTOR_PAYLOAD
                   + ".BiQeFFBhTleGgg4YHzKUIi8aWd0Lc0I_inSeOnWgwHU")


def _token_key(emu):
    return sgclient.load_token_key(emu.get(TOKEN_KEY).json())


# --- success --------------------------------------------------------------------------------

def test_token_is_200_with_the_documented_body_and_claims(emu):
    # GIVEN an onboarded agent WHEN it asks for a token THEN 200, Server-Time, §6.3 body, and an
    # RS256 access token with the §6.4 claims that verifies with token_key
    agent = emu.onboarded()
    resp = agent.token()
    assert resp.status == 200
    assert abs(int(resp.headers["Server-Time"]) - time.time()) < 5
    body = resp.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == ["mdsp:core:DefaultAgent"]
    header, claims = sgclient.verify_rs256(body["access_token"], _token_key(emu))
    assert header["alg"] == "RS256" and header["kid"]
    assert claims["jti"] == body["jti"]
    assert claims["iss"] == emu.base_url + "/api/agentmanagement/"
    assert claims["sub"] == agent.client_id
    assert claims["zid"] == "agentiam"
    assert claims["aud"] == ["southgate"]
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["schemas"] == ["urn:siemens:mindsphere:iam:v1"]
    assert claims["ten"] == agent.tenant and claims["ten_ctx"]
    assert claims["cat"] == "agent-token:v1"
    assert claims["grant_type"] == "client_credentials"
    assert claims["scope"] == ["mdsp:core:DefaultAgent"]


def test_token_lifetime_setting(emu):
    # GIVEN token_lifetime 5 WHEN a token is issued THEN expires_in 5 and exp - iat = 5
    emu.settings(token_lifetime=5)
    agent = emu.onboarded()
    resp = agent.token()
    assert resp.json()["expires_in"] == 5
    claims = sgclient.jwt_claims(agent.access_token)
    assert claims["exp"] - claims["iat"] == 5


def test_wrong_secret_is_400_with_server_time(emu):
    # GIVEN an HS256 assertion signed with a wrong secret WHEN sent THEN 400 invalid_client with
    # a Server-Time header
    agent = emu.onboarded()
    resp = agent.token(secret="x" * 43)
    body = expect.iam_error(resp, 400, "invalid_client")
    assert "signature" in body["error_description"]
    assert abs(int(resp.headers["Server-Time"]) - time.time()) < 5


def test_server_time_follows_the_clock_offset(emu):
    # GIVEN a server clock one hour behind WHEN a client uses its own clock THEN 400 (iat in the
    # future) with Server-Time, and the client succeeds after correcting with Server-Time
    emu.settings(clock_offset=-3600)
    agent = emu.onboarded()
    resp = agent.token()
    expect.iam_error(resp, 400, "invalid_client")
    server_time = int(resp.headers["Server-Time"])
    assert abs(server_time - (time.time() - 3600)) < 5
    assert agent.token(now=server_time).status == 200


@pytest.mark.parametrize("aud", ["southgate", ["southgate"], ["other", "southgate"]])
def test_aud_string_or_array_is_accepted(emu, aud):
    # GIVEN aud as MCL (string) or Node (array) writes it WHEN sent THEN 200
    assert emu.onboarded().token(aud=aud).status == 200


@pytest.mark.parametrize("aud", ["northgate", ["northgate"], [], "southgate2", None])
def test_wrong_aud_is_rejected(emu, aud):
    # GIVEN an aud that does not contain "southgate" WHEN sent THEN 400
    agent = emu.onboarded()
    if aud is None:
        resp = agent.token(drop=("aud",))
    else:
        resp = agent.token(aud=aud)
    body = expect.iam_error(resp, 400, "invalid_client")
    assert "aud" in body["error_description"]


# --- times ----------------------------------------------------------------------------------

def test_expired_assertion_is_rejected_beyond_the_tolerance_only(emu):
    # GIVEN tolerance 300 s WHEN exp is 400 s in the past THEN 400; 100 s in the past THEN 200
    agent = emu.onboarded()
    now = time.time()
    body = expect.iam_error(agent.token(now=now - 1000, lifetime=600), 400, "invalid_client")
    assert "expired" in body["error_description"]
    assert agent.token(now=now - 1000, lifetime=900).status == 200


def test_iat_in_the_future_beyond_the_tolerance_is_rejected(emu):
    # GIVEN tolerance 300 s WHEN iat (= nbf) is 400 s ahead THEN 400; 200 s ahead THEN 200
    agent = emu.onboarded()
    now = time.time()
    body = expect.iam_error(agent.token(now=now + 400), 400, "invalid_client")
    assert "future" in body["error_description"]
    assert agent.token(now=now + 200).status == 200


def test_nbf_in_the_future_is_rejected(emu):
    # GIVEN iat now but nbf 400 s ahead WHEN sent THEN 400
    agent = emu.onboarded()
    now = int(time.time())
    body = expect.iam_error(agent.token(now=now, claims={"nbf": now + 400}), 400, "invalid_client")
    assert "not valid yet" in body["error_description"]


def test_clock_tolerance_setting_narrows_the_window(emu):
    # GIVEN tolerance 0 WHEN iat is 30 s ahead THEN 400; tolerance 60 THEN 200
    agent = emu.onboarded()
    emu.settings(clock_tolerance=0)
    future = time.time() + 30
    expect.iam_error(agent.token(now=future), 400, "invalid_client")
    emu.settings(clock_tolerance=60)
    assert agent.token(now=future).status == 200


def test_assertion_lifetime_is_at_most_seven_days(emu):
    # GIVEN exp - iat of 7 days (DOC-TOK sample) THEN 200; 7 days + 1 s THEN 400
    agent = emu.onboarded()
    assert agent.token(lifetime=604800).status == 200
    expect.iam_error(agent.token(lifetime=604801), 400, "invalid_client")


# --- encodings ------------------------------------------------------------------------------

def test_the_protocol_test_vector_is_reproduced_exactly():
    # GIVEN the §6.2 claims and secret WHEN signed MCL-style (padded) and unpadded THEN the
    # exact strings of docs/protocol.md
    header = {"typ": "JWT", "alg": "HS256"}
    assert sgclient.sign_jwt(header, VECTOR_CLAIMS, VECTOR_SECRET, padded=True) == VECTOR_MCL
    assert sgclient.sign_jwt(header, VECTOR_CLAIMS, VECTOR_SECRET) == VECTOR_STANDARD


def test_the_protocol_test_vector_is_accepted_as_received(emu):
    # GIVEN agent 5d06…a0 of tenant castidev with the vector's secret, and the server clock at
    # the vector's time WHEN the MCL (padded, raw form) and the standard assertion are sent
    # THEN both get 200; a padded assertion whose MAC covers the unpadded text gets 400
    emu.create_agent("SHARED_SECRET", id=VECTOR_CLIENT, tenant="castidev")
    boarding = emu.admin_json("GET", "/api/agentmanagement/v3/agents/%s/boarding/configuration"
                              % VECTOR_CLIENT)
    agent = sgclient.Agent(boarding, ca_file=emu.ca)
    assert agent.onboard().status == 201
    emu.admin_json("PUT", "/_admin/agents/%s/client_secret" % VECTOR_CLIENT,
                   {"client_secret": VECTOR_SECRET})
    emu.settings(clock_offset=1700000100 - time.time())
    assert agent.token(assertion=VECTOR_MCL, encode=False).status == 200
    assert agent.token(assertion=VECTOR_STANDARD, encode=False).status == 200
    assert agent.token(assertion=VECTOR_MCL, encode=True).status == 200
    re_encoded = VECTOR_MCL.rsplit(".", 1)[0] + "." + VECTOR_STANDARD.rsplit(".", 1)[1]
    expect.iam_error(agent.token(assertion=re_encoded, encode=False), 400, "invalid_client")


@pytest.mark.parametrize("padded", [True, False])
@pytest.mark.parametrize("encode", [True, False])
def test_padded_and_unpadded_assertions_in_raw_and_encoded_forms(emu, padded, encode):
    # GIVEN MCL (padded, raw) and Node (unpadded, percent-encoded) styles and their mixes
    # WHEN sent THEN 200
    agent = emu.onboarded()
    assert agent.token(assertion=agent.assertion(padded=padded), encode=encode).status == 200


def test_standard_base64_alphabet_is_accepted(emu):
    # GIVEN a signature written with '+' and '/' (as the DOC-TOK sample) WHEN sent raw THEN 200
    agent = emu.onboarded()
    for _ in range(100):
        assertion = agent.assertion()
        signing_input, sig = assertion.rsplit(".", 1)
        if "-" in sig or "_" in sig:
            break
    std = signing_input + "." + sig.replace("-", "+").replace("_", "/")
    assert std != assertion
    assert agent.token(assertion=std, encode=False).status == 200


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_rsa_agents_may_sign_with_rs256_rs384_rs512(emu, keys, alg):
    # GIVEN an RSA agent WHEN it signs with RS256 (MCL), RS384 (Node) or RS512 THEN 200
    agent = emu.onboarded("RSA_3072", key=keys[0])
    assert agent.token(alg=alg).status == 200


def test_algorithm_must_fit_the_profile(emu, keys):
    # GIVEN an RSA agent signing HS256 and a SHARED_SECRET agent signing RS256 THEN 400 both
    rsa_agent = emu.onboarded("RSA_3072", key=keys[0])
    expect.iam_error(rsa_agent.token(alg="HS256", secret="anything"), 400, "invalid_client")
    shared = emu.onboarded()
    expect.iam_error(shared.token(alg="RS256", key=keys[0]), 400, "invalid_client")
    signed = shared.assertion().split(".")
    unsigned = sgclient.b64url(b'{"typ":"JWT","alg":"none"}') + "." + signed[1] + ".AAAA"
    expect.iam_error(shared.token(assertion=unsigned), 400, "invalid_client")


def test_rsa_signature_with_another_key_is_rejected(emu, keys):
    # GIVEN an RSA agent registered with key 0 WHEN it signs with key 1 THEN 400
    agent = emu.onboarded("RSA_3072", key=keys[0])
    expect.iam_error(agent.token(key=keys[1]), 400, "invalid_client")


# --- form and claims ------------------------------------------------------------------------

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.mark.parametrize("form, code", [
    ("grant_type=client_credentials&client_assertion_type=%s" % ASSERTION_TYPE, "invalid_request"),
    ("grant_type=client_credentials&client_assertion=X", "invalid_request"),
    ("client_assertion_type=%s&client_assertion=X" % ASSERTION_TYPE, "invalid_request"),
    ("grant_type=password&client_assertion_type=%s&client_assertion=X" % ASSERTION_TYPE,
     "unsupported_grant_type"),
    ("grant_type=client_credentials&client_assertion_type=jwt&client_assertion=X",
     "invalid_request"),
    ("grant_type=client_credentials&grant_type=client_credentials&client_assertion_type=%s"
     "&client_assertion=X" % ASSERTION_TYPE, "invalid_request"),
    ("", "invalid_request"),
    ("garbage", "invalid_request"),
])
def test_form_must_hold_exactly_the_three_fields(emu, form, code):
    # GIVEN a form that is missing, repeats or misspells a field WHEN sent THEN 400
    agent = emu.onboarded()
    resp = agent.token(form=form)
    expect.iam_error(resp, 400, code)
    assert "Server-Time" in resp.headers


def test_extra_form_fields_are_rejected(emu):
    # GIVEN the three fields plus client_id WHEN sent THEN 400 (no client_id field, §6.1)
    agent = emu.onboarded()
    form = sgclient.token_form(agent.assertion()) + "&client_id=" + agent.client_id
    expect.iam_error(agent.token(form=form), 400, "invalid_request")


def test_any_grant_type_only_behind_the_switch(emu):
    # GIVEN grant_type SHARED_SECRET (what GO sends) WHEN sent THEN 400, and 200 with the switch
    agent = emu.onboarded()
    form = sgclient.token_form(agent.assertion()).replace("client_credentials", "SHARED_SECRET")
    expect.iam_error(agent.token(form=form), 400, "unsupported_grant_type")
    emu.settings(accept_any_grant_type=True)
    assert agent.token(form=sgclient.token_form(agent.assertion()).replace(
        "client_credentials", "SHARED_SECRET")).status == 200


@pytest.mark.parametrize("change", [
    {"claims": {"iss": "someone-else"}},
    {"claims": {"sub": "someone-else", "iss": "someone-else"}},
    {"drop": ("schemas",)},
    {"claims": {"schemas": ["urn:siemens:mindsphere:iam:v1"]}},
    {"claims": {"schemas": "urn:siemens:mindsphere:v1"}},
    {"claims": {"ten": "other-tenant"}},
    {"drop": ("ten",)},
    {"drop": ("jti",)},
    {"claims": {"jti": ""}},
    {"drop": ("exp",)},
    {"drop": ("iat",)},
    {"claims": {"exp": "tomorrow"}},
    {"claims": {"iat": float("nan")}},
    {"claims": {"nbf": True}},
], ids=["iss", "unknown-client", "no-schemas", "wrong-schema", "schemas-string", "ten",
        "no-ten", "no-jti", "empty-jti", "no-exp", "no-iat", "exp-string", "iat-nan", "nbf-bool"])
def test_claim_rules(emu, change):
    # GIVEN an assertion with one claim wrong or missing WHEN sent THEN 400 invalid_client
    agent = emu.onboarded()
    expect.iam_error(agent.token(**change), 400, "invalid_client")


def test_jti_may_repeat(emu):
    # GIVEN one constant jti (a public agent does this) WHEN sent twice THEN 200 both times
    agent = emu.onboarded()
    assert agent.token(claims={"jti": "constant"}).status == 200
    assert agent.token(claims={"jti": "constant"}).status == 200


@pytest.mark.parametrize("assertion", ["abc", "a.b", "a.b.c", "!!.!!.!!", "e30.e30.", "W10.e30.AA"])
def test_malformed_assertions_are_400(emu, assertion):
    # GIVEN an assertion that is not a decodable JWT WHEN sent THEN 400 invalid_request
    expect.iam_error(emu.onboarded().token(assertion=assertion), 400, "invalid_request")


def test_never_onboarded_client_is_refused(emu):
    # GIVEN an agent that was created but never onboarded WHEN it asks for a token THEN 400
    agent = emu.agent()
    agent.client_secret = "x" * 43
    body = expect.iam_error(agent.token(), 400, "invalid_client")
    assert "not onboarded" in body["error_description"]


# --- token_key ------------------------------------------------------------------------------

def test_token_key_is_a_single_line_pem_with_etag(emu):
    # GIVEN the key endpoint WHEN read THEN a single-line PEM and JWK members; If-None-Match with
    # its ETag THEN 304 without a body
    resp = emu.get(TOKEN_KEY)
    assert resp.status == 200
    body = resp.json()
    assert body["value"].startswith("-----BEGIN PUBLIC KEY-----MII")
    assert body["value"].endswith("-----END PUBLIC KEY-----") and "\n" not in body["value"]
    assert body["kty"] == "RSA" and body["alg"] == "RS256" and body["use"] == "sig"
    assert body["e"] == "AQAB" and body["kid"] and body["n"]
    etag = resp.headers["ETag"]
    not_modified = emu.get(TOKEN_KEY, {"If-None-Match": etag})
    assert not_modified.status == 304 and not_modified.body == b""
    assert emu.get(TOKEN_KEY, {"If-None-Match": '"other"'}).status == 200


def test_token_keys_lists_the_same_key(emu):
    # GIVEN token_keys WHEN read THEN {"keys": [token_key]}
    keys = emu.get(TOKEN_KEY + "s").json()["keys"]
    assert keys == [emu.get(TOKEN_KEY).json()]
