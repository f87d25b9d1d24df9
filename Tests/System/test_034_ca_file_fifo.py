"""Scenario 34: the extra CA bundle (ca_file) is read by hubagent itself, non-blocking and bounded,
for every request. A FIFO swapped in for it while the daemon runs is refused with a message that
names the file and the fix; the work queue is not wedged (status answers, SIGTERM stops at once),
and once a PEM file is back, requests succeed again."""

import os
import re
import shutil
import signal
import time

from conftest import unix_http


def test_fifo_swapped_in_as_ca_file_while_running(spawn_emulator, hubagent):
    emu = spawn_emulator("--token-lifetime", "4", "--secret-lifetime", "3600")
    _, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    ca = os.path.join(agent.workdir, "extra-ca.pem")
    shutil.copy(emu.ca, ca)
    agent.extra_args = ["--ca-file", ca]  # after the harness's own --ca-file: the last one counts
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"access token valid until", timeout=20)

    fifo = ca + ".new"
    os.mkfifo(fifo, 0o644)
    os.rename(fifo, ca)
    mark = len(agent.lines)
    agent.wait_for(r"ca_file %s is a FIFO \(named pipe\), not a regular file; fix: set ca_file to a PEM file"
                   % re.escape(ca), timeout=20, since=mark)
    socket_path = os.path.join(agent.runtime_dir, "token.sock")
    assert unix_http(socket_path, b"GET /status HTTP/1.1\r\n\r\n", timeout=5)[0] == 200

    # A PEM file again: the next request succeeds.
    os.unlink(ca)
    shutil.copy(emu.ca, ca)
    mark = len(agent.lines)
    agent.wait_for(r"access token valid until", timeout=30, since=mark)

    os.unlink(ca)
    os.mkfifo(ca, 0o644)
    agent.wait_for(r"ca_file %s is a FIFO" % re.escape(ca), timeout=20, since=mark)
    started = time.monotonic()
    os.kill(agent.proc.pid, signal.SIGTERM)
    assert agent.proc.wait(timeout=20) == 0
    assert time.monotonic() - started < 2.0
