"""Scenario 15: `hubagent check` diagnoses a gateway with stable check ids, one line each (human)
or one JSON object, and exits with the number of FAILs. Each FAIL and WARN it knows is provoked
once here: no boarding file, an expired one, a state file 0644, a wrong CA, southgate's clock off
by 400 s (and 120 s), broken settings and data source files, the systemd unit without watchdog
or failed (through a stand-in systemctl); `--online` costs exactly one token request. No
credential ever appears in its output."""

import json
import os
import re
import shutil
import stat
import subprocess

import pytest

from pki import unrelated_ca
from proxy import ConnectProxy

AM = "/api/agentmanagement/v3"

IDS = ["config.boarding", "config.datasources", "config.settings", "state.permissions", "boarding.expiry",
       "network.dns", "network.tls", "clock.offset", "token.roundtrip", "systemd.unit", "relay.disk",
       "relay.socket"]


def check(binary, workdir, *flags, ca=None, env=None, timeout=60):
    """(exit status, stdout, stderr) of `hubagent check` on a gateway laid out like conftest's."""
    workdir = str(workdir)
    args = [binary, "check", "--config-dir", os.path.join(workdir, "conf"), "--state-dir", os.path.join(workdir, "state"),
            "--runtime-dir", os.path.join(workdir, "run")]
    if ca:
        args += ["--ca-file", ca]
    result = subprocess.run(args + list(flags), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            timeout=timeout, env=env)
    return result.returncode, result.stdout, result.stderr


def check_json(binary, workdir, *flags, **kwargs):
    """(exit status, {id: check}, report)."""
    code, out, err = check(binary, workdir, "--json", *flags, **kwargs)
    assert err == "", err
    report = json.loads(out)
    by_id = {c["id"]: c for c in report["checks"]}
    return code, by_id, report


def rows(text):
    """{id: (status, message, fix)} from the human table: `STATUS  id  message`, the fix on an
    indented line below."""
    found, last = {}, None
    for line in text.splitlines():
        match = re.fullmatch(r"(OK|WARN|FAIL|SKIP) {1,3} ([a-z.]+) +(\S.*)", line)
        if match:
            last = match.group(2)
            found[last] = [match.group(1), match.group(3), None]
        elif line.strip().startswith("fix: ") and last:
            assert line.startswith(" " * 8), line
            found[last][2] = line.strip()[len("fix: "):]
    return {k: tuple(v) for k, v in found.items()}


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def write_boarding(workdir, boarding):
    write(os.path.join(str(workdir), "conf", "boarding.json"), json.dumps(boarding))


def token_requests(emu):
    return [r for r in emu.requests() if r["method"] == "POST" and r["path"] == AM + "/oauth/token"]


def onboarded(emu, hubagent, profile="SHARED_SECRET"):
    agent_id, boarding = emu.create_agent(profile)
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"onboarded as %s" % agent_id, timeout=20)
    agent.wait_for(r"access token valid until", timeout=15)
    return agent_id, boarding, agent


def secrets_of(emu, agent_id, boarding):
    state = emu.state(agent_id)
    return [s for s in (state.get("client_secret"), state.get("rat"), boarding["content"]["iat"]) if s]


def assert_well_formed(by_id, report):
    assert [c["id"] for c in report["checks"]] == IDS
    for c in report["checks"]:
        assert set(c) == {"id", "status", "message", "fix"}
        assert c["status"] in ("OK", "WARN", "FAIL", "SKIP")
        assert c["message"] and "\n" not in c["message"]
        assert (c["fix"] is None) == (c["status"] == "OK"), c
    assert report["fails"] == sum(c["status"] == "FAIL" for c in report["checks"])
    assert report["warnings"] == sum(c["status"] == "WARN" for c in report["checks"])


@pytest.fixture
def no_proxy_env(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# --- healthy --------------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", ["SHARED_SECRET", "RSA_3072"])
def test_healthy_gateway(spawn_emulator, hubagent, binary, no_proxy_env, profile):
    # GIVEN an onboarded, running agent WHEN checked THEN exit 0, every check OK or SKIP, ids in
    # their stable order; --online adds a passing token round trip for exactly one token request.
    emu = spawn_emulator()
    agent_id, boarding, agent = onboarded(emu, hubagent, profile)

    code, by_id, report = check_json(binary, agent.workdir, ca=emu.ca)
    assert code == 0, report
    assert_well_formed(by_id, report)
    assert report["fails"] == 0 and report["warnings"] == 0, report
    for name in ("config.boarding", "config.datasources", "config.settings", "state.permissions", "boarding.expiry",
                 "network.dns", "network.tls", "clock.offset"):
        assert by_id[name]["status"] == "OK", by_id[name]
    assert by_id["token.roundtrip"]["status"] == "SKIP" and "--online" in by_id["token.roundtrip"]["message"]
    assert by_id["systemd.unit"]["status"] in ("OK", "SKIP")
    assert agent_id in by_id["state.permissions"]["message"]
    assert "verified" in by_id["network.tls"]["message"] and "directly" in by_id["network.tls"]["message"]
    assert "localhost" in by_id["network.dns"]["message"]

    code, text, err = check(binary, agent.workdir, ca=emu.ca)
    assert code == 0 and err == ""
    table = rows(text)
    assert list(table) == IDS
    assert table["network.tls"][0] == "OK" and table["token.roundtrip"][2].startswith("run `hubagent check --online`")
    assert text.rstrip().endswith("0 failures, 0 warnings in 12 checks")

    before = len(token_requests(emu))
    code, by_id, report = check_json(binary, agent.workdir, "--online", ca=emu.ca)
    assert code == 0, report
    assert by_id["token.roundtrip"]["status"] == "OK", by_id["token.roundtrip"]
    assert agent_id in by_id["token.roundtrip"]["message"]
    assert len(token_requests(emu)) == before + 1
    assert token_requests(emu)[-1]["status"] == 200

    for secret in secrets_of(emu, agent_id, boarding):
        assert secret not in text and secret not in json.dumps(report)
    assert agent.stop() == 0


# --- state ----------------------------------------------------------------------------------------

def test_state_file_readable_by_others(spawn_emulator, hubagent, binary, no_proxy_env):
    # GIVEN a state file at 0644 WHEN checked THEN state.permissions FAILs with the chmod that fixes it.
    emu = spawn_emulator()
    agent_id, boarding, agent = onboarded(emu, hubagent)
    assert agent.stop() == 0
    name = [n for n in agent.state_files() if re.fullmatch(r"state\.\d+\.json", n)][-1]
    path = os.path.join(agent.state_dir, name)
    os.chmod(path, 0o644)

    code, by_id, report = check_json(binary, agent.workdir, ca=emu.ca)
    assert code >= 1 and code == report["fails"]
    result = by_id["state.permissions"]
    assert result["status"] == "FAIL", result
    assert "mode 644" in result["message"] and path in result["message"]
    assert "chmod 600 " + path in result["fix"]

    # The fix fixes it; the directory's own mode is checked too.
    os.chmod(path, 0o600)
    os.chmod(agent.state_dir, 0o755)
    code, by_id, _ = check_json(binary, agent.workdir, ca=emu.ca)
    assert by_id["state.permissions"]["status"] == "FAIL"
    assert by_id["state.permissions"]["fix"] == "chmod 700 " + agent.state_dir
    os.chmod(agent.state_dir, 0o700)
    code, by_id, report = check_json(binary, agent.workdir, ca=emu.ca)
    assert code == 0 and by_id["state.permissions"]["status"] == "OK", report


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand the state to another uid")
def test_root_checks_the_service_users_state(spawn_emulator, hubagent, binary, no_proxy_env):
    # GIVEN the state owned by another uid (systemd's DynamicUser), under a directory closed to
    # that uid WHEN root checks THEN the files are held to that uid's standard, and --online
    # still proves the credentials.
    emu = spawn_emulator()
    agent_id, boarding, agent = onboarded(emu, hubagent)
    assert agent.stop() == 0
    service_uid = 61234
    for name in [""] + os.listdir(agent.state_dir):
        os.chown(os.path.join(agent.state_dir, name), service_uid, service_uid)
    code, by_id, report = check_json(binary, agent.workdir, "--online", ca=emu.ca)
    assert code == 0, report
    assert by_id["state.permissions"]["status"] == "OK" and "owner uid %d" % service_uid in by_id["state.permissions"]["message"]
    assert by_id["token.roundtrip"]["status"] == "OK", by_id["token.roundtrip"]

    # A file of root's in there is one the service user could not read.
    with open(os.path.join(agent.state_dir, "stray"), "w") as f:
        f.write("x")
    os.chmod(os.path.join(agent.state_dir, "stray"), 0o600)
    code, by_id, _ = check_json(binary, agent.workdir, ca=emu.ca)
    assert by_id["state.permissions"]["status"] == "FAIL"
    assert by_id["state.permissions"]["fix"] == "chown %d %s" % (service_uid, os.path.join(agent.state_dir, "stray"))


def test_nothing_there(binary, tmp_path):
    # GIVEN no boarding file and no state WHEN checked THEN the config checks say so, the network
    # checks are skipped, and the one FAIL is the exit status.
    code, by_id, report = check_json(binary, tmp_path)
    assert_well_formed(by_id, report)
    assert code == 1 and report["fails"] == 1
    assert by_id["config.boarding"]["status"] == "FAIL"
    assert "no boarding file" in by_id["config.boarding"]["message"] and "no identity stored" in by_id["config.boarding"]["message"]
    assert "Asset Manager" in by_id["config.boarding"]["fix"]
    assert by_id["config.datasources"]["status"] == "OK" and by_id["config.settings"]["status"] == "OK"
    assert by_id["state.permissions"]["status"] == "SKIP"
    for name in ("network.dns", "network.tls", "clock.offset"):
        assert by_id[name]["status"] == "SKIP" and "no southgate URL" in by_id[name]["message"], by_id[name]
    assert not os.path.exists(tmp_path / "state"), "check must not create the state directory"


# --- boarding -------------------------------------------------------------------------------------

def test_expired_boarding_file(spawn_emulator, binary, tmp_path, no_proxy_env):
    # GIVEN a boarding file whose initial access token expired WHEN checked THEN boarding.expiry FAILs.
    emu = spawn_emulator()
    _, boarding = emu.create_agent("SHARED_SECRET", iat_lifetime=-120)
    write_boarding(tmp_path, boarding)
    code, by_id, report = check_json(binary, tmp_path, ca=emu.ca)
    assert code >= 1
    assert by_id["config.boarding"]["status"] == "OK"
    result = by_id["boarding.expiry"]
    assert result["status"] == "FAIL", result
    assert "expired at" in result["message"] and "new boarding file" in result["fix"]
    # The network is checked with the boarding file's URL.
    assert by_id["network.tls"]["status"] == "OK", by_id["network.tls"]
    assert boarding["content"]["iat"] not in json.dumps(report)


def test_boarding_file_expiring_soon_and_broken(spawn_emulator, binary, tmp_path, no_proxy_env):
    emu = spawn_emulator()
    _, boarding = emu.create_agent("SHARED_SECRET", iat_lifetime=3600)
    write_boarding(tmp_path, boarding)
    code, by_id, _ = check_json(binary, tmp_path, ca=emu.ca)
    assert code == 0
    assert by_id["boarding.expiry"]["status"] == "WARN"
    assert re.search(r"\(in (59m \d+s|1h 0m)\)$", by_id["boarding.expiry"]["message"]), by_id["boarding.expiry"]

    write(str(tmp_path / "conf" / "boarding.json"), '{"content": {"baseUrl": ')
    code, by_id, _ = check_json(binary, tmp_path, ca=emu.ca)
    assert code == 1
    assert by_id["config.boarding"]["status"] == "FAIL" and "boarding.json:1:" in by_id["config.boarding"]["message"]
    assert by_id["boarding.expiry"]["status"] == "SKIP"
    assert by_id["network.tls"]["status"] == "SKIP"


# --- configuration files --------------------------------------------------------------------------

def test_broken_settings_and_data_sources(binary, tmp_path):
    write(str(tmp_path / "conf" / "hubagent.conf"), "log_level = info\ninsecure = true\n")
    write(str(tmp_path / "conf" / "datasources.yaml"), "configurationId: x\ndataSources:\n  - name: [\n")
    code, by_id, _ = check_json(binary, tmp_path)
    assert by_id["config.settings"]["status"] == "FAIL"
    assert "hubagent.conf:2: unknown setting" in by_id["config.settings"]["message"]
    assert "known settings" in by_id["config.settings"]["fix"]
    assert by_id["config.datasources"]["status"] == "FAIL" and "datasources.yaml:" in by_id["config.datasources"]["message"]
    assert code == 3  # with config.boarding

    write(str(tmp_path / "conf" / "hubagent.conf"), "ca_file = %s\n" % (tmp_path / "missing.pem"))
    code, by_id, _ = check_json(binary, tmp_path)
    assert by_id["config.settings"]["status"] == "FAIL" and "does not exist" in by_id["config.settings"]["message"]


# --- network --------------------------------------------------------------------------------------

def test_wrong_ca(spawn_emulator, hubagent, binary, tmp_path, no_proxy_env):
    # GIVEN an onboarded agent and an unrelated CA WHEN checked THEN network.tls FAILs naming
    # certificate verification and ca_file, and the round trip is not tried without --online.
    emu = spawn_emulator()
    agent_id, _, agent = onboarded(emu, hubagent)
    assert agent.stop() == 0
    wrong = unrelated_ca(tmp_path / "unrelated-ca.pem")
    mark = emu.next_seq()
    code, by_id, report = check_json(binary, agent.workdir, ca=wrong)
    assert code >= 1
    result = by_id["network.tls"]
    assert result["status"] == "FAIL", result
    assert "certificate verification" in result["message"] and wrong in result["message"]
    assert "ca_file" in result["fix"]
    assert by_id["clock.offset"]["status"] == "SKIP"
    assert by_id["network.dns"]["status"] == "OK"
    assert emu.requests(mark) == [], "a request got through with the wrong CA"


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare for a private /etc/hosts")
def test_dns_resolves_as_the_transport_does(spawn_emulator, binary, tmp_path, no_proxy_env):
    # GIVEN a machine whose /etc/hosts lacks localhost and whose name server answers nothing (a
    # minimal container) WHEN checked THEN network.dns agrees with network.tls: libcurl answers
    # localhost itself, and the check resolves through libcurl as the daemon does.
    emu = spawn_emulator()
    _, boarding = emu.create_agent("SHARED_SECRET")
    write_boarding(tmp_path, boarding)
    write(str(tmp_path / "hosts"), "10.0.0.1 elsewhere\n")
    write(str(tmp_path / "resolv.conf"), "nameserver 127.0.0.9\noptions timeout:1 attempts:1\n")
    args = [binary, "check", "--json", "--config-dir", str(tmp_path / "conf"), "--state-dir", str(tmp_path / "state"),
            "--runtime-dir", str(tmp_path / "run"), "--ca-file", emu.ca]
    script = ('mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf && shift 2 && '
              'getent hosts localhost >/dev/null && echo "localhost still resolves" >&2; exec "$@"')
    result = subprocess.run(["unshare", "--mount", "sh", "-c", script, "sh", str(tmp_path / "hosts"), str(tmp_path / "resolv.conf")]
                            + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert result.stderr == "", result.stderr
    by_id = {c["id"]: c for c in json.loads(result.stdout)["checks"]}
    assert by_id["network.tls"]["status"] == "OK", by_id["network.tls"]
    assert by_id["network.dns"]["status"] == "OK", by_id["network.dns"]
    assert "localhost resolves" in by_id["network.dns"]["message"]


def test_network_steps_are_bounded(spawn_emulator, binary, tmp_path, no_proxy_env):
    # GIVEN a southgate that accepts TCP but never answers the TLS handshake WHEN checked THEN
    # network.tls FAILs after the 5 s bound, not after the daemon's 30 s request timeout.
    import socket
    import time
    emu = spawn_emulator()
    _, boarding = emu.create_agent("SHARED_SECRET")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        boarding["content"]["baseUrl"] = "https://localhost:%d" % silent.getsockname()[1]
        write_boarding(tmp_path, boarding)
        started = time.monotonic()
        code, by_id, _ = check_json(binary, tmp_path, ca=emu.ca)
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert by_id["network.tls"]["status"] == "FAIL" and "within 5 s" in by_id["network.tls"]["message"], by_id["network.tls"]
    assert by_id["clock.offset"]["status"] == "SKIP"
    assert 4.5 <= elapsed < 12, elapsed


@pytest.mark.parametrize("offset,status,direction", [(400, "FAIL", "behind"), (-400, "FAIL", "ahead of"), (120, "WARN", "behind")])
def test_clock_offset(spawn_emulator, binary, tmp_path, no_proxy_env, offset, status, direction):
    # GIVEN southgate's clock `offset` s ahead WHEN checked THEN clock.offset says by how much and which way.
    emu = spawn_emulator("--clock-offset", str(offset))
    _, boarding = emu.create_agent("SHARED_SECRET")
    write_boarding(tmp_path, boarding)
    code, by_id, _ = check_json(binary, tmp_path, ca=emu.ca)
    result = by_id["clock.offset"]
    assert result["status"] == status, result
    # Date has whole seconds: the size is told to within a second.
    size = r"6m (39|40|41)s" if abs(offset) == 400 else r"(1m 59s|2m [01]s)"
    assert re.search(r"this clock is %s %s southgate's" % (size, direction), result["message"]), result
    assert "ntp" in result["fix"].lower()
    assert code == (1 if status == "FAIL" else 0)


def test_through_a_proxy_with_credentials(spawn_emulator, hubagent, binary, no_proxy_env):
    # GIVEN a proxy with Basic authentication in hubagent.conf WHEN checked THEN the handshake goes
    # through it, it is named, and its password is never printed.
    password = "Pr0xy-pa55-c4e1b7"
    emu = spawn_emulator()
    proxy = ConnectProxy(("gateway-user", password)).start()
    try:
        agent_id, boarding, agent = onboarded(emu, hubagent)
        assert agent.stop() == 0
        write(os.path.join(agent.config_dir, "hubagent.conf"), "proxy = %s\n" % proxy.url)
        code, text, _ = check(binary, agent.workdir, "--online", ca=emu.ca)
        assert code == 0, text
        table = rows(text)
        assert table["network.tls"][0] == "OK" and "through the proxy http://127.0.0.1:%d" % proxy.port in table["network.tls"][1]
        assert table["token.roundtrip"][0] == "OK"
        assert password not in text
        assert set(proxy.targets()) == {"localhost:%d" % emu.port}

        # A wrong password: the failure is told, the password is not.
        wrong = "Wr0ng-pa55-9d0e"
        write(os.path.join(agent.config_dir, "hubagent.conf"), "proxy = http://gateway-user:%s@127.0.0.1:%d\n" % (wrong, proxy.port))
        code, text, err = check(binary, agent.workdir, ca=emu.ca)
        assert code >= 1 and rows(text)["network.tls"][0] == "FAIL", text
        assert "(HTTP 407)" in rows(text)["network.tls"][1]
        assert wrong not in text and wrong not in err
    finally:
        proxy.stop()


# --- systemd --------------------------------------------------------------------------------------

FAKE_SYSTEMCTL = """#!/bin/sh
# Stands in for `systemctl show -p NAME --value hubagent.service`.
[ "$1 $2 $4 $5" = "show -p --value hubagent.service" ] || exit 2
case "$3" in
  LoadState) echo "${FAKE_LOAD:-loaded}" ;;
  ActiveState) echo "${FAKE_ACTIVE:-active}" ;;
  WatchdogUSec) echo "${FAKE_WATCHDOG:-30s}" ;;
  *) exit 1 ;;
esac
"""


@pytest.mark.parametrize("active,watchdog,status", [("active", "30s", "OK"), ("active", "0", "WARN"), ("failed", "30s", "FAIL")])
def test_systemd_unit(test_binary, tmp_path, active, watchdog, status):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "systemctl"
    fake.write_text(FAKE_SYSTEMCTL)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "systemd").mkdir()
    env = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ.get("PATH", "")), HUBAGENT_TEST_HOOKS="1",
               HUBAGENT_TEST_SYSTEMD_DIRECTORY=str(tmp_path / "systemd"), FAKE_ACTIVE=active, FAKE_WATCHDOG=watchdog)
    # HUBAGENT_TEST_SYSTEMD_DIRECTORY is a test hook: the test build.
    _, by_id, _ = check_json(test_binary, tmp_path, env=env)
    result = by_id["systemd.unit"]
    assert result["status"] == status, result
    assert "hubagent.service is " + active in result["message"]
    if status == "WARN":
        assert "watchdog" in result["message"] and "WatchdogSec" in result["fix"]
    if status == "FAIL":
        assert "journalctl -u hubagent" in result["fix"]


def test_usage(binary):
    result = subprocess.run([binary, "check", "--frobnicate"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert result.returncode == 64 and "unknown option --frobnicate" in result.stderr
    result = subprocess.run([binary, "help", "check"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert result.returncode == 0
    for name in IDS:
        assert name in result.stdout


def test_relay_checks_see_the_running_relay(spawn_emulator, hubagent, binary):
    # GIVEN a daemon with relay = on and data_socket_group set WHEN checked THEN the disk room and
    # the socket's group and mode pass; GIVEN the daemon stopped THEN the socket check warns.
    import grp
    group = grp.getgrgid(os.getgid()).gr_name
    emu = spawn_emulator()
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    with open(os.path.join(agent.config_dir, "hubagent.conf"), "w") as f:
        f.write("relay = on\ndata_socket_group = %s\nrelay_max_disk = 8MiB\n" % group)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"taking values from local programs at", timeout=20)
    code, by_id, _ = check_json(binary, agent.workdir, ca=emu.ca)
    assert by_id["relay.disk"]["status"] == "OK", by_id["relay.disk"]
    assert by_id["relay.socket"]["status"] == "OK", by_id["relay.socket"]
    assert ("group %s, mode 660" % group) in by_id["relay.socket"]["message"]
    assert agent.stop() == 0
    code, by_id, _ = check_json(binary, agent.workdir, ca=emu.ca)
    assert by_id["relay.socket"]["status"] == "WARN" and "does not exist" in by_id["relay.socket"]["message"]
