"""Both profiles end to end: onboard → token → rotate ×3 → token with the new credentials, in
the styles of the clients the emulator must accept (MCL and the Node SDK, docs/protocol.md §6.2)."""

import pytest

import client as sgclient

TOKEN_KEY = "/api/agentmanagement/v3/oauth/token_key"

# how each client writes its requests (docs/protocol.md §6.2, §13)
MCL = dict(padded=True, encode=False, aud="southgate")
NODE = dict(padded=False, encode=True, aud=["southgate"])


def _token(agent, style, alg=None):
    assertion = agent.assertion(padded=style["padded"], aud=style["aud"], alg=alg)
    resp = agent.token(assertion=assertion, encode=style["encode"])
    assert resp.status == 200, resp
    return resp


@pytest.mark.parametrize("profile, style, alg, new_keys", [
    ("SHARED_SECRET", MCL, "HS256", None),
    ("SHARED_SECRET", NODE, "HS256", None),
    ("RSA_3072", MCL, "RS256", True),     # MCL: a new key pair for every rotation
    ("RSA_3072", NODE, "RS384", False),   # Node: the same key again, RS384 assertions
], ids=["shared-mcl", "shared-node", "rsa-mcl", "rsa-node"])
def test_onboard_token_rotate_three_times_token(emu, keys, profile, style, alg, new_keys):
    public_key = sgclient.load_token_key(emu.get(TOKEN_KEY).json())
    agent = emu.agent(profile)
    assert agent.onboard(key=keys[0] if profile == "RSA_3072" else None).status == 201

    _token(agent, style, alg)
    _, claims = sgclient.verify_rs256(agent.access_token, public_key)
    assert claims["sub"] == agent.client_id

    seen_secrets, seen_rats = {agent.client_secret}, {agent.rat}
    for i in range(1, 4):
        previous = (agent.client_secret, agent.private_key, agent.expires_at)
        key = (keys[i] if new_keys else keys[0]) if profile == "RSA_3072" else None
        resp = agent.rotate(key=key)
        assert resp.status == 200, resp
        assert agent.rat not in seen_rats and agent.expires_at >= previous[2]
        seen_rats.add(agent.rat)
        if profile == "SHARED_SECRET":
            assert agent.client_secret not in seen_secrets
            seen_secrets.add(agent.client_secret)
            rejected = agent.token(secret=previous[0])
        elif new_keys:
            rejected = agent.token(key=previous[1])
        else:
            rejected = None  # same key: the old one is the new one
        if rejected is not None:
            assert rejected.status == 400

        _token(agent, style, alg)
        _, claims = sgclient.verify_rs256(agent.access_token, public_key)
        assert claims["sub"] == agent.client_id and claims["ten"] == agent.tenant

    # the newest access token works on the agent's own resources
    assert agent.put_dsc({"configurationId": "cfg", "dataSources": []}).status == 200
    assert agent.exchange().status == 200
    state = emu.state(agent.client_id)
    assert state["rotation_count"] == 3 and state["status"] == "ONBOARDED"
    assert state["exchange_count"] == 1 and state["eTag"] == "1"
