"""Scenario 20: hubagent as a service of a real systemd 252 (Debian 12 under systemd-nspawn):
start waits for READY=1, StatusText follows the lifecycle, reload applies new settings, the
watchdog restarts a wedged daemon, a configuration error exits 78 without a restart loop, the
state has private modes, and journal lines carry their priorities. The emulator runs on the host
loopback, which the container shares."""

import json
import os
import re
import shutil
import subprocess

import pytest

from container import UNITS, Container, start_units, unit_binds

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
UNIT = os.path.join(ROOT, "systemd", "hubagent.service")

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("systemd-nspawn") is None or shutil.which("debootstrap") is None,
    reason="needs root, systemd-nspawn and debootstrap (make deps installs them)")

TEST_DROP_IN = """[Service]
# Test settings: trust the emulator's CA, a short watchdog and restart delay.
ExecStart=
ExecStart=/usr/bin/hubagent run --ca-file /etc/hubagent/ca.pem
WatchdogSec=3s
RestartSec=1s
"""

# Only for the watchdog scenario: the test build, whose SIGUSR1 hook stops the watchdog pings.
TEST_BUILD_DROP_IN = """[Service]
ExecStart=
ExecStart=/usr/bin/hubagent-test run --ca-file /etc/hubagent/ca.pem
Environment=HUBAGENT_TEST_HOOKS=1
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory, binary, test_binary):
    from harness import Emulator
    work = tmp_path_factory.mktemp("systemd")
    emu = Emulator(str(work / "southgate"), ["--secret-lifetime", "120", "--token-lifetime", "30"]).start()
    conf = work / "etc-hubagent"
    conf.mkdir()
    conf.chmod(0o755)
    shutil.copy(emu.ca, conf / "ca.pem")
    dropins = work / "hubagent.service.d"
    dropins.mkdir()
    (dropins / "10-test.conf").write_text(TEST_DROP_IN)
    container = Container(str(work), binds=[(str(conf), "/etc/hubagent")],
                          binds_ro=[(binary, "/usr/bin/hubagent"), (test_binary, "/usr/bin/hubagent-test"),
                                    (str(dropins), "/etc/systemd/system/hubagent.service.d"),
                                    ("/etc/hosts", "/etc/hosts")] + unit_binds()).boot()
    start_units(container)
    container.dropins = dropins
    yield container, emu, conf
    container.poweroff()
    emu.stop()


def test_unit_is_clean_and_hardened(service):
    container, _, _ = service
    for unit in UNITS:
        verify = container.run("systemd-analyze", "verify", "--man=no", "/etc/systemd/system/" + unit, check=False)
        assert verify.returncode == 0 and verify.stdout + verify.stderr == "", unit + ": " + verify.stdout + verify.stderr
    security = container.run("systemd-analyze", "security", "--offline=true", "--threshold=15",
                             "/etc/systemd/system/hubagent.service", check=False)
    assert security.returncode == 0, security.stdout[-2000:]
    score = float(security.stdout.strip().splitlines()[-1].split("exposure level for")[-1].split(":")[1].split()[0])
    assert score <= 1.5, security.stdout[-400:]


def test_start_returns_ready_while_waiting_for_a_boarding_file(service):
    container, _, _ = service
    container.run("systemctl", "start", "hubagent")
    assert container.show("hubagent", "ActiveState") == "active"
    assert container.show("hubagent", "SubState") == "running"
    assert container.show("hubagent", "StatusText").startswith("waiting for a boarding file")


def test_status_text_moves_to_onboarded(service):
    container, emu, conf = service
    _, boarding = emu.create_agent("RSA_3072")
    # As the README says: root's alone (systemd reads it for the service), moved into place.
    tmp = conf / "boarding.json.new"
    fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, json.dumps(boarding).encode())
    os.close(fd)
    tmp.rename(conf / "boarding.json")
    status = container.wait_show("hubagent", "StatusText", lambda s: s.startswith("onboarded; token valid until"))
    assert "secret rotates in" in status


def test_state_is_private(service):
    container, _, _ = service
    uid = container.run("stat", "-c", "%u", "/proc/%s" % container.show("hubagent", "MainPID")).stdout.strip()
    listing = container.run("stat", "-c", "%a %u %n", "/var/lib/private/hubagent").stdout.split()
    assert listing[:2] == ["700", uid]
    files = container.run("sh", "-c", "stat -c '%a %u %n' /var/lib/private/hubagent/*").stdout.splitlines()
    assert files
    for line in files:
        mode, owner, _ = line.split()
        assert (mode, owner) == ("600", uid), line


def test_reload_applies_new_settings(service):
    container, _, conf = service
    (conf / "hubagent.conf").write_text("log_level = debug\n")
    container.run("systemctl", "reload", "hubagent")
    # RELOADING=1 then READY=1 (Type=notify): `systemctl reload` may return in between.
    container.wait_show("hubagent", "ActiveState", lambda state: state == "active", timeout=30)
    assert "reloaded /etc/hubagent/hubagent.conf: log_level debug" in container.journal("hubagent")
    # A broken file on reload is reported and the running settings are kept.
    (conf / "hubagent.conf").write_text("log_level = loud\n")
    container.run("systemctl", "reload", "hubagent")
    # RELOADING=1 then READY=1 (Type=notify): `systemctl reload` may return in between.
    container.wait_show("hubagent", "ActiveState", lambda state: state == "active", timeout=30)
    assert "keeping the running settings" in container.journal("hubagent")
    (conf / "hubagent.conf").unlink()


def test_journal_priorities(service):
    container, _, _ = service
    entries = [json.loads(line) for line in container.journal("hubagent", output="json").splitlines() if line.startswith("{")]
    by_message = {}
    for entry in entries:
        by_message.setdefault(entry.get("MESSAGE", ""), entry.get("PRIORITY"))
    onboarded = [p for m, p in by_message.items() if isinstance(m, str) and m.startswith("onboarded as")]
    refused = [p for m, p in by_message.items() if isinstance(m, str) and "keeping the running settings" in m]
    tokens = [p for m, p in by_message.items() if isinstance(m, str) and m.startswith("access token valid until")]
    assert onboarded == ["5"] and tokens and set(tokens) == {"6"} and refused == ["3"], by_message
    assert not [m for m in by_message if isinstance(m, str) and (m.startswith("<") or m.startswith("notice:"))]


def test_start_is_clean(service):
    """Nothing in the unit's journal that reads as an error but is none: libdispatch's renice of
    its worker threads is let through the system call filter (systemd/hubagent.service)."""
    container, _, _ = service
    journal = container.run("journalctl", "-b", "--no-pager", "-u", "hubagent", check=False).stdout
    assert "starting; state in" in journal, journal[-2000:]
    assert "Failed to set thread priority" not in journal, journal[-2000:]
    # The process hardening of `hubagent run` (prctl, setrlimit) passes the unit's system call filter quietly.
    assert "core dumps stay possible" not in journal and "RLIMIT" not in journal, journal[-2000:]
    limits = container.run("sh", "-c", "cat /proc/$(systemctl show -p MainPID --value hubagent)/limits").stdout
    assert re.search(r"Max core file size\s+0\s+0\s", limits), limits


def test_watchdog_restarts_a_wedged_daemon(service):
    container, _, _ = service
    # The SIGUSR1 hook is in the test build only: run the unit with it for this scenario.
    drop_in = container.dropins / "20-test-build.conf"
    drop_in.write_text(TEST_BUILD_DROP_IN)
    try:
        container.run("systemctl", "daemon-reload")
        container.run("systemctl", "restart", "hubagent")
        container.wait_show("hubagent", "ActiveState", lambda s: s == "active", timeout=30)
        restarts = int(container.show("hubagent", "NRestarts"))
        before = container.show("hubagent", "MainPID")
        container.run("systemctl", "kill", "-s", "SIGUSR1", "hubagent")
        container.wait_show("hubagent", "NRestarts", lambda n: n == str(restarts + 1), timeout=30)
        container.wait_show("hubagent", "ActiveState", lambda s: s == "active", timeout=30)
        assert container.show("hubagent", "MainPID") != before
        assert "Watchdog timeout" in container.run("journalctl", "-b", "--no-pager", check=False).stdout
    finally:
        drop_in.unlink()
        container.run("systemctl", "daemon-reload")


def test_configuration_error_exits_78_without_restart_loop(service):
    container, _, conf = service
    restarts = container.show("hubagent", "NRestarts")
    (conf / "hubagent.conf").write_text("rotate_every = 3d\n")
    result = container.run("systemctl", "restart", "hubagent", check=False)
    assert result.returncode != 0
    assert container.show("hubagent", "ActiveState") == "failed"
    assert container.show("hubagent", "ExecMainStatus") == "78"
    assert container.show("hubagent", "StatusErrno") == "22"
    assert container.show("hubagent", "NRestarts") == "0" or container.show("hubagent", "NRestarts") == restarts
    assert 'unknown setting "rotate_every"' in container.journal("hubagent")
    (conf / "hubagent.conf").unlink()


def test_broken_boarding_file_exits_78_without_restart_loop(service):
    container, _, conf = service
    container.run("systemctl", "reset-failed", "hubagent", check=False)
    # A gateway without an identity yet, and a boarding file cut short in the copy.
    container.run("rm", "-rf", "/var/lib/private/hubagent")
    (conf / "boarding.json").write_text('{"content": {"baseUrl": "https://localhost:1", "iat": ')
    result = container.run("systemctl", "start", "hubagent", check=False)
    assert result.returncode != 0
    assert container.show("hubagent", "ActiveState") == "failed"
    assert container.show("hubagent", "ExecMainStatus") == "78"
    assert container.show("hubagent", "NRestarts") == "0"
    assert "/etc/hubagent/boarding.json:1:" in container.journal("hubagent")


def test_stop_is_clean(service):
    container, emu, conf = service
    container.run("systemctl", "reset-failed", "hubagent", check=False)
    _, boarding = emu.create_agent("SHARED_SECRET")
    (conf / "boarding.json").write_text(json.dumps(boarding))
    container.run("systemctl", "start", "hubagent")
    container.wait_show("hubagent", "StatusText", lambda s: s.startswith("onboarded"))
    container.run("systemctl", "stop", "hubagent")
    assert container.show("hubagent", "Result") == "success"
    assert container.show("hubagent", "ActiveState") == "inactive"
