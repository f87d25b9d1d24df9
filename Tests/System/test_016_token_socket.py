"""Scenario 16: the local token socket. `hubagent token` prints the cached access token; 50
concurrent clients x 200 requests cost southgate at most one token request; GET /status
answers; the socket is 0660; malformed, oversized and slow requests get 400 / 408 and never
disturb the daemon; the peer's uid and pid are logged."""

import json
import os
import socket
import stat
import subprocess
import threading
import time

from conftest import unix_http


def ask(path, request=b"GET /token HTTP/1.1\r\nHost: x\r\n\r\n", timeout=40):
    return unix_http(path, request, timeout)


def test_token_socket(spawn_emulator, hubagent):
    emu = spawn_emulator("--token-lifetime", "3600")
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"access token valid until", timeout=15)
    path = os.path.join(agent.runtime_dir, "token.sock")
    assert stat.S_ISSOCK(os.stat(path).st_mode) and os.stat(path).st_mode & 0o777 == 0o660

    token = subprocess.run([agent.args[0], "token", "--runtime-dir", agent.runtime_dir], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=30)
    assert token.returncode == 0, token.stderr
    issued = [json.loads(r["response"])["access_token"] for r in emu.requests() if r["path"].endswith("/oauth/token") and r["status"] == 200]
    assert token.stdout.strip() == issued[-1]
    agent.wait_for(r"token socket: GET /token from uid %d gid \d+ pid \d+" % os.getuid(), timeout=5)

    # 50 clients x 200 requests: all answered from the cache, one upstream request at most.
    before = len([r for r in emu.requests() if r["path"].endswith("/oauth/token")])
    failures, tokens = [], set()

    def client():
        for _ in range(200):
            try:
                status, body = ask(path)
                if status != 200:
                    failures.append(status)
                else:
                    tokens.add(json.loads(body)["access_token"])
            except OSError as error:
                failures.append(repr(error))
    threads = [threading.Thread(target=client) for _ in range(50)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.monotonic() - started
    assert not failures, failures[:5]
    assert len(tokens) == 1
    after = len([r for r in emu.requests() if r["path"].endswith("/oauth/token")])
    assert after - before <= 1
    print("10,000 token requests in %.1f s (%.0f/s)" % (elapsed, 10000 / elapsed))

    status, body = ask(path, b"GET /status HTTP/1.1\r\n\r\n")
    assert status == 200 and json.loads(body)["clientId"] == agent_id

    assert ask(path, b"DELETE /token HTTP/1.1\r\n\r\n")[0] == 405
    assert ask(path, b"GET /secrets HTTP/1.1\r\n\r\n")[0] == 404
    assert ask(path, b"hello\r\n\r\n")[0] == 400
    assert ask(path, b"GET /token HTTP/1.1\r\n" + b"X-Padding: " + b"a" * 10000 + b"\r\n\r\n")[0] == 400
    assert ask(path, b"\x00\xff\xfe garbage \r\n\r\n")[0] == 400

    # A client that half-closes after its request still gets the answer.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as half:
        half.settimeout(20)
        half.connect(path)
        half.sendall(b"GET /token HTTP/1.1\r\n\r\n")
        half.shutdown(socket.SHUT_WR)
        assert half.recv(4096).startswith(b"HTTP/1.1 200")

    # A client that never finishes its request is cut off; the daemon keeps serving others.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as slow:
        slow.settimeout(20)
        slow.connect(path)
        slow.sendall(b"GET /token HTTP/1.1\r\n")
        assert ask(path)[0] == 200
        answer = slow.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer

    assert agent.proc.poll() is None
    assert agent.stop() == 0


def test_token_without_daemon(binary, tmp_path):
    result = subprocess.run([binary, "token", "--runtime-dir", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert result.returncode == 1
    assert "cannot reach the daemon" in result.stderr and result.stdout == ""


def test_token_while_waiting_for_boarding(spawn_emulator, hubagent):
    emu = spawn_emulator()
    agent = hubagent(emu)
    agent.start()
    agent.wait_for(r"serving access tokens to local programs", timeout=10)
    path = os.path.join(agent.runtime_dir, "token.sock")
    status, body = ask(path)
    assert status == 503 and "waiting for a boarding file" in json.loads(body)["error"]
    assert agent.stop() == 0


def test_socket_refuses_users_outside_its_group(spawn_emulator, hubagent):
    """The filesystem, not the daemon, keeps other users out: mode 0660, owner and group only."""
    import shutil
    import tempfile
    emu = spawn_emulator()
    agent = hubagent(emu)
    # A runtime directory every user may enter, as /run/hubagent is: only the socket's mode decides.
    agent.runtime_dir = tempfile.mkdtemp(prefix="hubagent-run-", dir="/tmp")
    os.chmod(agent.runtime_dir, 0o755)
    agent.start()
    agent.wait_for(r"serving access tokens to local programs", timeout=10)
    path = os.path.join(agent.runtime_dir, "token.sock")
    probe = ("import socket,sys\ns=socket.socket(socket.AF_UNIX)\ntry:\n s.connect(sys.argv[1]); print('connected')\n"
             "except PermissionError: print('refused')\n")
    import pwd
    nobody = pwd.getpwnam("nobody")

    def as_nobody():
        os.setgid(nobody.pw_gid)
        os.setgroups([])
        os.setuid(nobody.pw_uid)
    # The system interpreter: another user cannot run one under /root.
    interpreter = "/usr/bin/python3"
    owner = subprocess.run([interpreter, "-c", probe, path], stdout=subprocess.PIPE, text=True, timeout=30)
    assert owner.stdout.strip() == "connected"
    other = subprocess.run([interpreter, "-c", probe, path], stdout=subprocess.PIPE, text=True, timeout=30, preexec_fn=as_nobody)
    assert other.stdout.strip() == "refused"
    # `hubagent token` says it is a permission, whose socket and what fixes it; not "is it running?".
    program = os.path.join(agent.runtime_dir, "hubagent")
    shutil.copy(agent.binary, program)
    os.chmod(program, 0o755)
    token = subprocess.run([program, "token", "--runtime-dir", agent.runtime_dir], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=30, preexec_fn=as_nobody)
    assert token.returncode == 1 and token.stdout == ""
    assert "permission denied on " + path in token.stderr and "usermod -aG" in token.stderr, token.stderr
    assert "token_socket_group" in token.stderr and "is hubagent running" not in token.stderr
    assert agent.stop() == 0
    shutil.rmtree(agent.runtime_dir, ignore_errors=True)
