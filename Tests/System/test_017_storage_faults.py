"""Scenario 17: storage faults. (1) One state directory call fails at each position in turn
(storage_faults.py; the full matrix runs on demand); after every run a restart without faults
holds a valid identity, with no temp file, modes intact and no lockout. (2) A disk that is full
right after southgate accepted a registration or a rotation: the daemon keeps the new
credentials in memory, serves tokens with them, reports the problem, and stores them once space
is back."""

import json
import os
import subprocess

import pytest

import storage_faults

# The short matrix for `make test`: (calls failed in a row, scenario, faults). A burst of 3
# defeats a save's quick repetitions, so the operation's retry and the credentials kept in
# memory show. `python3 Tests/System/storage_faults.py` runs all of it.
SHORT = [
    (1, "onboard-SHARED_SECRET", storage_faults.FAULTS),
    (1, "onboard-RSA_3072", ["fsync:EIO", "write:ENOSPC"]),
    (1, "rotate-SHARED_SECRET", ["fsync:EIO", "write:ENOSPC"]),
    (3, "onboard-SHARED_SECRET", ["write:ENOSPC", "rename:EIO", "openat:EMFILE"]),
    (3, "rotate-SHARED_SECRET", ["fsync:EIO", "write:ENOSPC"]),
]


def test_each_position(spawn_emulator, hubagent_test):
    emu = spawn_emulator()

    def make(name, env):
        agent = hubagent_test(emu, name=name)
        agent.env.update(env)
        return agent
    runner = storage_faults.Runner(emu, make)
    reached = {}
    for burst, scenario, faults in SHORT:
        runner.burst = burst
        for fault in faults:
            reached[(burst, scenario, fault)] = runner.sweep(scenario, fault)
    print(storage_faults.table(runner.rows))
    # Every save writes once and fsyncs the file and the directory: each fault was reached at
    # the onboarding's two saves (pending onboarding, identity).
    assert all(count >= 2 for count in reached.values()), reached
    lockouts = [r for r in runner.rows if r["lockout"]]
    assert not lockouts, [(r["scenario"], r["fault"], r["position"], r["log"][-1500:]) for r in lockouts]
    bad = [r for r in runner.rows if not r["ok"]]
    assert not bad, [(r["scenario"], r["fault"], r["position"], r["outcome"], r["log"][-1500:]) for r in bad]
    # The bursts reached both ways out: the failed operation retried, the answer kept in memory.
    outcomes = " ".join(r["outcome"] for r in runner.rows if " x3" in r["fault"])
    assert "operation retried" in outcomes and "kept in memory" in outcomes, outcomes


def status_json(agent):
    try:
        with open(os.path.join(agent.runtime_dir, "status.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def token_from_socket(agent):
    done = subprocess.run([agent.args[0], "token", "--runtime-dir", agent.runtime_dir], capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout.strip(), done.stderr


# Positions in a SHARED_SECRET onboarding: write #1 and fsyncs #1-2 store the pending onboarding
# before POST /register; write #2 and fsync #3 are the first to store its answer. In a rotation
# the same: #1 stores the rotation in progress before the PUT, #2 its answer. Six failures:
# the three quick attempts of that save, then three retries with backoff (at least 3.5 s).
DISK_FULL = {"write": "write:ENOSPC:2..7", "fsync": "fsync:ENOSPC:3..8"}


@pytest.mark.parametrize("call", ["write", "fsync"])
def test_disk_full_after_register_keeps_identity(spawn_emulator, hubagent_test, call):
    emu = spawn_emulator("--token-lifetime", "30")
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent_test(emu)
    agent.write_boarding(boarding)
    agent.env.update(HUBAGENT_TEST_HOOKS="1", HUBAGENT_TEST_STORAGE_FAULT=DISK_FULL[call])
    mark = agent.start()
    agent.wait_for(r"onboarded as %s" % agent_id, timeout=30, since=mark)
    agent.wait_for(r"the credentials in use are not stored yet .*No space left on device.*; retrying in", timeout=30, since=mark)
    # Not on disk, yet in use: a token from southgate, handed out over the token socket.
    agent.wait_for(r"access token valid until", timeout=30, since=mark)
    assert "identity" not in agent.stored_state()
    code, token, err = token_from_socket(agent)
    assert code == 0 and token.count(".") == 2, err
    assert storage_faults.wait_until(lambda: any("not stored yet" in p for p in status_json(agent).get("problems", [])), 10)
    status = status_json(agent)
    assert "No space left on device" in status["lastError"]["message"], status
    assert "credentials not stored yet" in status["summary"], status
    assert agent.proc.poll() is None

    # Space is back (the hook's range is over): stored without a restart or a new boarding file.
    agent.wait_for(r"credentials stored \(generation \d+\) after \d+ failed attempts", timeout=90, since=mark)
    state = agent.stored_state()
    assert state["identity"]["clientId"] == agent_id
    assert storage_faults.token_round_trip(emu, state) == 200
    assert storage_faults.wait_until(lambda: not status_json(agent).get("problems"), 10), status_json(agent)
    assert storage_faults.state_dir_problems(agent) == []
    assert agent.stop() == 0

    agent.env.clear()
    mark = agent.start()
    agent.wait_for(r"loaded identity %s" % agent_id, timeout=15, since=mark)
    agent.wait_for(r"access token valid until", timeout=30)
    assert agent.stop() == 0
    assert emu.state(agent_id)["onboard_count"] == 1


def test_disk_full_after_rotation_keeps_new_credentials(spawn_emulator, hubagent_test):
    emu = spawn_emulator("--secret-lifetime", "20", "--token-lifetime", "30")
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent_test(emu)
    agent.write_boarding(boarding)
    storage_faults.write_conf(agent, "rotation_fraction = 0.9\n")
    agent.start()
    agent.wait_for(r"access token valid until", timeout=30)
    assert agent.stop() == 0
    old_secret = agent.stored_state()["identity"]["current"]["clientSecret"]

    emu.settings(secret_lifetime=3600)
    storage_faults.write_conf(agent, "rotation_fraction = 0.1\n")
    agent.env.update(HUBAGENT_TEST_HOOKS="1", HUBAGENT_TEST_STORAGE_FAULT=DISK_FULL["write"])
    mark = agent.start()
    agent.wait_for(r"credentials rotated", timeout=30, since=mark)
    agent.wait_for(r"the credentials in use are not stored yet", timeout=30, since=mark)
    # The server replaced the secret: this token can only come from the new one, held in memory.
    agent.wait_for(r"access token valid until", timeout=30, since=mark)
    assert agent.stored_state()["identity"]["current"]["clientSecret"] == old_secret
    assert emu.state(agent_id)["client_secret"] != old_secret
    code, _, err = token_from_socket(agent)
    assert code == 0, err
    agent.wait_for(r"credentials stored \(generation \d+\) after \d+ failed attempts", timeout=90, since=mark)
    state = agent.stored_state()
    assert state["identity"]["current"]["clientSecret"] == emu.state(agent_id)["client_secret"]
    assert not state["identity"]["rotationInProgress"]
    assert storage_faults.token_round_trip(emu, state) == 200
    assert emu.state(agent_id)["rotation_count"] == 1
    assert storage_faults.state_dir_problems(agent) == []
    assert agent.stop() == 0
