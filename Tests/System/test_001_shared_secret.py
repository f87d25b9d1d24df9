"""Scenario 1: SHARED_SECRET onboarding, tokens and at least three rotations within 60 s; every
secret is used, and every assertion the emulator received verifies independently."""

from conftest import assertions_in
from verify import parts, verifies_hs256


def test_shared_secret_onboards_and_rotates(spawn_emulator, hubagent):
    emu = spawn_emulator("--secret-lifetime", "15", "--token-lifetime", "6")
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"onboarded as %s \(SHARED_SECRET\)" % agent_id, timeout=15)
    for _ in range(3):
        agent.wait_for(r"credentials rotated", timeout=20)
        agent.wait_for(r"access token valid until", timeout=10)
    assert agent.stop() == 0

    state = emu.state(agent_id)
    assert state["onboard_count"] == 1
    assert state["rotation_count"] >= 3
    secrets = state["client_secrets"]
    assert len(secrets) >= 4

    requests = emu.requests()
    registers = [r for r in requests if r["method"] == "POST" and r["path"].endswith("/register")]
    assert len(registers) == 1 and registers[0]["status"] == 201
    rotations = [r for r in requests if r["method"] == "PUT"]
    assert all(r["status"] == 200 for r in rotations)

    tokens = assertions_in(requests)
    assert tokens, "no token requests"
    used = set()
    for entry, assertion in tokens:
        matching = [s for s in secrets if verifies_hs256(assertion, s)]
        assert matching, "assertion does not verify with any issued secret: %r" % entry
        used.add(matching[0])
        assert entry["status"] == 200, entry
        header, claims, _, _ = parts(assertion)
        assert header == {"typ": "JWT", "alg": "HS256"}
        assert claims["iss"] == claims["sub"] == agent_id
        assert claims["aud"] in ("southgate", ["southgate"])
        assert claims["nbf"] == claims["iat"] and 0 < claims["exp"] - claims["iat"] <= 600
        assert claims["schemas"] == ["urn:siemens:mindsphere:v1"]
        assert claims["ten"] == boarding["content"]["tenant"]
    # Each secret that lived long enough to be current was used for a token (the last one may
    # have been issued just before the stop).
    assert set(secrets[:-1]) <= used, "secrets never used for a token"
    jtis = [parts(a)[1]["jti"] for _, a in tokens]
    assert len(jtis) == len(set(jtis)), "jti reused"
