"""PUT /register/{id}: credential rotation (docs/protocol.md §5)."""

import client as sgclient
import expect


def _snapshot(agent):
    """The agent-side credentials, to 'reset to A' as the Node test does (§5.2)."""
    return dict(identifier=agent.identifier, key=agent.private_key)


def _restore(agent, snap):
    agent._keep(snap["identifier"], snap["key"])


def test_rotation_is_200_with_new_secret_rat_and_expiry(emu):
    # GIVEN an onboarded agent WHEN it rotates THEN 200 (not 201) with a new secret and RAT
    agent = emu.onboarded()
    before = dict(agent.identifier)
    resp = agent.rotate()
    assert resp.status == 200
    after = resp.json()
    assert after["client_id"] == before["client_id"]
    assert after["client_secret"] != before["client_secret"]
    assert after["registration_access_token"] != before["registration_access_token"]
    assert after["client_secret_expires_at"] >= before["client_secret_expires_at"]
    assert after["registration_client_uri"] == before["registration_client_uri"]
    state = emu.state(agent.client_id)
    assert state["client_secrets"] == [before["client_secret"], after["client_secret"]]
    assert state["rat"] == after["registration_access_token"]
    assert state["rat_previous"] == before["registration_access_token"]


def test_old_rat_window_follows_the_node_recovery_sequence(emu):
    # GIVEN onboarding response A (docs/protocol.md §5.2, NODE-T-AUTH)
    agent = emu.onboarded()
    a = _snapshot(agent)
    # WHEN PUT with RAT_A three times, resetting to A in between THEN all three succeed
    assert agent.rotate().status == 200                  # -> B1
    b1 = _snapshot(agent)
    _restore(agent, a)
    assert agent.rotate().status == 200                  # -> B2
    b2 = _snapshot(agent)
    _restore(agent, a)
    assert agent.rotate().status == 200                  # -> C
    # AND the credentials of C get tokens
    assert agent.token().status == 200
    # AND a PUT with RAT_B2 (minted by a superseded rotation) fails, as does RAT_B1
    _restore(agent, b2)
    expect.iam_error(agent.rotate(), 401, "token_validation_failed")
    _restore(agent, b1)
    expect.iam_error(agent.rotate(), 401, "token_validation_failed")


def test_rats_older_than_the_previous_one_are_rejected(emu):
    # GIVEN rotations A -> B -> C with the current RAT each time WHEN RAT_A is used THEN 401,
    # while RAT_B (used for the last rotation) still works
    agent = emu.onboarded()
    rat_a = agent.rat
    assert agent.rotate().status == 200
    rat_b = agent.rat
    assert agent.rotate().status == 200
    expect.iam_error(agent.rotate(rat=rat_a), 401, "token_validation_failed")
    assert agent.rotate(rat=rat_b).status == 200


def test_rotation_without_or_with_a_bad_rat(emu):
    # GIVEN an onboarded agent WHEN the PUT has no Authorization, or a token that is no RAT
    # THEN 400 invalid_authorization_header and 401 token_validation_failed
    agent = emu.onboarded()
    resp = agent.transport.request("PUT", agent.registration_uri, {"client_id": agent.client_id})
    expect.iam_error(resp, 400, "invalid_authorization_header")
    expect.iam_error(agent.rotate(rat="not-a-jwt"), 401, "token_validation_failed")
    assert agent.token().status == 200
    expect.iam_error(agent.rotate(rat=agent.access_token), 401, "token_validation_failed")
    expect.iam_error(agent.rotate(rat=agent.iat), 401, "token_validation_failed")


def test_rat_of_another_agent_is_rejected(emu):
    # GIVEN two agents WHEN one's RAT is used on the other's registration URI THEN 401
    a, b = emu.onboarded(), emu.onboarded()
    resp = b.transport.request("PUT", b.registration_uri, {"client_id": b.client_id},
                               {"Authorization": "Bearer " + a.rat})
    expect.iam_error(resp, 401, "token_validation_failed")


def test_old_secret_is_rejected_after_rotation(emu):
    # GIVEN a rotated SHARED_SECRET agent WHEN it signs with the previous secret THEN 400
    agent = emu.onboarded()
    old_secret = agent.client_secret
    assert agent.rotate().status == 200
    body = expect.iam_error(agent.token(secret=old_secret), 400, "invalid_client")
    assert "signature" in body["error_description"]
    assert agent.token().status == 200


def test_previous_secret_is_accepted_when_switched_on(emu):
    # GIVEN accept_previous_secret WHEN the secret before the last rotation is used THEN 200,
    # but the one before that is still rejected
    emu.settings(accept_previous_secret=True)
    agent = emu.onboarded()
    first = agent.client_secret
    assert agent.rotate().status == 200
    second = agent.client_secret
    assert agent.token(secret=first).status == 200
    assert agent.rotate().status == 200
    assert agent.token(secret=second).status == 200
    expect.iam_error(agent.token(secret=first), 400, "invalid_client")


def test_previous_rsa_key_follows_the_same_switch(emu, keys):
    # GIVEN an RSA agent rotated from key 0 to key 1 WHEN signing with key 0 THEN 400, and 200
    # once accept_previous_secret is on
    agent = emu.onboarded("RSA_3072", key=keys[0])
    assert agent.rotate(key=keys[1]).status == 200
    expect.iam_error(agent.token(key=keys[0]), 400, "invalid_client")
    emu.settings(accept_previous_secret=True)
    assert agent.token(key=keys[0]).status == 200


def test_rsa_rotation_with_a_new_or_the_identical_key(emu, keys):
    # GIVEN an RSA agent WHEN it rotates with the same key (Node) and a new key (MCL) THEN 200
    agent = emu.onboarded("RSA_3072", key=keys[0])
    assert agent.rotate(new_key=False).status == 200
    assert agent.token().status == 200
    assert agent.rotate(key=keys[1]).status == 200
    assert agent.token().status == 200
    expect.iam_error(agent.token(key=keys[0]), 400, "invalid_client")
    assert len(emu.state(agent.client_id)["public_keys"]) == 3


def test_rsa_rotation_without_client_id(emu, keys):
    # GIVEN an RSA agent WHEN the body holds only jwks (as GO sends it) THEN 200
    agent = emu.onboarded("RSA_3072", key=keys[0])
    body = {"jwks": {"keys": [sgclient.public_jwk(keys[1])]}}
    assert agent.rotate(key=keys[1], body=body).status == 200
    assert agent.token().status == 200


def test_rsa_rotation_needs_a_jwks(emu, keys):
    # GIVEN an RSA agent WHEN rotating with {"client_id"} only THEN 400
    agent = emu.onboarded("RSA_3072", key=keys[0])
    expect.iam_error(agent.rotate(body={"client_id": agent.client_id}), 400, "invalid_request")


def test_shared_secret_rotation_body_rules(emu, keys):
    # GIVEN a SHARED_SECRET agent WHEN the body has no client_id, a foreign client_id, a jwks,
    # or is not JSON THEN 400 each, and the RAT is still good afterwards
    agent = emu.onboarded()
    jwk = sgclient.public_jwk(keys[0])
    for body in ({}, {"client_id": "someone-else"},
                 {"client_id": agent.client_id, "jwks": {"keys": [jwk]}}, "{not json", ""):
        expect.iam_error(agent.rotate(body=body), 400, "invalid_request")
    assert agent.rotate().status == 200


def test_expired_secret_cannot_be_rotated(emu):
    # GIVEN a secret whose lifetime has passed on the server clock WHEN rotating THEN 401, and
    # the token endpoint refuses it too (400)
    agent = emu.onboarded()
    emu.settings(clock_offset=604800 + 10)
    expect.iam_error(agent.rotate(), 401, "token_validation_failed")
    body = expect.iam_error(agent.token(now=emu.server_now()), 400, "invalid_client")
    assert "expired" in body["error_description"]
    emu.settings(clock_offset=0)
    assert agent.rotate().status == 200


def test_rotation_uses_the_configured_secret_lifetime(emu):
    # GIVEN secret_lifetime 20 s WHEN rotating THEN client_secret_expires_at is 20 s ahead
    emu.settings(secret_lifetime=20)
    agent = emu.onboarded()
    assert agent.rotate().status == 200
    assert abs(agent.expires_at - (emu.server_now() + 20)) <= 3
