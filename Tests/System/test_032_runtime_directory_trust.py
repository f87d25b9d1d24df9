"""Scenario 32: the runtime directory is trusted only when it is the daemon's alone. A daemon
refuses a runtime directory others can write (no status.json, no token.sock there); `hubagent
token` and `hubagent status` refuse a token.sock or status.json they cannot trust (in a directory
others can write, or owned by another user), so a planted socket hands out no token of the
attacker's and a forged status with terminal escapes is not shown as a running daemon."""

import json
import os
import socket
import subprocess
import threading

PLANTED_TOKEN = "eyJhbGciOiJub25lIn0.planted-by-another-user.x"


def run(binary, *args):
    return subprocess.run([binary] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=30)


def fake_token_server(path):
    """A token.sock someone else planted: answers every request with their token."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    body = json.dumps({"access_token": PLANTED_TOKEN, "expires_at": 4102444800}).encode()

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    threading.Thread(target=serve, daemon=True).start()
    return server


def test_clients_refuse_what_others_could_have_planted(binary, tmp_path):
    runtime = tmp_path / "run"
    runtime.mkdir()
    os.chmod(runtime, 0o777)  # a directory any local user can write to
    server = fake_token_server(str(runtime / "token.sock"))
    forged = {"state": "onboarded", "summary": "onboarded\x1b[2J\x1b[31m all good", "version": "0.1.0",
              "updatedAt": 1.0, "pid": os.getpid(), "problems": [], "offline": False}
    (runtime / "status.json").write_text(json.dumps(forged))
    try:
        token = run(binary, "token", "--runtime-dir", str(runtime))
        assert token.returncode == 1, token
        assert PLANTED_TOKEN not in token.stdout + token.stderr
        assert "writable by other users" in token.stderr, token.stderr

        status = run(binary, "status", "--runtime-dir", str(runtime), "--state-dir", str(tmp_path / "state"))
        assert "\x1b" not in status.stdout + status.stderr
        assert "ignoring %s" % (runtime / "status.json") in status.stderr, status.stderr
        assert "all good" not in status.stdout

        # The same files in a directory only root can write, but owned by another user.
        os.chmod(runtime, 0o755)
        os.chown(runtime / "status.json", 65534, 65534)
        os.chown(runtime / "token.sock", 65534, 65534)
        token = run(binary, "token", "--runtime-dir", str(runtime))
        assert token.returncode == 1 and PLANTED_TOKEN not in token.stdout, token
        assert "belongs to uid 65534" in token.stderr, token.stderr
        status = run(binary, "status", "--runtime-dir", str(runtime), "--state-dir", str(tmp_path / "state"))
        assert "all good" not in status.stdout and "belongs to uid 65534" in status.stderr, status
    finally:
        server.close()


def test_daemon_refuses_a_runtime_directory_others_can_write(spawn_emulator, hubagent):
    emu = spawn_emulator()
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    os.makedirs(agent.runtime_dir, exist_ok=True)
    os.chmod(agent.runtime_dir, 0o777)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"runtime directory: .*mode 777 lets other users put files in it; fix: chmod go-w", timeout=15)
    agent.wait_for(r"access token valid until", timeout=15)
    assert not os.path.exists(os.path.join(agent.runtime_dir, "token.sock"))
    assert not os.path.exists(os.path.join(agent.runtime_dir, "status.json"))
    assert agent.stop() == 0
