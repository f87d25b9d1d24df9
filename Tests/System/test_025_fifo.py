"""Scenario 25: a FIFO where a file belongs never hangs the daemon. As boarding.json at start:
exit 78 at once naming the file and the fix, instead of blocking before READY. As boarding.json,
datasources.yaml or hubagent.conf while it runs: reported, the daemon keeps serving (GET /status)
and SIGTERM stops it within a second. As ca_file: exit 78 naming it. As state.99.json in the
state directory: skipped with the reason, the stored identity in use."""

import json
import os
import signal
import time

from conftest import unix_http

EX_CONFIG = 78


def get(path, target="/status"):
    return unix_http(path, b"GET " + target.encode() + b" HTTP/1.1\r\n\r\n", timeout=10)[0]


def fifo(path):
    """A FIFO at `path`, moved into place as an editor or a copy would (inotify's IN_MOVED_TO)."""
    temporary = path + ".new"
    os.mkfifo(temporary, 0o644)
    os.rename(temporary, path)


def stop_within_a_second(agent):
    started = time.monotonic()
    os.kill(agent.proc.pid, signal.SIGTERM)
    assert agent.proc.wait(timeout=5) == 0
    assert time.monotonic() - started < 1.0


def test_fifo_as_boarding_file_at_start(spawn_emulator, hubagent):
    emu = spawn_emulator()
    agent = hubagent(emu)
    boarding = os.path.join(agent.config_dir, "boarding.json")
    os.mkfifo(boarding, 0o644)
    started = time.monotonic()
    code, output = agent.run_once(timeout=20)
    assert code == EX_CONFIG, output
    assert time.monotonic() - started < 5
    assert boarding + ": is a FIFO (named pipe), not a regular file; replace it with a regular file" in output, output
    assert emu.requests() == []


def test_fifo_as_ca_file(spawn_emulator, hubagent):
    emu = spawn_emulator()
    agent = hubagent(emu)
    ca = os.path.join(agent.workdir, "ca.pem")
    os.mkfifo(ca, 0o644)
    agent.extra_args = ["--ca-file", ca]  # after the harness's own --ca-file: the last one counts
    code, output = agent.run_once(timeout=20)
    assert code == EX_CONFIG, output
    assert ca + ": is a FIFO (named pipe), not a regular file; set --ca-file to a PEM file" in output, output


def test_fifos_while_running(spawn_emulator, hubagent):
    emu = spawn_emulator()
    agent = hubagent(emu)
    agent.start()
    agent.wait_for(r"waiting for a boarding file", timeout=10)
    agent.wait_for(r"serving access tokens to local programs", timeout=10)
    socket_path = os.path.join(agent.runtime_dir, "token.sock")

    # boarding.json and datasources.yaml picked up by inotify; hubagent.conf on SIGHUP.
    fifo(os.path.join(agent.config_dir, "boarding.json"))
    agent.wait_for(r"boarding\.json: is a FIFO \(named pipe\), not a regular file", timeout=10)
    fifo(os.path.join(agent.config_dir, "datasources.yaml"))
    fifo(os.path.join(agent.config_dir, "hubagent.conf"))
    os.kill(agent.proc.pid, signal.SIGHUP)
    agent.wait_for(r"hubagent\.conf: is a FIFO \(named pipe\), not a regular file.*keeping the running settings",
                   timeout=10, since=0)
    agent.wait_for(r"datasources\.yaml: is a FIFO \(named pipe\), not a regular file", timeout=10, since=0)

    # The work queue is not wedged: status answers, SIGTERM is handled at once.
    assert get(socket_path) == 200
    stop_within_a_second(agent)


def test_fifo_named_as_a_state_generation(spawn_emulator, hubagent):
    emu = spawn_emulator("--token-lifetime", "3600", "--secret-lifetime", "3600")
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"access token valid until", timeout=20)
    assert agent.stop() == 0

    state99 = os.path.join(agent.state_dir, "state.99.json")
    os.mkfifo(state99, 0o600)
    mark = agent.start()
    agent.wait_for(r"ignoring unreadable state %s is a FIFO \(named pipe\), not a regular file; fix: remove it"
                   % state99.replace(".", r"\."), timeout=10, since=mark)
    agent.wait_for(r"access token valid until", timeout=20)
    assert get(os.path.join(agent.runtime_dir, "token.sock"), "/token") == 200
    stop_within_a_second(agent)
    # (not stored_state(): it would open the FIFO, the newest name, and wait for a writer)
    newest = max((n for n in agent.state_files() if n != "state.99.json" and n.startswith("state.")),
                 key=lambda n: int(n.split(".")[1]))
    with open(os.path.join(agent.state_dir, newest)) as f:
        assert json.load(f)["identity"]["clientId"] == agent_id
