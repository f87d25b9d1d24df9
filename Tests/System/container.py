"""A Debian 12 rootfs booted with systemd-nspawn, driven through nsenter: a real systemd 252 for
the service tests. The rootfs is made once with debootstrap from the mirror this machine's own
apt sources name, cached, and booted with a throw-away overlay so every run starts clean."""

import glob
import os
import re
import shutil
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEMD = os.path.join(os.path.dirname(os.path.dirname(HERE)), "systemd")
# The units hubagent ships (systemd/), as the Debian package installs them.
UNITS = [
    "hubagent.service", "hubagent.socket", "hubagent-data.socket", "hubagent-boarding.path", "hubagent-boarding.service"]
CACHE = os.environ.get("HUBAGENT_ROOTFS_CACHE", "/var/cache/hubagent-tests/bookworm-rootfs")
PACKAGES = "systemd,systemd-sysv,dbus,procps,libcurl4,libssl3,ca-certificates"


def unit_binds():
    """--bind-ro pairs that put the shipped units into the container's /etc/systemd/system."""
    return [(os.path.join(SYSTEMD, unit), "/etc/systemd/system/" + unit) for unit in UNITS]


def start_units(container):
    """What `systemctl enable --now hubagent` starts: the socket and the boarding file watch first."""
    container.run("systemctl", "daemon-reload")
    container.run("systemctl", "start", "hubagent.socket", "hubagent-data.socket", "hubagent-boarding.path")


def debian_mirror():
    """The first Debian mirror serving bookworm main in this machine's apt sources."""
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in open(path).read().split("\n\n"):
            fields = {}
            for line in stanza.splitlines():
                if ":" in line and not line.startswith("#"):
                    key, value = line.split(":", 1)
                    fields[key.strip().lower()] = value.split()
            if "bookworm" in fields.get("suites", []) and "main" in fields.get("components", []) and fields.get("uris"):
                return fields["uris"][0]
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        if os.path.exists(path):
            for line in open(path):
                match = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s+.*\bmain\b", line)
                if match:
                    return match.group(1)
    raise RuntimeError("no Debian bookworm mirror in the apt sources")


def ensure_rootfs():
    """The cached rootfs, made with debootstrap on first use."""
    marker = os.path.join(CACHE, ".hubagent-rootfs-complete")
    if os.path.exists(marker):
        return CACHE
    building = CACHE + ".building"
    shutil.rmtree(building, ignore_errors=True)
    os.makedirs(os.path.dirname(CACHE), exist_ok=True)
    subprocess.run(["debootstrap", "--variant=minbase", "--include=" + PACKAGES, "bookworm", building, debian_mirror()],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=900)
    open(os.path.join(building, ".hubagent-rootfs-complete"), "w").close()
    shutil.rmtree(CACHE, ignore_errors=True)
    os.rename(building, CACHE)
    return CACHE


class Container:
    def __init__(self, workdir, binds=(), binds_ro=()):
        self.workdir = workdir
        self.root = ensure_rootfs()
        self.binds = list(binds)
        self.binds_ro = list(binds_ro)
        self.proc = None
        self.pid1 = None

    def boot(self):
        args = ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--console=pipe",
                "--volatile=overlay", "-D", self.root, "-b"]
        args += ["--bind=%s:%s" % b for b in self.binds] + ["--bind-ro=%s:%s" % b for b in self.binds_ro]
        self.console = open(os.path.join(self.workdir, "console.log"), "wb")
        self.proc = subprocess.Popen(["timeout", "-k", "10", "600"] + args, stdin=subprocess.DEVNULL,
                                     stdout=self.console, stderr=subprocess.STDOUT)
        # timeout -> systemd-nspawn -> systemd (the container's PID 1). No event announces the
        # container's PID 1 or its bus socket to the host, so both are polled, bounded.
        deadline = time.monotonic() + 60
        while self.pid1 is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the container did not boot:\n" + self.console_log())
            nspawn = self._children(self.proc.pid, "systemd-nspawn")
            if nspawn:
                init = self._children(nspawn[0], "systemd")
                self.pid1 = init[0] if init else None
            if self.pid1 is None:
                time.sleep(0.05)
        while self.run("test", "-S", "/run/systemd/private", check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("systemd in the container did not come up:\n" + self.console_log())
            time.sleep(0.05)
        self.run("systemctl", "is-system-running", "--wait", check=False, timeout=60)
        return self

    @staticmethod
    def _children(pid, name):
        try:
            children = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
        except OSError:
            return []
        return [int(c) for c in children if open("/proc/%s/comm" % c).read().strip() == name]

    def run(self, *command, check=True, timeout=60, input=None):
        result = subprocess.run(["nsenter", "-t", str(self.pid1), "-a", "--"] + list(command), input=input,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, text=True)
        if check and result.returncode != 0:
            raise AssertionError("%s failed (%d):\n%s%s" % (" ".join(command), result.returncode, result.stdout, result.stderr))
        return result

    def show(self, unit, prop):
        """One property at a time: `systemctl show` orders several properties its own way."""
        return self.run("systemctl", "show", "-p", prop, "--value", unit).stdout.strip()

    def wait_show(self, unit, prop, predicate, timeout=30):
        """systemd offers no push notification to a host-side test: poll, bounded."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.show(unit, prop)
            if predicate(value):
                return value
            if time.monotonic() > deadline:
                raise AssertionError("%s %s stayed %r\n%s" % (unit, prop, value, self.journal(unit)))
            time.sleep(0.2)

    def journal(self, unit, output="short"):
        return self.run("journalctl", "-b", "-u", unit, "--no-pager", "-o", output, check=False).stdout

    def console_log(self):
        try:
            return open(os.path.join(self.workdir, "console.log"), errors="replace").read()[-4000:]
        except OSError:
            return ""

    def poweroff(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.run("systemctl", "poweroff", check=False)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                self.proc.wait(timeout=30)
        self.console.close()
