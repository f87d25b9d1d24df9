"""Scenario 2: RSA_3072 onboarding and rotations; every rotation sends a new key, every
assertion verifies with a key the server holds, and the private key never leaves the state dir."""

import json
import os

from conftest import assertions_in
from verify import parts, private_key_body, verifies_rs256


def test_rsa_onboards_and_rotates_with_new_keys(spawn_emulator, hubagent):
    emu = spawn_emulator("--secret-lifetime", "15", "--token-lifetime", "6")
    agent_id, boarding = emu.create_agent("RSA_3072")
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"onboarded as %s \(RSA_3072\)" % agent_id, timeout=20)
    for _ in range(3):
        agent.wait_for(r"credentials rotated", timeout=25)
        agent.wait_for(r"access token valid until", timeout=10)
    assert agent.stop() == 0

    requests = emu.requests()
    key_requests = [r for r in requests if r["method"] in ("POST", "PUT") and "/register" in r["path"]]
    moduli = [json.loads(r["body"])["jwks"]["keys"][0]["n"] for r in key_requests]
    assert len(moduli) >= 4
    assert len(set(moduli)) == len(moduli), "a rotation re-sent an old key"
    for r in key_requests:
        jwk = json.loads(r["body"])["jwks"]["keys"][0]
        assert jwk["kty"] == "RSA" and jwk["e"] == "AQAB" and len(jwk["n"]) == 512 and jwk["kid"]

    public_keys = emu.state(agent_id)["public_keys"]
    tokens = assertions_in(requests)
    assert tokens
    for entry, assertion in tokens:
        assert entry["status"] == 200, entry
        assert parts(assertion)[0] == {"typ": "JWT", "alg": "RS256"}
        assert any(verifies_rs256(assertion, pem) for pem in public_keys), entry

    # The private keys, as stored, appear in no request and no log line.
    state = agent.stored_state()
    private_pems = [state["identity"]["current"]["privateKey"]]
    if "previous" in state["identity"]:
        private_pems.append(state["identity"]["previous"]["privateKey"])
    everything_sent = "\n".join(r["body"] + json.dumps(r["headers"]) for r in requests)
    log = agent.log()
    for pem in private_pems:
        body = private_key_body(pem)
        assert len(body) > 2000
        for chunk in (body[100:164], body[-200:-136]):
            assert chunk not in everything_sent
            assert chunk not in log
    # The state dir holds the keys, with modes that keep them private.
    assert oct(os.stat(agent.state_dir).st_mode & 0o777) == "0o700"
    for name in agent.state_files():
        assert oct(os.stat(os.path.join(agent.state_dir, name)).st_mode & 0o777) == "0o600", name
