"""The arm64 smoke scenario (make test-arm64): the arm64 release binary under qemu-user, against
the southgate emulator running natively. Onboarding with both profiles and a rotation each, a
token from the token socket and from `hubagent token`, and values through the relay to the
exchange endpoint. HUBAGENT_BIN is a wrapper that runs the arm64 binary under qemu-user; the
harness is the system tests' (Tests/System/conftest.py). Each step's time under emulation is
printed at the end (pytest -s)."""

import json
import os
import re
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "Tests", "System"))

from conftest import binary, hubagent, spawn_emulator, unix_http  # noqa: E402,F401

# Emulation is several times slower than the gateway itself: generous deadlines, same events.
SLOW = 4
TIMINGS = []


@pytest.fixture(scope="module", autouse=True)
def timings():
    yield TIMINGS
    print("\narm64 under qemu-user, seconds:")
    for name, seconds in TIMINGS:
        print("  %-48s %6.1f" % (name, seconds))


class Stopwatch:
    def __init__(self, prefix):
        self.prefix = prefix
        self.last = time.monotonic()

    def lap(self, name):
        now = time.monotonic()
        TIMINGS.append(("%s: %s" % (self.prefix, name), now - self.last))
        self.last = now


def test_the_binary_is_arm64(binary):
    # The wrapper runs an aarch64 ELF: this scenario tests the arm64 build, not the machine's.
    program = os.environ.get("HUBAGENT_ARM64_BIN")
    assert program, "HUBAGENT_ARM64_BIN names the arm64 binary the wrapper runs"
    with open(program, "rb") as f:
        header = f.read(20)
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == 183, program
    watch = Stopwatch("version")
    result = subprocess.run([binary, "version"], capture_output=True, text=True, timeout=60)
    watch.lap("hubagent version")
    assert result.returncode == 0 and result.stdout.startswith("hubagent "), result


# The credentials' lifetime: a rotation is due at two thirds of it, and under emulation an RSA
# rotation's new 3072-bit key alone takes tens of seconds.
@pytest.mark.parametrize("profile, lifetime", [("SHARED_SECRET", 30), ("RSA_3072", 120)])
def test_onboarding_rotation_and_token(spawn_emulator, hubagent, profile, lifetime):
    emu = spawn_emulator("--secret-lifetime", str(lifetime), "--token-lifetime", "3600")
    agent_id, boarding = emu.create_agent(profile)
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    watch = Stopwatch(profile)
    agent.start()
    agent.wait_for(r"onboarded as %s \(%s\)" % (agent_id, profile), timeout=20 * SLOW)
    watch.lap("start to onboarded")
    agent.wait_for(r"access token valid until", timeout=10 * SLOW)
    watch.lap("onboarded to first access token")

    status, body = unix_http(os.path.join(agent.runtime_dir, "token.sock"))
    watch.lap("token from the token socket")
    issued = [json.loads(r["response"])["access_token"] for r in emu.requests()
              if r["path"].endswith("/oauth/token") and r["status"] == 200]
    assert status == 200 and json.loads(body)["access_token"] == issued[-1], body
    token = subprocess.run([binary_of(agent), "token", "--runtime-dir", agent.runtime_dir], capture_output=True,
                           text=True, timeout=60)
    watch.lap("hubagent token")
    assert token.returncode == 0 and token.stdout.strip() == issued[-1], token.stderr

    agent.wait_for(r"credentials rotated", timeout=lifetime * SLOW)
    watch.lap("first token to rotated")
    agent.wait_for(r"access token valid until", timeout=10 * SLOW)
    watch.lap("rotated to new access token")
    assert agent.stop() == 0
    watch.lap("SIGTERM to exit")
    state = emu.state(agent_id)
    assert state["onboard_count"] == 1 and state["rotation_count"] >= 1, state


DATASOURCES = """configurationId: line-1
dataSources:
  - name: Boiler
    dataPoints:
      - id: dp-temp
        name: Temperature
        type: DOUBLE
        unit: "°C"
      - id: dp-count
        name: Count
        type: INT
        unit: ""
"""


def test_values_through_the_relay(spawn_emulator, hubagent):
    emu = spawn_emulator()
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    with open(os.path.join(agent.config_dir, "datasources.yaml"), "w") as f:
        f.write(DATASOURCES)
    with open(os.path.join(agent.config_dir, "hubagent.conf"), "w") as f:
        f.write("relay = on\nrelay_flush_interval = 200ms\n")
    agent.write_boarding(boarding)
    watch = Stopwatch("relay")
    agent.start()
    agent.wait_for(r"relay: checking values against data source configuration line-1", timeout=30 * SLOW)
    watch.lap("start to relay ready")

    bulk = [{"timestamp": "2026-12-01T10:00:00.000Z", "values": [
        {"dataPointId": "dp-temp", "value": "21.5", "qualityCode": "0"},
        {"dataPointId": "Boiler/Count", "value": 7}]}]
    request = b"POST /v1/timeseries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    data = json.dumps(bulk).encode()
    status, answer = unix_http(os.path.join(agent.runtime_dir, "data.sock"), request % len(data) + data)
    watch.lap("POST to data.sock (2 values)")
    assert status == 202 and json.loads(answer)["accepted"] == 2, answer

    lines = [json.dumps({"dataPointId": "dp-count", "value": i, "timestamp": 1764583200000 + i * 1000})
             for i in range(1000)]
    sent = subprocess.run([binary_of(agent), "send", "--runtime-dir", agent.runtime_dir],
                          input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60 * SLOW)
    watch.lap("hubagent send (1000 values)")
    assert sent.returncode == 0 and "accepted 1000 values" in sent.stdout, sent

    emu.await_values(agent_id, 1002, timeout=30 * SLOW)
    watch.lap("all 1002 values stored by the exchange endpoint")
    stored = emu.timeseries(agent_id)
    assert sorted(int(v["value"]) for v in stored if v["dataPointId"] == "dp-count"
                  and v["timestamp"] != "2026-12-01T10:00:00.000Z") == list(range(1000))
    assert {(v["dataPointId"], v["value"]) for v in stored if v["timestamp"] == "2026-12-01T10:00:00.000Z"} \
        == {("dp-temp", "21.5"), ("dp-count", "7")}
    assert agent.stop() == 0


def test_the_package(tmp_path):
    """The arm64 package (make deb ARCH=arm64) holds what the amd64 one holds, depends on Debian
    12's library packages and glibc 2.36 at most, passes lintian, and its stripped binary runs on
    Debian 12 and 13."""
    deb = os.environ.get("HUBAGENT_ARM64_DEB")
    if not deb:
        pytest.skip("HUBAGENT_ARM64_DEB names the package (make test-arm64 builds it)")
    from test_021_debian_package import FILES, control
    listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True, check=True).stdout
    files = {row.split(None, 5)[5][2:]: row.split()[0] for row in listing.splitlines() if not row.startswith("d")}
    assert files == FILES, listing
    fields = control(deb)
    assert fields["Architecture"] == "arm64" and os.path.basename(deb).endswith("_arm64.deb"), fields
    # Debian 12's names, which Debian 13's libcurl4t64 and libssl3t64 provide.
    depends = {d.strip().split()[0] for d in fields["Depends"].split(",")}
    assert {"libc6", "libcurl4", "libssl3", "libsystemd0"} <= depends, fields["Depends"]
    lintian = subprocess.run(["lintian", "--fail-on", "error,warning", deb], capture_output=True, text=True,
                             timeout=300)
    tags = [line for line in lintian.stdout.splitlines() if line[:3] in ("E: ", "W: ")]
    assert lintian.returncode == 0 and not tags, lintian.stdout + lintian.stderr
    assert re.search(r"\blibc6 \(>= 2\.(3[0-6]|[12][0-9])\)", fields["Depends"]), fields["Depends"]
    subprocess.run(["dpkg-deb", "-x", deb, str(tmp_path)], check=True)
    program = str(tmp_path / "usr" / "bin" / "hubagent")
    # In the Debian 12 root and in the Debian 13 root.
    for root in os.environ["HUBAGENT_ARM64_ROOTS"].split():
        result = subprocess.run(["qemu-aarch64-static", "-L", root, program, "version"], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0 and result.stdout.strip() == "hubagent " + fields["Version"], (root, result)


def binary_of(agent):
    return agent.args[0]
