"""Scenario 26: what `hubagent run` does to its own process. It allows no core dump (RLIMIT_CORE
0, soft and hard, whatever it was started with; PR_SET_DUMPABLE 0 is proven by the unit test of
ProcessHardening), and a stderr whose reader went away does not kill it: SIGPIPE is ignored,
so the next log line fails quietly instead of ending the daemon."""

import os
import resource
import signal
import socket
import subprocess
import time


def core_limits(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max core file size"):
                return line.split()[4:6]
    raise AssertionError("no core limit in /proc/%d/limits" % pid)


def status_code(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(b"GET /status HTTP/1.1\r\n\r\n")
        return int(s.recv(4096).split()[1])


def allow_cores():
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def test_no_core_dumps(spawn_emulator, hubagent):
    emu = spawn_emulator()
    agent = hubagent(emu)
    agent.preexec = allow_cores  # started with cores allowed, as a shell with `ulimit -c unlimited`
    agent.start()
    agent.wait_for(r"serving access tokens", timeout=10)  # logged once SIGTERM is handled
    assert core_limits(agent.proc.pid) == ["0", "0"]
    assert agent.stop() == 0


def test_closed_stderr_does_not_kill_the_daemon(spawn_emulator, hubagent):
    emu = spawn_emulator()
    agent = hubagent(emu)  # for its directories; started by hand, stderr into a pipe read here
    proc = subprocess.Popen(agent.args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        seen = b""
        while b"serving access tokens" not in seen:
            line = proc.stderr.readline()
            assert line, seen
            seen += line
        proc.stderr.close()  # the reader is gone
        os.kill(proc.pid, signal.SIGHUP)  # logs "reloaded …": a write into the closed pipe
        time.sleep(1)
        assert proc.poll() is None, "the daemon died (%s) writing to a closed stderr" % proc.returncode
        assert status_code(os.path.join(agent.runtime_dir, "token.sock")) == 200
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
