"""Scenario 38: the data relay under the shipped units in a real systemd 252 (Debian 12 under
systemd-nspawn). hubagent-data.socket makes /run/hubagent/data.sock with the group the operator
gives it (SocketGroup=, like the token socket) and hands it to the sandboxed service: a member of
that group sends values with `hubagent send` and they reach Insights Hub, a non-member is refused,
a member of the token socket's group alone cannot send and a sender cannot get tokens. The journal
lives in the service's private state directory."""

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

DATASOURCES = """configurationId: line-1
dataSources:
  - name: Boiler
    dataPoints:
      - id: dp-temp
        name: Temperature
        type: DOUBLE
        unit: "°C"
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory, binary):
    from harness import Emulator
    work = tmp_path_factory.mktemp("relayunit")
    emu = Emulator(str(work / "southgate"), ["--secret-lifetime", "3600", "--token-lifetime", "3600"]).start()
    conf = work / "etc-hubagent"
    conf.mkdir()
    conf.chmod(0o755)
    shutil.copy(emu.ca, conf / "ca.pem")
    (conf / "hubagent.conf").write_text(
        "relay = on\ndata_socket_group = senders\ntoken_socket_group = tokenusers\nrelay_flush_interval = 200ms\n")
    (conf / "datasources.yaml").write_text(DATASOURCES)
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    fd = os.open(str(conf / "boarding.json"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, json.dumps(boarding).encode())
    os.close(fd)
    dropins = {}
    for unit, text in [("hubagent.service", TEST_DROP_IN),
                       ("hubagent.socket", "[Socket]\nSocketGroup=tokenusers\n"),
                       ("hubagent-data.socket", "[Socket]\nSocketGroup=senders\n")]:
        directory = work / (unit + ".d")
        directory.mkdir()
        (directory / "10-test.conf").write_text(text)
        dropins[unit] = directory
    container = Container(str(work), binds=[(str(conf), "/etc/hubagent")],
                          binds_ro=[(binary, "/usr/bin/hubagent"), ("/etc/hosts", "/etc/hosts")]
                          + [(str(d), "/etc/systemd/system/%s.d" % unit) for unit, d in dropins.items()]
                          + unit_binds()).boot()
    container.run("groupadd", "senders")
    container.run("groupadd", "tokenusers")
    container.run("useradd", "--no-create-home", "--groups", "senders", "alice")
    container.run("useradd", "--no-create-home", "--groups", "tokenusers", "carol")
    container.run("useradd", "--no-create-home", "bob")
    start_units(container)
    container.run("systemctl", "start", "hubagent")
    container.wait_show("hubagent", "StatusText", lambda s: s.startswith("onboarded"), timeout=60)
    yield container, emu, agent_id
    container.poweroff()
    emu.stop()


def as_user(container, user, *args, stdin=None):
    return container.run("setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups", "--", *args,
                         check=False, input=stdin)


def test_a_member_of_the_data_group_sends_values_and_others_cannot(service):
    container, emu, agent_id = service
    listing = container.run("stat", "-c", "%a %U %G %F", "/run/hubagent/data.sock").stdout.splitlines()
    assert listing == ["660 root senders socket"], listing
    lines = "".join(json.dumps({"dataPointId": "Boiler/Temperature", "value": 20 + i,
                                "timestamp": 1764583200000 + i * 1000}) + "\n" for i in range(50))
    sent = as_user(container, "alice", "hubagent", "send", stdin=lines)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "accepted 50 values" in sent.stdout
    emu.await_values(agent_id, 50, timeout=30)
    assert sorted(float(v["value"]) for v in emu.timeseries(agent_id)) == [20.0 + i for i in range(50)]

    refused = as_user(container, "bob", "hubagent", "send", stdin=lines)
    assert refused.returncode == 77, refused.stdout + refused.stderr
    assert "permission denied on /run/hubagent/data.sock" in refused.stderr, refused.stderr
    # The token socket's group does not open the data socket, nor the data socket's the tokens.
    assert as_user(container, "carol", "hubagent", "send", stdin=lines).returncode == 77
    assert as_user(container, "alice", "hubagent", "token").returncode != 0
    assert emu.counts(agent_id)["values"] == 50


def test_relay_status_and_check_under_the_unit(service):
    container, _, _ = service
    status = as_user(container, "alice", "hubagent", "relay", "status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    report = json.loads(status.stdout)
    assert report["state"] == "running" and report["uploadedRecords"] >= 50, report
    checks = json.loads(container.run("hubagent", "check", "--json", check=False).stdout)["checks"]
    by_id = {c["id"]: c for c in checks}
    assert by_id["relay.socket"]["status"] == "OK", by_id["relay.socket"]
    assert by_id["relay.disk"]["status"] == "OK", by_id["relay.disk"]
    # The journal is in the service's private state directory, not readable by others.
    mode = container.run("stat", "-c", "%a", "/var/lib/private/hubagent/relay").stdout.strip()
    assert mode == "700", mode
