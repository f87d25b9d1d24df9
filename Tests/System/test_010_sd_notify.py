"""Scenario 10: the sd_notify conversation with a fake service manager, on a path socket and on
an abstract one: READY=1 once the work loop runs (not after the network), STATUS= per state
change, WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1 + MONOTONIC_USEC= then READY=1 on
SIGHUP, STOPPING=1 on SIGTERM, and ERRNO= before exit 78."""

import os
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest


class FakeManager:
    """An AF_UNIX datagram socket that records each notification with the sender's pid."""

    def __init__(self, address):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(address)
        self.address = address
        self.messages = []
        self.cond = threading.Condition()
        threading.Thread(target=self._receive, daemon=True).start()

    @property
    def env_value(self):
        return "@" + self.address[1:].decode() if isinstance(self.address, bytes) else self.address

    def _receive(self):
        while True:
            try:
                data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except OSError:
                return
            pid = None
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", payload[:12])[0]
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            with self.cond:
                self.messages.append((time.monotonic(), pid, fields))
                self.cond.notify_all()

    def wait_for(self, predicate, timeout=20, since=0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for index in range(since, len(self.messages)):
                    if predicate(self.messages[index][2]):
                        return index
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("no matching notification; got %r" % [m[2] for m in self.messages])
                self.cond.wait(remaining)

    def close(self):
        self.sock.close()


@pytest.fixture(params=["path", "abstract"])
def manager(request, tmp_path):
    # A fresh abstract name each time: a name stays bound while a reader thread still blocks on it.
    address = str(tmp_path / "notify") if request.param == "path" else b"\0hubagent-test-" + os.urandom(8).hex().encode()
    fake = FakeManager(address)
    yield fake
    fake.close()


def start(agent, manager, watchdog_usec):
    env = dict(os.environ, NOTIFY_SOCKET=manager.env_value, WATCHDOG_USEC=str(watchdog_usec))
    # WATCHDOG_PID must be the daemon's own pid: exec keeps the pid of the shell.
    proc = subprocess.Popen(["sh", "-c", 'WATCHDOG_PID=$$ exec "$0" "$@"'] + agent.args, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    agent.proc = proc
    agent.cursor = len(agent.lines)
    agent._reader = threading.Thread(target=agent._read, args=(proc,), daemon=True)
    agent._reader.start()
    return proc


def test_notify_sequence(spawn_emulator, hubagent, manager):
    emu = spawn_emulator()
    agent = hubagent(emu)
    proc = start(agent, manager, watchdog_usec=1_000_000)
    try:
        ready = manager.wait_for(lambda f: f.get("READY") == "1")
        assert manager.messages[ready][1] == proc.pid, "READY must come from the main process"
        assert manager.messages[ready][2]["STATUS"].startswith("waiting for a boarding file")

        # A boarding file appears: the status follows the lifecycle.
        _, boarding = emu.create_agent("SHARED_SECRET")
        agent.write_boarding(boarding)
        manager.wait_for(lambda f: f.get("STATUS", "").startswith("onboarded; token valid until"), since=ready)

        # Watchdog pings at half of WATCHDOG_USEC (1 s -> every 0.5 s).
        first = manager.wait_for(lambda f: f.get("WATCHDOG") == "1", since=ready)
        later = manager.wait_for(lambda f: f.get("WATCHDOG") == "1", since=first + 1)
        last = manager.wait_for(lambda f: f.get("WATCHDOG") == "1", since=later + 1)
        interval = (manager.messages[last][0] - manager.messages[first][0]) / 2
        assert 0.3 <= interval <= 0.8, interval

        # Reload: RELOADING=1 with MONOTONIC_USEC in one datagram, then READY=1.
        mark = len(manager.messages)
        before = time.clock_gettime(time.CLOCK_MONOTONIC)
        proc.send_signal(signal.SIGHUP)
        reloading = manager.wait_for(lambda f: f.get("RELOADING") == "1", since=mark)
        fields = manager.messages[reloading][2]
        assert "MONOTONIC_USEC" in fields
        assert abs(int(fields["MONOTONIC_USEC"]) / 1e6 - before) < 5
        manager.wait_for(lambda f: f.get("READY") == "1", since=reloading + 1)

        # Stop: STOPPING=1, exit 0.
        mark = len(manager.messages)
        proc.send_signal(signal.SIGTERM)
        manager.wait_for(lambda f: f.get("STOPPING") == "1", since=mark)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_ready_does_not_wait_for_the_network(spawn_emulator, hubagent, manager):
    """GIVEN a southgate that does not answer WHEN the daemon starts THEN READY=1 comes at once."""
    emu = spawn_emulator()
    _, boarding = emu.create_agent("SHARED_SECRET")
    emu.fault(method="POST", path="/register$", count=1, kind="delay", seconds=10)
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    started = time.monotonic()
    proc = start(agent, manager, watchdog_usec=10_000_000)
    try:
        manager.wait_for(lambda f: f.get("READY") == "1", timeout=5)
        assert time.monotonic() - started < 5
        assert not [r for r in emu.requests() if r["status"] == 201], "READY came after onboarding"
    finally:
        proc.kill()


def test_configuration_error_reports_errno(spawn_emulator, hubagent, manager):
    emu = spawn_emulator()
    agent = hubagent(emu)
    with open(os.path.join(agent.config_dir, "hubagent.conf"), "w") as f:
        f.write("log_level = loud\n")
    proc = start(agent, manager, watchdog_usec=10_000_000)
    assert proc.wait(timeout=10) == 78
    index = manager.wait_for(lambda f: "ERRNO" in f, timeout=5)
    assert manager.messages[index][2]["ERRNO"] == "22"
    assert "log_level" in manager.messages[index][2]["STATUS"]
    assert not [m for m in manager.messages if m[2].get("READY") == "1"]
