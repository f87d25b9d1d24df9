"""Scenario 23: one daemon per state directory. A second `hubagent run` on the state directory of
a running daemon exits 78 (EX_CONFIG) naming the holder's pid, before it reads or writes anything:
the first keeps its identity, its state generations and its token socket, and southgate sees no
request from the second. `hubagent check` names the holder while it runs, and nobody after."""

import json
import os
import subprocess

from conftest import unix_http

EX_CONFIG = 78


def ask_token(path):
    return unix_http(path, b"GET /token HTTP/1.1\r\n\r\n", timeout=20)[0]


def lock_message(binary, agent, ca):
    result = subprocess.run(
        [binary, "check", "--json", "--config-dir", agent.config_dir, "--state-dir", agent.state_dir,
         "--runtime-dir", agent.runtime_dir, "--ca-file", ca],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    checks = {c["id"]: c for c in json.loads(result.stdout)["checks"]}
    return checks["state.permissions"]["status"], checks["state.permissions"]["message"]


def test_second_daemon_on_the_same_state_directory(spawn_emulator, hubagent, binary):
    emu = spawn_emulator("--token-lifetime", "3600", "--secret-lifetime", "3600")
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    first = hubagent(emu, name="gateway")
    first.write_boarding(boarding)
    first.start()
    first.wait_for(r"access token valid until", timeout=20)
    files_before = first.state_files()
    stored_before = first.stored_state()
    socket_path = os.path.join(first.runtime_dir, "token.sock")
    requests_before = len(emu.requests())

    # GIVEN a running daemon WHEN a second one starts on the same directories THEN it exits 78 at once,
    # naming the first one's pid and the lock file.
    second = hubagent(emu, name="gateway")
    code, output = second.run_once(timeout=20)
    assert code == EX_CONFIG, output
    assert "hubagent pid %d" % first.proc.pid in output, output
    assert os.path.join(first.state_dir, ".lock") in output, output

    # The first keeps its identity, its generations and its socket; southgate heard nothing new.
    assert first.proc.poll() is None
    assert first.state_files() == files_before
    assert first.stored_state() == stored_before and stored_before["identity"]["clientId"] == agent_id
    assert os.path.exists(socket_path) and ask_token(socket_path) == 200
    assert not [r for r in emu.requests()[requests_before:] if "/oauth/token" not in r["path"]]

    # The lock file keeps the state directory's rules: 0600, this user's.
    info = os.stat(os.path.join(first.state_dir, ".lock"))
    assert info.st_mode & 0o777 == 0o600 and info.st_uid == os.geteuid()

    status, message = lock_message(binary, first, emu.ca)
    assert status == "OK" and "locked by hubagent pid %d (running)" % first.proc.pid in message, message

    assert first.stop() == 0
    status, message = lock_message(binary, first, emu.ca)
    assert status == "OK" and "not locked" in message, message

    # Once the first has stopped, the directory is free again (no stale lock after a kill either).
    first.start()
    first.wait_for(r"access token valid until", timeout=20)
    first.kill()
    again = hubagent(emu, name="gateway")
    again.start()
    again.wait_for(r"access token valid until", timeout=20)
    assert again.stored_state()["identity"]["clientId"] == agent_id
    assert again.stop() == 0
