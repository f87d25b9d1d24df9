"""Scenario 21: the Debian package. Its contents, control fields, man page and lintian verdict;
then its life cycle under a real systemd 252 (Debian 12 under systemd-nspawn): install enables
but does not start without a boarding file; onboarding; an upgrade restarts the daemon, which
keeps its identity and its state's modes; remove stops it and keeps the state; purge removes the
state, the files hubagent reads and the unit; a reinstall with a new boarding file onboards again.

Both packages are built here from HUBAGENT_BIN with systemd/debian/build-deb.py: the version of
Version.swift, and a higher one made from the same binary for the upgrade."""

import glob
import gzip
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import BINARY
from container import Container

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD_DEB = os.path.join(ROOT, "systemd", "debian", "build-deb.py")
DEBS = "/srv/hubagent-debs"
CA = "/srv/southgate-ca/ca.pem"
UNIT = "hubagent.service"
WANTS = "/etc/systemd/system/multi-user.target.wants/" + UNIT

needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb (a Debian system)")
needs_container = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("systemd-nspawn") is None or shutil.which("debootstrap") is None,
    reason="needs root, systemd-nspawn and debootstrap (make deps installs them)")


def source_version():
    text = open(os.path.join(ROOT, "Sources", "Agent", "Status", "Version.swift")).read()
    return re.search(r'static let string = "([^"]+)"', text).group(1)


@pytest.fixture(scope="module")
def packages(tmp_path_factory, binary):
    """{"old": (version, path), "new": (version, path)}: the default build and an upgrade."""
    out = tmp_path_factory.mktemp("debs")
    out.chmod(0o755)
    old = source_version()
    new = old + "+upgrade1"
    assert subprocess.run(["dpkg", "--compare-versions", new, "gt", old]).returncode == 0
    built = {}
    for name, args in (("old", []), ("new", ["--version", new])):
        result = subprocess.run([sys.executable, BUILD_DEB, "--binary", binary, "--out", str(out)] + args,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
        assert result.returncode == 0, "build-deb.py %s failed:\n%s" % (" ".join(args), result.stderr)
        built[name] = (new if args else old, result.stdout.strip().splitlines()[-1])
    assert os.path.basename(built["old"][1]) == "hubagent_%s_%s.deb" % (old, architecture())
    return built


def architecture():
    return subprocess.run(["dpkg", "--print-architecture"], stdout=subprocess.PIPE, text=True, check=True).stdout.strip()


def control(deb):
    text = subprocess.run(["dpkg-deb", "-f", deb], stdout=subprocess.PIPE, text=True, check=True).stdout
    return dict(re.findall(r"^(\S+): (.*(?:\n .*)*)", text, re.M))


def extracted(deb, tmp_path):
    subprocess.run(["dpkg-deb", "-x", deb, str(tmp_path)], check=True)
    return tmp_path


# --- the package, without a container ---------------------------------------------------------

FILES = {
    "usr/bin/hubagent": "-rwxr-xr-x",
    "lib/systemd/system/hubagent.service": "-rw-r--r--",
    "lib/systemd/system/hubagent.socket": "-rw-r--r--",
    "lib/systemd/system/hubagent-data.socket": "-rw-r--r--",
    "lib/systemd/system/hubagent-boarding.path": "-rw-r--r--",
    "lib/systemd/system/hubagent-boarding.service": "-rw-r--r--",
    "usr/share/doc/hubagent/copyright": "-rw-r--r--",
    "usr/share/doc/hubagent/changelog.gz": "-rw-r--r--",
    "usr/share/doc/hubagent/examples/hubagent.conf": "-rw-r--r--",
    "usr/share/doc/hubagent/examples/datasources.yaml": "-rw-r--r--",
    "usr/share/doc/hubagent/examples/boarding.json.example": "-rw-r--r--",
    "usr/share/man/man8/hubagent.8.gz": "-rw-r--r--",
    "usr/share/lintian/overrides/hubagent": "-rw-r--r--",
}


@needs_dpkg
def test_contents_paths_modes_and_owners(packages):
    listing = subprocess.run(["dpkg-deb", "-c", packages["old"][1]], stdout=subprocess.PIPE, text=True, check=True).stdout
    files, dirs = {}, set()
    for row in listing.splitlines():
        mode, owner, _size, _date, _time, path = row.split(None, 5)
        assert owner == "root/root", "not owned by root: " + row
        path = path[2:]  # "./usr/bin/hubagent"
        if mode.startswith("d"):
            assert mode == "drwxr-xr-x", "directory mode: " + row
            dirs.add(path.rstrip("/"))
        else:
            files[path] = mode
    assert files == FILES, "package files differ:\n%s" % listing
    # /etc/hubagent is shipped empty: the operator's files go there, none of them is a conffile.
    assert "etc/hubagent" in dirs and not [p for p in files if p.startswith("etc/")], listing
    members = subprocess.run(["dpkg-deb", "-I", packages["old"][1]], stdout=subprocess.PIPE, text=True, check=True).stdout
    assert "conffiles" not in members, members
    for script in ("postinst", "prerm", "postrm"):
        assert re.search(r"\b\d+ bytes,\s+\d+ lines\s+\*\s+%s\s+#!/bin/sh" % script, members), members


@needs_dpkg
def test_control_fields_and_depends_from_the_libraries(packages):
    version, deb = packages["old"]
    fields = control(deb)
    assert fields["Package"] == "hubagent" and fields["Version"] == version, fields
    assert fields["Architecture"] == architecture(), fields
    assert control(packages["new"][1])["Version"] == packages["new"][0]
    depends = {re.match(r"([a-z0-9.+-]+)", d.strip()).group(1): d.strip() for d in fields["Depends"].split(",")}
    # The package of every library the binary links, found here independently of the script.
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+)\]", subprocess.run(
        ["readelf", "-d", BINARY], stdout=subprocess.PIPE, text=True, check=True).stdout)
    owners = set()
    for soname in needed:
        found = subprocess.run(["dpkg", "-S", "*/" + soname], stdout=subprocess.PIPE, text=True).stdout
        owners |= {line.split(":")[0] for line in found.splitlines() if line}
    # libc6 also ships the dynamic loader; libssl3 libcrypto.
    assert set(depends) <= owners and {"libc6", "libssl3", "libcurl4", "libsystemd0"} <= set(depends), \
        "Depends: %s\nlibrary packages: %s" % (fields["Depends"], sorted(owners))
    assert re.fullmatch(r"libc6 \(>= [0-9.]+\)", depends["libc6"]), fields["Depends"]
    listing = subprocess.run(["dpkg-deb", "-c", deb], stdout=subprocess.PIPE, text=True, check=True).stdout.splitlines()
    kib = sum(int(row.split()[2]) for row in listing) / 1024
    assert kib <= int(fields["Installed-Size"]) <= kib + len(listing) + 1, (fields["Installed-Size"], kib)


@needs_dpkg
def test_binary_is_stripped_and_has_no_runpath(packages, tmp_path):
    tree = extracted(packages["old"][1], tmp_path)
    program = str(tree / "usr" / "bin" / "hubagent")
    dynamic = subprocess.run(["readelf", "-d", program], stdout=subprocess.PIPE, text=True, check=True).stdout
    assert "RUNPATH" not in dynamic and "RPATH" not in dynamic, dynamic
    sections = subprocess.run(["readelf", "-S", "-W", program], stdout=subprocess.PIPE, text=True, check=True).stdout
    assert ".symtab" not in sections and ".debug_info" not in sections, "not stripped"
    assert os.path.getsize(program) < os.path.getsize(BINARY)
    result = subprocess.run([program, "version"], stdout=subprocess.PIPE, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "hubagent " + packages["old"][0], result.stdout


@needs_dpkg
def test_man_page_is_generated_from_the_help_texts(packages, tmp_path):
    tree = extracted(packages["old"][1], tmp_path)
    page = gzip.open(str(tree / "usr/share/man/man8/hubagent.8.gz"), "rt").read()
    assert page.startswith('.TH HUBAGENT 8 "') and '"hubagent %s"' % packages["old"][0] in page.splitlines()[0]
    overview = subprocess.run([BINARY, "help"], stdout=subprocess.PIPE, text=True, check=True).stdout
    commands = re.findall(r"^  ([a-z]+)\b", overview.split("Commands:")[1], re.M)
    assert len(commands) >= 7, overview
    for command in commands:
        usage = subprocess.run([BINARY, "help", command], stdout=subprocess.PIPE, text=True, check=True).stdout
        assert ".SS hubagent " + command in page, "no section for %s in the man page" % command
        for option in set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", usage)):
            assert option.replace("-", "\\-", 2) in page, "%s of `hubagent %s` missing from the man page" % (option, command)
    for path in ("/etc/hubagent/boarding.json", "/var/lib/hubagent/", "/run/hubagent/token.sock"):
        assert path in page, path
    if shutil.which("man"):
        rendered = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", str(tree / "usr/share/man/man8/hubagent.8.gz")],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, MANWIDTH="80"))
        assert rendered.returncode == 0 and rendered.stderr == "", rendered.stderr
        assert all("hubagent " + c in rendered.stdout for c in commands), rendered.stdout


@needs_dpkg
def test_lintian_reports_no_errors_or_unexplained_warnings(packages):
    if shutil.which("lintian") is None:
        pytest.skip("lintian is not installed (make deps installs it)")
    result = subprocess.run(["lintian", "--fail-on", "error,warning", packages["old"][1]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    tags = [line for line in result.stdout.splitlines() if re.match(r"[EW]: ", line)]
    assert result.returncode == 0 and not tags, result.stdout + result.stderr


def test_maintainer_scripts_are_posix_sh():
    for script in ("postinst", "prerm", "postrm"):
        path = os.path.join(ROOT, "systemd", "debian", script)
        assert open(path).readline() == "#!/bin/sh\n" and "set -e" in open(path).read(), path
        for shell in ("sh", "dash", "checkbashisms"):
            if shutil.which(shell):
                result = subprocess.run([shell, "-n", path] if shell != "checkbashisms" else [shell, path],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                assert result.returncode == 0, "%s %s:\n%s" % (shell, script, result.stdout)


@needs_container
@pytest.mark.parametrize("helpers", ["deb-systemd-helper", "systemctl"])
def test_install_and_purge_without_a_running_systemd(packages, helpers):
    """An image build: dpkg in a container whose PID 1 is not systemd enables the unit (symlinks
    only) and fails nowhere; purge removes the symlink. Once with init-system-helpers, once with
    only systemctl. Runs before the booted container's steps, which share the cached rootfs."""
    from container import ensure_rootfs
    hide = "rm /usr/bin/deb-systemd-helper /usr/bin/deb-systemd-invoke && " if helpers == "systemctl" else ""
    script = ("set -e; %s ! test -d /run/systemd/system; dpkg -i %s/%s; test -L %s; hubagent version; "
              "dpkg --purge hubagent; ! test -e %s; ! test -e /etc/hubagent; echo purged"
              % (hide, DEBS, os.path.basename(packages["old"][1]), WANTS, WANTS))
    result = subprocess.run(["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--console=pipe",
                             "--volatile=overlay", "-D", ensure_rootfs(),
                             "--bind-ro=%s:%s" % (os.path.dirname(packages["old"][1]), DEBS), "sh", "-c", script],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hubagent %s\n" % packages["old"][0] in result.stdout and result.stdout.endswith("purged\n"), result.stdout


# --- the life cycle under systemd ---------------------------------------------------------------


class Gateway:
    """The container plus what the steps below hand on to each other."""

    def __init__(self, container, emu, packages):
        self.container = container
        self.emu = emu
        self.packages = packages
        self.first_agent = None

    def path(self, path):
        """A path inside the container, seen from the host (the container's root is an overlay)."""
        return "/proc/%d/root%s" % (self.container.pid1, path)

    def put(self, path, text, mode=0o644):
        self.container.run("mkdir", "-p", os.path.dirname(path))
        tmp = self.path(path + ".new")
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.rename(tmp, self.path(path))

    def exists(self, path):
        return self.container.run("test", "-e", path, check=False).returncode == 0 or \
            self.container.run("test", "-L", path, check=False).returncode == 0

    def deb(self, which):
        return DEBS + "/" + os.path.basename(self.packages[which][1])

    def apt(self, *args):
        return self.container.run("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y", *args,
                                  timeout=300)

    def package_status(self):
        result = self.container.run("dpkg-query", "-W", "-f=${db:Status-Abbrev}|${Version}", "hubagent", check=False)
        return result.stdout.strip() if result.returncode == 0 else ""

    def registers(self):
        return [r for r in self.emu.requests() if r["method"] == "POST" and r["path"].endswith("/register")]

    def identity(self):
        """The stored state's client id: the newest state.<N>.json of the daemon."""
        names = sorted(glob.glob(self.path("/var/lib/private/hubagent/state.*.json")),
                       key=lambda n: int(n.rsplit(".", 2)[1]))
        assert names, "no stored state in /var/lib/private/hubagent"
        return json.load(open(names[-1]))["identity"]["clientId"]

    def state_modes(self):
        """{path: (mode, owner uid)} of the state directory and its files."""
        listing = self.container.run("sh", "-c", "stat -c '%a %u %n' /var/lib/private/hubagent /var/lib/private/hubagent/*").stdout
        return {line.split()[2]: tuple(line.split()[:2]) for line in listing.splitlines()}

    def onboard(self, agent_id):
        status = self.container.wait_show(UNIT, "StatusText", lambda s: s.startswith("onboarded"), timeout=60)
        assert self.identity() == agent_id, "stored identity is not the boarding file's agent"
        return status


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, packages):
    from harness import Emulator
    work = tmp_path_factory.mktemp("debian")
    emu = Emulator(str(work / "southgate")).start()
    ca_dir = work / "ca"
    ca_dir.mkdir()
    ca_dir.chmod(0o755)
    shutil.copy(emu.ca, ca_dir / "ca.pem")
    (ca_dir / "ca.pem").chmod(0o644)
    container = Container(str(work), binds_ro=[(os.path.dirname(packages["old"][1]), DEBS), (str(ca_dir), os.path.dirname(CA)),
                                              ("/etc/hosts", "/etc/hosts")]).boot()
    yield Gateway(container, emu, packages)
    container.poweroff()
    emu.stop()


@needs_container
def test_install_enables_but_does_not_start_without_a_boarding_file(gateway):
    c = gateway.container
    result = gateway.apt("install", gateway.deb("old"))
    # The dependencies are in the image: apt installs hubagent alone and fetches nothing.
    assert re.search(r"^0 upgraded, 1 newly installed, 0 to remove", result.stdout, re.M), result.stdout
    assert gateway.package_status() == "ii |" + gateway.packages["old"][0], gateway.package_status()
    assert "put the boarding file" in result.stdout, "postinst did not say what to do next:\n" + result.stdout
    assert c.run("systemctl", "is-enabled", UNIT, check=False).stdout.strip() == "enabled", "unit not enabled"
    assert c.show(UNIT, "ActiveState") == "inactive", "started without a boarding file"
    assert c.show(UNIT, "NRestarts") == "0" and c.show(UNIT, "ExecMainPID") == "0", "hubagent ran at install"
    assert c.run("stat", "-c", "%a %U:%G", "/etc/hubagent").stdout.strip() == "755 root:root"
    assert c.run("ls", "-A", "/etc/hubagent").stdout == "", "/etc/hubagent is not empty after install"
    assert c.run("hubagent", "version").stdout.strip() == "hubagent " + gateway.packages["old"][0]
    assert gateway.exists("/usr/share/man/man8/hubagent.8.gz"), "no man page for Documentation=man:hubagent(8)"
    verify = c.run("systemd-analyze", "verify", "--man=no", "/lib/systemd/system/" + UNIT, check=False)
    assert verify.returncode == 0 and verify.stdout + verify.stderr == "", verify.stdout + verify.stderr


@needs_container
def test_a_boarding_file_and_start_onboard(gateway):
    c = gateway.container
    agent_id, boarding = gateway.emu.create_agent("RSA_3072", name="deb-first")
    gateway.put("/etc/hubagent/hubagent.conf", "ca_file = %s\n" % CA)
    gateway.put("/etc/hubagent/boarding.json", json.dumps(boarding))
    c.run("systemctl", "start", UNIT)
    gateway.onboard(agent_id)
    assert len(gateway.registers()) == 1
    gateway.first_agent = agent_id


@needs_container
def test_upgrade_restarts_and_keeps_the_identity(gateway):
    c = gateway.container
    assert gateway.first_agent, "needs the onboarded gateway of the previous step"
    pid = c.show(UNIT, "MainPID")
    modes = gateway.state_modes()
    registers = len(gateway.registers())
    c.run("dpkg", "-i", gateway.deb("new"), timeout=300)
    assert gateway.package_status() == "ii |" + gateway.packages["new"][0], gateway.package_status()
    assert c.show(UNIT, "ActiveState") == "active", "not running after the upgrade:\n" + c.journal(UNIT)
    assert c.show(UNIT, "MainPID") not in (pid, "0"), "the upgrade did not restart hubagent"
    gateway.onboard(gateway.first_agent)
    assert "loaded identity %s" % gateway.first_agent in c.journal(UNIT), "the new daemon did not load the stored identity"
    assert len(gateway.registers()) == registers, "the upgrade onboarded again"
    assert gateway.emu.state(gateway.first_agent)["onboard_count"] == 1
    uid = c.run("stat", "-c", "%u", "/proc/%s" % c.show(UNIT, "MainPID")).stdout.strip()
    after = gateway.state_modes()
    # The files are new generations (state.<N>.json); their modes and owner are the old ones.
    assert after["/var/lib/private/hubagent"] == ("700", uid) and modes["/var/lib/private/hubagent"][0] == "700", (modes, after)
    for listing in (modes, after):
        files = {m for p, (m, _) in listing.items() if p != "/var/lib/private/hubagent"}
        assert files == {"600"}, listing
    assert {owner for _, owner in after.values()} == {uid}, after


@needs_container
def test_remove_stops_and_keeps_the_state(gateway):
    c = gateway.container
    gateway.apt("remove", "hubagent")
    assert gateway.package_status().startswith("rc"), gateway.package_status()
    assert c.show(UNIT, "ActiveState") == "inactive", "still running after remove"
    assert c.show(UNIT, "LoadState") == "not-found", "systemd still knows the unit after remove"
    assert not gateway.exists("/usr/bin/hubagent")
    assert gateway.identity() == gateway.first_agent, "remove lost the identity"
    assert gateway.exists("/etc/hubagent/boarding.json") and gateway.exists("/etc/hubagent/hubagent.conf")


@needs_container
def test_purge_removes_state_configuration_and_unit(gateway):
    c = gateway.container
    # An administrator's own file: purge leaves it, and so /etc/hubagent.
    gateway.put("/etc/hubagent/site-ca.pem", "not hubagent's\n")
    result = gateway.apt("purge", "hubagent")
    assert gateway.package_status() in ("", "pn|"), gateway.package_status()
    for path in ("/var/lib/private/hubagent", "/var/lib/hubagent", "/etc/hubagent/boarding.json",
                 "/etc/hubagent/hubagent.conf", "/lib/systemd/system/" + UNIT, WANTS,
                 "/var/lib/systemd/deb-systemd-helper-enabled/%s.dsh-also" % UNIT):
        assert not gateway.exists(path), "%s survived the purge" % path
    assert c.run("ls", "-A", "/etc/hubagent").stdout.split() == ["site-ca.pem"]
    assert "/etc/hubagent kept" in result.stdout + result.stderr, result.stdout + result.stderr
    assert c.run("systemctl", "cat", UNIT, check=False).returncode != 0, "systemd still has the unit"


@needs_container
def test_reinstall_with_a_boarding_file_starts_and_onboards_a_new_agent(gateway):
    c = gateway.container
    agent_id, boarding = gateway.emu.create_agent("SHARED_SECRET", name="deb-second")
    registers = len(gateway.registers())
    gateway.put("/etc/hubagent/hubagent.conf", "ca_file = %s\n" % CA)
    gateway.put("/etc/hubagent/boarding.json", json.dumps(boarding))
    gateway.apt("install", gateway.deb("new"))
    assert c.run("systemctl", "is-enabled", UNIT, check=False).stdout.strip() == "enabled", "not enabled after a purge"
    assert c.show(UNIT, "ActiveState") == "active", "postinst did not start hubagent with a boarding file:\n" + c.journal(UNIT)
    gateway.onboard(agent_id)
    assert agent_id != gateway.first_agent
    assert len(gateway.registers()) == registers + 1
    assert gateway.emu.state(agent_id)["onboard_count"] == 1


@needs_container
def test_purge_of_a_running_gateway_leaves_nothing(gateway):
    c = gateway.container
    c.run("rm", "/etc/hubagent/site-ca.pem")
    gateway.apt("purge", "hubagent")
    assert c.show(UNIT, "ActiveState") == "inactive", "purge left hubagent running"
    for path in ("/etc/hubagent", "/var/lib/private/hubagent", "/var/lib/hubagent", "/run/hubagent", WANTS,
                 "/lib/systemd/system/" + UNIT, "/usr/bin/hubagent"):
        assert not gateway.exists(path), "%s survived the purge" % path
