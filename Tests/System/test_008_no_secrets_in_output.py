"""Scenario 8: no credential of the run reaches any output: the IAT, the registration access
tokens, the client secrets, the private key and the access tokens appear neither in hubagent's
log (at debug level) nor in any file outside the state directory."""

import json
import os
import stat

import pytest

from verify import private_key_body


def secrets_of_run(emu, agent_id, boarding, agent):
    found = {"iat": [boarding["content"]["iat"]]}
    state = emu.state(agent_id)
    found["client secret"] = [s for s in state["client_secrets"] if s]
    found["rat"] = []
    found["access token"] = []
    for entry in emu.requests():
        auth = entry["headers"].get("Authorization", "")
        if entry["method"] == "PUT" and auth.startswith("Bearer "):
            found["rat"].append(auth[len("Bearer "):])
        if entry["path"].endswith("/oauth/token") and entry["status"] == 200 and entry.get("response"):
            found["access token"].append(json.loads(entry["response"])["access_token"])
    stored = agent.stored_state()["identity"]
    found["rat"].append(stored["current"]["registrationAccessToken"])
    if "privateKey" in stored["current"]:
        found["private key"] = [private_key_body(stored["current"]["privateKey"])[200:264]]
    return found


@pytest.mark.parametrize("profile", ["SHARED_SECRET", "RSA_3072"])
def test_no_secret_in_any_output(spawn_emulator, hubagent, profile):
    emu = spawn_emulator("--secret-lifetime", "9", "--token-lifetime", "4")
    agent_id, boarding = emu.create_agent(profile)
    agent = hubagent(emu, extra_args=["--log-level", "debug"])
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"credentials rotated", timeout=30)
    agent.wait_for(r"access token valid until", timeout=10)
    assert agent.stop() == 0

    secrets = secrets_of_run(emu, agent_id, boarding, agent)
    assert secrets["rat"] and secrets["access token"]
    assert secrets["client secret" if profile == "SHARED_SECRET" else "private key"]
    outputs = {"hubagent log": agent.log()}
    for directory in (agent.runtime_dir, agent.workdir):
        for root, dirs, files in os.walk(directory):
            if os.path.abspath(root).startswith(os.path.abspath(agent.state_dir)):
                continue
            for name in files:
                path = os.path.join(root, name)
                if not stat.S_ISREG(os.lstat(path).st_mode):
                    continue  # the token socket
                if path == os.path.join(agent.config_dir, "boarding.json"):
                    continue  # the operator's own input holds the IAT by nature
                with open(path, "rb") as f:
                    outputs[path] = f.read().decode("utf-8", "replace")
    for kind, values in secrets.items():
        for value in values:
            for where, text in outputs.items():
                assert value not in text, "%s found in %s" % (kind, where)
