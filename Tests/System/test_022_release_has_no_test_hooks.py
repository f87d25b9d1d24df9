"""Scenario 22: the shipped binary carries no test hook. The release build holds none of the
HUBAGENT_TEST_* names that switch the hooks on (the test build holds them all, so the search
can fail), and SIGUSR1, which stops the watchdog pings in the test build, keeps its default
action in the release binary: it ends the daemon, which systemd then restarts, instead of
leaving it running without pings."""

import os
import signal

import pytest

HOOKS = [b"HUBAGENT_TEST_HOOKS", b"HUBAGENT_TEST_STORAGE_FAULT", b"HUBAGENT_TEST_ROTATION_INTERVAL",
         b"HUBAGENT_TEST_TOKEN_REFRESH_INTERVAL", b"HUBAGENT_TEST_SYSTEMD_DIRECTORY"]


def contents(path):
    with open(path, "rb") as f:
        return f.read()


@pytest.mark.parametrize("name", HOOKS)
def test_release_binary_has_no_hook_names(binary, test_binary, name):
    assert name in contents(test_binary), "the test build must have %s, or this search proves nothing" % name
    assert name not in contents(binary)
    assert b"HUBAGENT_TEST_" not in contents(binary)


def test_release_binary_has_no_fault_injection(binary, test_binary):
    # The messages of the storage fault hook and of the watchdog stop exist only with the hooks.
    for text in [b"test hook: injecting", b"test hook: watchdog pings stopped"]:
        assert text in contents(test_binary)
        assert text not in contents(binary)


def test_sigusr1_keeps_its_default_action_in_the_release_binary(spawn_emulator, hubagent):
    emu = spawn_emulator()
    agent = hubagent(emu)
    # The variable that switches the hooks on in the test build changes nothing here.
    agent.env["HUBAGENT_TEST_HOOKS"] = "1"
    agent.start()
    agent.wait_for(r"serving access tokens to local programs", timeout=10)
    agent.proc.send_signal(signal.SIGUSR1)
    assert agent.proc.wait(timeout=10) == -signal.SIGUSR1
    assert agent.count(r"test hook") == 0


def test_sigusr1_stops_the_watchdog_in_the_test_build(spawn_emulator, hubagent_test):
    """The counterpart: in the test build the hook is there (test_020 shows systemd's reaction)."""
    emu = spawn_emulator()
    agent = hubagent_test(emu)
    agent.env["HUBAGENT_TEST_HOOKS"] = "1"
    agent.start()
    agent.wait_for(r"serving access tokens to local programs", timeout=10)
    agent.proc.send_signal(signal.SIGUSR1)
    agent.wait_for(r"test hook: watchdog pings stopped", timeout=10)
    assert agent.proc.poll() is None
    assert agent.stop() == 0


def test_binaries_are_distinct(binary, test_binary):
    assert os.path.realpath(binary) != os.path.realpath(test_binary)
