"""System-test harness: the release binary of hubagent against the southgate emulator over TLS,
as a black box. Scenarios live in the numbered test_NNN_*.py files beside this one."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Tests", "Emulator"))

from harness import spawner  # noqa: E402

BINARY = os.environ.get("HUBAGENT_BIN", os.path.join(ROOT, ".build", "release", "hubagent"))
# The test build (make test-build): the release build with the test hooks compiled in, for the
# scenarios that use a hook (HUBAGENT_TEST_*). Everything else runs BINARY, the shipped binary.
TEST_BINARY = os.environ.get("HUBAGENT_TEST_BIN", os.path.join(ROOT, ".build-test", "release", "hubagent"))


class Hubagent:
    """One `hubagent run` process with its own configuration, state and runtime directories.

    Its stderr is read by a thread into `lines`; `wait_for` blocks on a condition variable until
    a line matches, so tests wait for events, not for time."""

    def __init__(self, workdir, emulator, extra_args=(), binary=None):
        self.binary = binary or BINARY
        self.workdir = str(workdir)
        self.config_dir = os.path.join(self.workdir, "conf")
        self.state_dir = os.path.join(self.workdir, "state")
        self.runtime_dir = os.path.join(self.workdir, "run")
        os.makedirs(self.config_dir, exist_ok=True)
        self.emulator = emulator
        self.extra_args = list(extra_args)
        self.proc = None
        self.lines = []
        self.log_path = os.path.join(self.workdir, "hubagent.log")
        self._cond = threading.Condition()
        self._reader = None
        self.starts = 0
        self.cursor = 0
        # Extra environment variables for the next start (test hooks).
        self.env = {}
        # Run in the child before exec (limits, as the unit sets them).
        self.preexec = None

    @property
    def args(self):
        return [self.binary, "run", "--config-dir", self.config_dir, "--state-dir", self.state_dir,
                "--runtime-dir", self.runtime_dir, "--ca-file", self.emulator.ca] + self.extra_args

    def write_boarding(self, boarding, name="boarding.json"):
        import json
        path = os.path.join(self.config_dir, name)
        tmp = path + ".new"
        with open(tmp, "w") as f:
            json.dump(boarding, f)
        os.rename(tmp, path)
        return path

    def start(self, prefix=()):
        """Starts the daemon; returns the index of the first log line of this run."""
        mark = len(self.lines)
        self.cursor = mark
        self.proc = subprocess.Popen(list(prefix) + self.args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=dict(os.environ, **self.env),
                                     preexec_fn=self.preexec)
        self.starts += 1
        self.prefixed = bool(prefix)
        self._reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
        self._reader.start()
        return mark

    def _read(self, proc):
        with open(self.log_path, "ab") as log:
            for raw in proc.stderr:
                log.write(raw)
                log.flush()
                with self._cond:
                    self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                    self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, pattern, timeout=30, since=None):
        """The first match of `pattern` in a log line at index >= since (default: after the
        previous match, so successive calls read the log in order); fails on timeout or exit."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        index = self.cursor if since is None else since
        with self._cond:
            while True:
                while index < len(self.lines):
                    match = regex.search(self.lines[index])
                    index += 1
                    if match:
                        self.cursor = index
                        return match
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise AssertionError("hubagent exited (%s) before logging %r:\n%s"
                                         % (self.proc.returncode, pattern, self.log()))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("no log line matched %r within %ss:\n%s" % (pattern, timeout, self.log()))
                self._cond.wait(remaining)

    def count(self, pattern, since=0):
        regex = re.compile(pattern)
        with self._cond:
            return sum(1 for line in self.lines[since:] if regex.search(line))

    def log(self):
        with self._cond:
            return "\n".join(self.lines)

    def stop(self, timeout=20):
        """SIGTERM; returns the exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.kill(self.daemon_pid(), signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def daemon_pid(self):
        """The hubagent process: the child of a wrapper such as strace, when one was used."""
        if not self.prefixed:
            return self.proc.pid
        with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
            return int(f.read().split()[0])

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self._reader.join(timeout=5)

    def run_once(self, timeout=30):
        """Runs to completion (for start-up errors); returns (exit status, stderr text)."""
        mark = self.start()
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code, "\n".join(self.lines[mark:])

    def state_files(self):
        """The state directory's entries, without its lock file (`.lock`, which holds a pid)."""
        if not os.path.isdir(self.state_dir):
            return []
        return sorted(n for n in os.listdir(self.state_dir) if n != ".lock")

    def stored_state(self):
        import json
        names = [n for n in self.state_files() if re.fullmatch(r"state\.\d+\.json", n)]
        names.sort(key=lambda n: int(n.split(".")[1]))
        with open(os.path.join(self.state_dir, names[-1])) as f:
            return json.load(f)


@pytest.fixture(scope="session")
def binary():
    assert os.access(BINARY, os.X_OK), "build the release binary first (make release): " + BINARY
    return BINARY


@pytest.fixture(scope="session")
def test_binary():
    assert os.access(TEST_BINARY, os.X_OK), "build the test binary first (make test-build): " + TEST_BINARY
    return TEST_BINARY


@pytest.fixture
def spawn_emulator(tmp_path):
    """spawn_emulator(*extra_args, name=..., **Emulator kwargs): a dedicated emulator, stopped
    at the end of the test (it must exit 0)."""
    start, stop_all = spawner(tmp_path, default_name="southgate")
    yield start
    stop_all()


def _daemons(tmp_path, binary):
    agents = []

    def make(emulator, name="gateway", extra_args=()):
        agent = Hubagent(tmp_path / name, emulator, extra_args, binary=binary)
        agents.append(agent)
        return agent
    yield make
    for agent in agents:
        if agent.proc is not None and agent.proc.poll() is None:
            agent.kill()


@pytest.fixture
def hubagent(tmp_path, binary):
    """hubagent(emulator, name=..., extra_args=...): a daemon, killed at the end if still running."""
    yield from _daemons(tmp_path, binary)


@pytest.fixture
def hubagent_test(tmp_path, test_binary):
    """The same with the test build, for scenarios that use a test hook."""
    yield from _daemons(tmp_path, test_binary)


def assertions_in(requests, client_id=None):
    """The client assertions of every token request in the emulator's log."""
    from urllib.parse import parse_qs
    found = []
    for entry in requests:
        if entry["method"] == "POST" and entry["path"].endswith("/oauth/token"):
            form = parse_qs(entry["body"])
            found.append((entry, form.get("client_assertion", [""])[0]))
    return found


def unix_http(path, request=b"GET /token HTTP/1.1\r\nHost: x\r\n\r\n", timeout=40):
    """One HTTP/1.1 exchange on a Unix socket (the token socket): (status, body)."""
    import socket
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body
