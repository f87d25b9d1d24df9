"""Scenario 36: the boarding file's initial access token (a bearer secret) is never readable by
another local user, under the shipped units in a real systemd 252 (Debian 12 under
systemd-nspawn). The operator drops a root-only file into /etc/hubagent; systemd hands it to the
service as a credential (LoadCredential=), hubagent-boarding.path restarts the running service
when a new one arrives. A local user polls every place they can read for the token during the
whole flow: the service waiting without a file, the drop, onboarding, the running agent. The
agent onboards from the file dropped after its start; `hubagent check` warns about a boarding
file others can read, with the fix."""

import json
import os
import shutil
import subprocess
import time

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

# Every place a local user could find the token: the configuration, runtime, state and temporary
# directories, the logs. Runs as that user until /tmp/stop-watching appears; prints what it found.
WATCH = r"""
found=0
while [ ! -e /tmp/stop-watching ]; do
    grep -rlsF -e "$IAT" /etc /run /var/lib /var/log /tmp /var/tmp /dev/shm /home 2>/dev/null && found=1
    cat /etc/hubagent/boarding.json 2>/dev/null | grep -qF -e "$IAT" && echo "read /etc/hubagent/boarding.json"
    rounds=$((rounds + 1))
done
echo "rounds $rounds"
"""


def drop_root_only(conf, boarding):
    """The documented flow: a root-only file (0600) moved into /etc/hubagent."""
    tmp = conf / "boarding.json.new"
    fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, json.dumps(boarding).encode())
    os.close(fd)
    tmp.rename(conf / "boarding.json")


@pytest.fixture(scope="module")
def service(tmp_path_factory, binary):
    from harness import Emulator
    work = tmp_path_factory.mktemp("credential")
    emu = Emulator(str(work / "southgate"), ["--secret-lifetime", "3600", "--token-lifetime", "3600"]).start()
    conf = work / "etc-hubagent"
    conf.mkdir()
    conf.chmod(0o755)
    shutil.copy(emu.ca, conf / "ca.pem")
    dropins = work / "hubagent.service.d"
    dropins.mkdir()
    (dropins / "10-test.conf").write_text(TEST_DROP_IN)
    container = Container(str(work), binds=[(str(conf), "/etc/hubagent")],
                          binds_ro=[(binary, "/usr/bin/hubagent"),
                                    (str(dropins), "/etc/systemd/system/hubagent.service.d"),
                                    ("/etc/hosts", "/etc/hosts")] + unit_binds()).boot()
    container.run("useradd", "--no-create-home", "mallory")
    start_units(container)
    yield container, emu, conf
    container.poweroff()
    emu.stop()


def test_boarding_token_never_readable_by_another_user(service):
    container, emu, conf = service
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    iat = boarding["content"]["iat"]
    watcher = subprocess.Popen(
        ["nsenter", "-t", str(container.pid1), "-a", "--", "setpriv", "--reuid=mallory", "--regid=mallory",
         "--init-groups", "--", "env", "IAT=" + iat, "sh", "-c", WATCH],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Started without a boarding file: it waits for one (systemd's stand-in credential).
        container.run("systemctl", "start", "hubagent")
        container.wait_show("hubagent", "StatusText", lambda s: s.startswith("waiting for a boarding file"))
        first = container.show("hubagent", "MainPID")
        time.sleep(0.5)

        # Dropped later: the path unit restarts the service, which onboards from the credential.
        drop_root_only(conf, boarding)
        container.wait_show("hubagent", "StatusText", lambda s: s.startswith("onboarded"), timeout=60)
        assert container.show("hubagent", "MainPID") != first
        journal = container.journal("hubagent")
        assert "onboarded as %s" % agent_id in journal, journal[-3000:]
        # The credential is the service's alone, in a directory only it can enter.
        listing = container.run("stat", "-c", "%a %U", "/run/credentials/hubagent.service",
                                "/run/credentials/hubagent.service/boarding.json").stdout.split("\n")
        assert listing[0].startswith("500 ") or listing[0].startswith("700 "), listing
        assert listing[1].startswith("400 "), listing
        time.sleep(0.5)
    finally:
        container.run("touch", "/tmp/stop-watching")
        output, _ = watcher.communicate(timeout=60)
    lines = output.strip().splitlines()
    assert lines and lines[-1].startswith("rounds ") and int(lines[-1].split()[1]) > 3, output
    assert lines[:-1] == [], output


def test_check_warns_about_a_boarding_file_others_can_read(service):
    container, emu, conf = service
    _, boarding = emu.create_agent("SHARED_SECRET")
    path = conf / "boarding.json"
    path.write_text(json.dumps(boarding))
    path.chmod(0o644)
    result = container.run("hubagent", "check", "--json", check=False)
    report = json.loads(result.stdout)
    entry = [c for c in report["checks"] if c["id"] == "config.boarding"][0]
    assert entry["status"] == "WARN", entry
    assert "/etc/hubagent/boarding.json is readable by other users (mode 644)" in entry["message"], entry
    assert entry["fix"].startswith("chown root:root /etc/hubagent/boarding.json && chmod 600 /etc/hubagent/boarding.json")
    path.chmod(0o600)
    report = json.loads(container.run("hubagent", "check", "--json", check=False).stdout)
    entry = [c for c in report["checks"] if c["id"] == "config.boarding"][0]
    assert entry["status"] == "OK", entry
