"""Scenario 37: under the shipped units in a real systemd 252 (Debian 12 under systemd-nspawn),
the members of the token socket's group get access tokens and nobody else does. The operator names
the group in a drop-in for hubagent.socket (SocketGroup=) and as token_socket_group in
hubagent.conf; systemd makes /run/hubagent/token.sock with that group and hands the listening
socket to the sandboxed service, which could not set such a group itself. The socket and its group
survive a restart of the service; `hubagent check` catches a token_socket_group that differs from
the socket's group."""

import json
import os
import shutil

import pytest

from container import Container, start_units, unit_binds

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("systemd-nspawn") is None or shutil.which("debootstrap") is None,
    reason="needs root, systemd-nspawn and debootstrap (make deps installs them)")

TEST_DROP_IN = """[Service]
ExecStart=
ExecStart=/usr/bin/hubagent run --ca-file /etc/hubagent/ca.pem
RestartSec=1s
"""

SOCKET_DROP_IN = """[Socket]
SocketGroup=tokenusers
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory, binary):
    from harness import Emulator
    work = tmp_path_factory.mktemp("tokengroup")
    emu = Emulator(str(work / "southgate"), ["--secret-lifetime", "3600", "--token-lifetime", "3600"]).start()
    conf = work / "etc-hubagent"
    conf.mkdir()
    conf.chmod(0o755)
    shutil.copy(emu.ca, conf / "ca.pem")
    (conf / "hubagent.conf").write_text("token_socket_group = tokenusers\n")
    _, boarding = emu.create_agent("SHARED_SECRET")
    fd = os.open(str(conf / "boarding.json"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, json.dumps(boarding).encode())
    os.close(fd)
    dropins = work / "hubagent.service.d"
    dropins.mkdir()
    (dropins / "10-test.conf").write_text(TEST_DROP_IN)
    socket_dropins = work / "hubagent.socket.d"
    socket_dropins.mkdir()
    (socket_dropins / "10-group.conf").write_text(SOCKET_DROP_IN)
    container = Container(str(work), binds=[(str(conf), "/etc/hubagent")],
                          binds_ro=[(binary, "/usr/bin/hubagent"),
                                    (str(dropins), "/etc/systemd/system/hubagent.service.d"),
                                    (str(socket_dropins), "/etc/systemd/system/hubagent.socket.d"),
                                    ("/etc/hosts", "/etc/hosts")] + unit_binds()).boot()
    container.run("groupadd", "tokenusers")
    container.run("useradd", "--no-create-home", "--groups", "tokenusers", "alice")
    container.run("useradd", "--no-create-home", "bob")
    start_units(container)
    container.run("systemctl", "start", "hubagent")
    container.wait_show("hubagent", "StatusText", lambda s: s.startswith("onboarded"), timeout=60)
    yield container, emu, conf
    container.poweroff()
    emu.stop()


def token_as(container, user):
    return container.run("setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups", "--",
                         "hubagent", "token", check=False)


def test_a_member_of_the_group_gets_a_token_and_others_do_not(service):
    container, _, _ = service
    listing = container.run("stat", "-c", "%a %U %G %F", "/run/hubagent", "/run/hubagent/token.sock").stdout.splitlines()
    assert listing == ["755 root root directory", "660 root tokenusers socket"], listing
    member = token_as(container, "alice")
    assert member.returncode == 0, member.stdout + member.stderr
    assert len(member.stdout.strip()) > 20
    other = token_as(container, "bob")
    assert other.returncode != 0 and other.stdout == "", other.stdout
    assert "permission denied on /run/hubagent/token.sock" in other.stderr, other.stderr
    assert "from systemd" in container.journal("hubagent")


def test_socket_and_group_survive_a_restart(service):
    container, _, _ = service
    before = container.run("stat", "-c", "%i", "/run/hubagent/token.sock").stdout
    container.run("systemctl", "restart", "hubagent")
    container.wait_show("hubagent", "StatusText", lambda s: s.startswith("onboarded"), timeout=60)
    assert container.run("stat", "-c", "%i", "/run/hubagent/token.sock").stdout == before
    assert token_as(container, "alice").returncode == 0
    # The daemon's own files are in its subdirectory; status finds them there.
    status = container.run("hubagent", "status", check=False)
    assert status.returncode == 0 and "onboarded" in status.stdout, status.stdout + status.stderr


def test_check_catches_a_group_mismatch(service):
    container, _, conf = service

    def systemd_check():
        report = json.loads(container.run("hubagent", "check", "--json", check=False).stdout)
        return [c for c in report["checks"] if c["id"] == "systemd.unit"][0]

    entry = systemd_check()
    assert entry["status"] == "OK", entry
    container.run("groupadd", "collectors")
    (conf / "hubagent.conf").write_text("token_socket_group = collectors\n")
    entry = systemd_check()
    assert entry["status"] == "FAIL", entry
    assert "token_socket_group is collectors in hubagent.conf, but /run/hubagent/token.sock has group tokenusers" \
        in entry["message"], entry
    assert "SocketGroup=collectors" in entry["fix"], entry
    (conf / "hubagent.conf").write_text("token_socket_group = tokenusers\n")
