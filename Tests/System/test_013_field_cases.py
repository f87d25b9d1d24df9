"""Scenario 13: the field cases of issue 6, against the emulator, as a black box.

Proven here, each by the emulator's request log (counts and statuses) and the daemon's log:
- offboarded in the cloud: the refused token and rotation end in the offboarded state, with no
  request storm afterwards (also after a restart) and the state kept on disk;
- a new boarding file, dropped by atomic rename or written in place, onboards again within seconds
  without a restart; the same file again does nothing; a used IAT is never sent a second time;
- an expired secret (gateway off longer than the secret lifetime) is reported as such after at
  most one request, and a new boarding file recovers it;
- southgate's clock 10 minutes ahead or behind: one refused assertion, then tokens with the
  server's time;
- southgate unreachable for longer than the token lifetime: on return one token request, no
  rotation, no onboarding;
- a wrong CA fails with a message naming certificate verification, and the daemon keeps retrying
  with backoff; `ca_file` in hubagent.conf adds the right one;
- a CONNECT proxy from hubagent.conf or https_proxy, bypassed by no_proxy, with Basic proxy
  authentication whose password never reaches the log.
"""

import json
import os
import socket
import threading
import time

import pytest

from conftest import Hubagent
from pki import unrelated_ca
from proxy import ConnectProxy
from verify import parts

AM = "/api/agentmanagement/v3"


# --- helpers --------------------------------------------------------------------------------

def write_conf(agent, text):
    with open(os.path.join(agent.config_dir, "hubagent.conf"), "w") as f:
        f.write(text)


def agent_requests(emu, since=0):
    """The agent's requests (the operator's management calls under …/boarding/ left out)."""
    return [r for r in emu.requests(since) if "/boarding/" not in r["path"]]


def kinds(requests):
    """(method, last path element, status) of each request, e.g. ("POST", "token", 200)."""
    out = []
    for r in requests:
        last = r["path"].rsplit("/", 1)[-1]
        out.append((r["method"], "rotate" if r["method"] == "PUT" and "/register/" in r["path"] else last,
                    r["status"]))
    return out


def registers(emu, since=0):
    return [r for r in emu.requests(since) if r["method"] == "POST" and r["path"].endswith("/register")]


def bearer(request):
    value = request["headers"].get("Authorization") or request["headers"].get("authorization") or ""
    return value[len("Bearer "):] if value.startswith("Bearer ") else value


def offboard(emu, agent_id):
    resp = emu.admin("POST", "%s/agents/%s/boarding/offboard" % (AM, agent_id))
    assert resp.status == 200, resp
    assert resp.json()["status"] == "NOT_ONBOARDED"


def boarding_configuration(emu, agent_id):
    resp = emu.admin("GET", "%s/agents/%s/boarding/configuration" % (AM, agent_id))
    assert resp.status == 200, resp
    return resp.json()


def start_onboarded(emu, hubagent, profile="SHARED_SECRET", conf=None, name="gateway"):
    agent_id, boarding = emu.create_agent(profile)
    agent = hubagent(emu, name=name)
    if conf is not None:
        write_conf(agent, conf)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"onboarded as %s" % agent_id, timeout=20)
    agent.wait_for(r"access token valid until", timeout=15)
    return agent_id, boarding, agent


class StatusListener:
    """A NOTIFY_SOCKET datagram socket keeping the last STATUS= the daemon sent."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.statuses = []
        self.cond = threading.Condition()
        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            for line in data.decode("utf-8", "replace").splitlines():
                if line.startswith("STATUS="):
                    with self.cond:
                        self.statuses.append(line[len("STATUS="):])
                        self.cond.notify_all()

    def wait_for(self, pattern, timeout=10):
        import re
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while not (self.statuses and regex.search(self.statuses[-1])):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("STATUS never matched %r: %r" % (pattern, self.statuses))
                self.cond.wait(remaining)
            return self.statuses[-1]

    def close(self):
        self.sock.close()


@pytest.fixture
def status(tmp_path, monkeypatch):
    listener = StatusListener(str(tmp_path / "notify.sock"))
    monkeypatch.setenv("NOTIFY_SOCKET", listener.path)
    yield listener
    listener.close()


def quiet_for(seconds):
    """Lets time pass: the assertion that follows is about what did NOT happen meanwhile."""
    time.sleep(seconds)


# --- 1. offboarded in the cloud -----------------------------------------------------------------

@pytest.mark.parametrize("when", ["fresh", "after_rotation"])
def test_offboarded_in_the_cloud(spawn_emulator, hubagent, status, when):
    if when == "fresh":
        emu = spawn_emulator("--token-lifetime", "4")
        agent_id, _, agent = start_onboarded(emu, hubagent)
    else:                                   # with a previous RAT to fall back on
        emu = spawn_emulator("--token-lifetime", "4", "--secret-lifetime", "12")
        agent_id, _, agent = start_onboarded(emu, hubagent)
        agent.wait_for(r"credentials rotated", timeout=20)
        agent.wait_for(r"access token valid until", timeout=10)
    mark = emu.next_seq()
    offboard(emu, agent_id)

    # The next token refresh (half of 4 s) is refused, and so is the rotation with the RAT(s).
    agent.wait_for(r"offboarded: southgate refuses (this agent's|even freshly rotated) credentials; "
                   r"drop a new boarding file into the configuration directory", timeout=20)
    detected = emu.next_seq()
    status.wait_for(r"offboarded: .*drop a new boarding file")
    until_detection = kinds(agent_requests(emu, mark))
    assert ("PUT", "rotate", 401) in until_detection, until_detection
    assert all(k in (("POST", "token", 400), ("PUT", "rotate", 401)) for k in until_detection), until_detection
    assert len(until_detection) <= 4, until_detection

    # No storm: over 10 s at most one probe.
    quiet_for(10)
    after = agent_requests(emu, detected)
    print("offboarded: until detection %s; in 10 s after it %s" % (until_detection, kinds(after)))
    assert len(after) <= 1, kinds(after)
    assert agent.proc.poll() is None, "the daemon exited:\n" + agent.log()

    # The state is kept, not deleted: the identity is still on disk.
    state = agent.stored_state()
    assert state["identity"]["clientId"] == agent_id
    assert len(registers(emu)) == 1, "onboarded again with the used IAT"

    # A restart while offboarded probes once more, then is quiet again.
    assert agent.stop() == 0
    mark = emu.next_seq()
    agent.start()
    # (after_rotation: the 12 s secret has run out meanwhile, which is reported instead)
    agent.wait_for(r"offboarded: |credentials expired at", timeout=20)
    probed = agent_requests(emu, mark)
    print("offboarded, restarted: %s" % kinds(probed))
    assert len(probed) <= 3, kinds(probed)
    quiet_for(5)
    assert len(agent_requests(emu, mark)) == len(probed), kinds(agent_requests(emu, mark))
    assert agent.stop() == 0
    assert agent.stored_state()["identity"]["clientId"] == agent_id
    assert emu.state(agent_id)["onboard_count"] == 1


# --- 2. a new boarding file ----------------------------------------------------------------------

def write_in_place(path, boarding):
    """An editor-style write: truncate and write the existing file, in two pieces."""
    text = json.dumps(boarding)
    half = len(text) // 2
    with open(path, "r+") as f:
        f.truncate(0)
        f.write(text[:half])
        f.flush()
        f.write(text[half:])


@pytest.mark.parametrize("how", ["atomic_rename", "in_place"])
def test_new_boarding_file_after_offboarding(spawn_emulator, hubagent, how):
    emu = spawn_emulator("--token-lifetime", "4")
    agent_id, first, agent = start_onboarded(emu, hubagent)
    path = os.path.join(agent.config_dir, "boarding.json")
    offboard(emu, agent_id)
    agent.wait_for(r"offboarded: ", timeout=20)

    second = boarding_configuration(emu, agent_id)
    old_iat, new_iat = first["content"]["iat"], second["content"]["iat"]
    assert old_iat != new_iat
    mark = emu.next_seq()
    dropped = time.monotonic()
    if how == "atomic_rename":
        agent.write_boarding(second)
    else:
        write_in_place(path, second)
    agent.wait_for(r"new boarding file for %s" % agent_id, timeout=10)
    agent.wait_for(r"onboarded as %s" % agent_id, timeout=10)
    agent.wait_for(r"access token valid until", timeout=10)
    assert time.monotonic() - dropped < 10
    assert agent.starts == 1, "restarted"
    regs = registers(emu, mark)
    assert [(bearer(r), r["status"]) for r in regs] == [(new_iat, 201)], [r["status"] for r in regs]

    # The same file again: a touch, then the identical content rewritten in place.
    mark = emu.next_seq()
    lines = len(agent.lines)
    os.utime(path)
    write_in_place(path, second)
    quiet_for(3)
    assert not registers(emu, mark), "the same boarding file onboarded again"
    assert agent.count(r"new boarding file|onboarded as", since=lines) == 0, agent.log()

    # The old, used boarding file dropped in again: recognised, its IAT not sent.
    agent.write_boarding(first)
    agent.wait_for(r"boarding file for %s was already used; not sending its initial access token again"
                   % agent_id, timeout=10)
    quiet_for(2)
    assert not registers(emu, mark), "a used IAT was sent again"
    assert agent.proc.poll() is None
    # Still working with the new identity.
    agent.wait_for(r"access token valid until", timeout=10)
    assert agent.stop() == 0

    sent = [bearer(r) for r in registers(emu)]
    assert sent == [old_iat, new_iat], "each IAT exactly once"
    state = emu.state(agent_id)
    assert state["onboard_count"] == 2 and state["status"] == "ONBOARDED"
    stored = agent.stored_state()
    assert stored["identity"]["clientId"] == agent_id
    assert "archivedIdentity" in stored, "the offboarded identity was dropped, not archived"


def test_boarding_file_of_another_agent_after_offboarding(spawn_emulator, hubagent):
    """The operator deletes the agent in the cloud and creates a new one: its boarding file
    replaces the identity (the old one archived), without a restart."""
    emu = spawn_emulator("--token-lifetime", "4")
    old_id, _, agent = start_onboarded(emu, hubagent)
    offboard(emu, old_id)
    agent.wait_for(r"offboarded: ", timeout=20)
    new_id, boarding = emu.create_agent("SHARED_SECRET")
    mark = emu.next_seq()
    agent.write_boarding(boarding)
    agent.wait_for(r"onboarded as %s" % new_id, timeout=10)
    agent.wait_for(r"access token valid until", timeout=10)
    assert agent.stop() == 0
    sent = agent_requests(emu, mark)
    assert kinds(sent)[:2] == [("POST", "register", 201), ("POST", "token", 200)], kinds(sent)
    assert not [r for r in sent if old_id in r["path"] or old_id in r["body"]], "still talking as the old agent"
    stored = agent.stored_state()
    assert stored["identity"]["clientId"] == new_id
    assert stored["archivedIdentity"]["clientId"] == old_id


# --- 3. an expired secret ------------------------------------------------------------------------

@pytest.mark.parametrize("rotation_after_expiry", ["refuse", "accept"])
def test_expired_secret_after_power_off(spawn_emulator, hubagent, status, rotation_after_expiry):
    """docs/protocol.md §5.1 (contested): after the secret expired, southgate may refuse or accept
    a rotation with the RAT. hubagent tries exactly one: under `accept` it recovers on its own,
    under `refuse` it asks for a new boarding file."""
    emu = spawn_emulator("--rotation-after-expiry", rotation_after_expiry)
    emu.settings(secret_lifetime=6)
    agent_id, _, agent = start_onboarded(emu, hubagent)
    assert agent.stop() == 0
    expires_at = emu.state(agent_id)["client_secret_expires_at"]

    # The gateway stays off until its secret has expired (server clock).
    quiet_for(max(0, expires_at + 1.5 - emu.server_now()))
    if rotation_after_expiry == "accept":
        emu.settings(secret_lifetime=3600)
        mark = emu.next_seq()
        lines = agent.start()
        agent.wait_for(r"credentials rotated", timeout=20)
        agent.wait_for(r"access token valid until", timeout=20)
        assert agent.stop() == 0
        sent = kinds(agent_requests(emu, mark))
        assert [k for k in sent if k[1] == "rotate"] == [("PUT", "rotate", 200)], sent
        assert not any(k[1] == "register" for k in sent), sent
        assert emu.state(agent_id)["onboard_count"] == 1
        assert agent.count(r"needs a new boarding file|credentials expired at", since=lines) == 0
        return

    mark = emu.next_seq()
    lines = agent.start()
    agent.wait_for(r"credentials expired at .* \(the gateway was off or offline too long\); "
                   r"drop a new boarding file into the configuration directory", timeout=20)
    status.wait_for(r"credentials expired at .*drop a new boarding file")
    quiet_for(5)
    sent = agent_requests(emu, mark)
    # At most one request, to learn the server's clock (a token or rotation attempt, refused);
    # never an onboarding with the used IAT.
    print("expired secret: requests after the restart %s" % kinds(sent))
    assert len(sent) <= 1, kinds(sent)
    assert all(k in (("POST", "token", 400), ("PUT", "rotate", 401)) for k in kinds(sent)), kinds(sent)
    assert agent.count(r"offboarded", since=lines) == 0, "an expired secret reported as offboarding"
    assert agent.proc.poll() is None

    # Recovery: the operator renews the agent (its IAT was used, so a new one is issued).
    emu.settings(secret_lifetime=3600)
    renewed = boarding_configuration(emu, agent_id)
    mark = emu.next_seq()
    agent.write_boarding(renewed)
    agent.wait_for(r"onboarded as %s" % agent_id, timeout=10)
    agent.wait_for(r"access token valid until", timeout=10)
    assert agent.stop() == 0
    regs = registers(emu, mark)
    assert [(bearer(r), r["status"]) for r in regs] == [(renewed["content"]["iat"], 201)]
    assert emu.state(agent_id)["onboard_count"] == 2


# --- 4. clock skew ------------------------------------------------------------------------------

@pytest.mark.parametrize("offset", [600, -600, 3 * 3600, -3 * 3600])
def test_server_clock_off(spawn_emulator, hubagent, offset):
    emu = spawn_emulator("--clock-offset", str(offset), "--token-lifetime", "4")
    agent_id, _, agent = start_onboarded(emu, hubagent)
    for _ in range(2):                          # two refreshes with the learned offset
        agent.wait_for(r"access token valid until", timeout=10)
    assert agent.stop() == 0

    def check(requests):
        tokens = [r for r in requests if r["method"] == "POST" and r["path"].endswith("/oauth/token")]
        refused = [r for r in tokens if r["status"] != 200]
        granted = [r for r in tokens if r["status"] == 200]
        print("clock %+d s: token requests %s" % (offset, [r["status"] for r in tokens]))
        assert len(refused) <= 1, kinds(tokens)
        assert all(r["status"] == 400 for r in refused)
        assert not [r for r in requests if r["method"] == "PUT"], "rotated because of the clock"
        for r in granted:                       # assertion times follow the server's clock
            claims = parts(dict(p.split("=", 1) for p in r["body"].split("&"))["client_assertion"])[1]
            assert abs(claims["iat"] - (r["time"] + offset)) <= 5, (claims, r["time"])
        return refused, granted

    refused, granted = check(agent_requests(emu))
    assert len(granted) >= 3
    assert agent.count(r"token refused .*the clock differs from southgate's by") == len(refused)

    # After a restart: at most one refused assertion again, then a token.
    mark = emu.next_seq()
    lines = agent.start()
    agent.wait_for(r"access token valid until", timeout=15)
    assert agent.stop() == 0
    refused, granted = check(agent_requests(emu, mark))
    assert len(granted) >= 1
    assert agent.count(r"rotating credentials|offboarded", since=lines) == 0
    assert emu.state(agent_id)["onboard_count"] == 1


def test_clock_skew_survives_rotations(spawn_emulator, hubagent):
    """With southgate 10 minutes ahead, rotations (every 6 s here) keep working and cost at most
    one refused assertion each (a resync), never an offboarding."""
    emu = spawn_emulator("--clock-offset", "600", "--secret-lifetime", "9", "--token-lifetime", "60")
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"onboarded as %s" % agent_id, timeout=20)
    outcome = None
    for _ in range(3):
        outcome = agent.wait_for(r"credentials rotated|offboarded: |credentials expired at", timeout=20).group(0)
        if outcome != "credentials rotated":
            break
    agent.stop()
    requests = agent_requests(emu)
    print("clock +600 s with rotations: %s" % kinds(requests))
    assert outcome == "credentials rotated", (kinds(requests), agent.log())
    tokens = [r["status"] for r in requests if r["path"].endswith("/oauth/token")]
    rotations = [r["status"] for r in requests if r["method"] == "PUT"]
    assert rotations and all(status == 200 for status in rotations)
    assert 200 in tokens and tokens.count(400) <= 1 + len(rotations), tokens
    assert emu.state(agent_id)["onboard_count"] == 1


# --- 5. long offline -----------------------------------------------------------------------------

def test_offline_longer_than_the_token_lifetime(spawn_emulator, hubagent, tmp_path):
    state_file = str(tmp_path / "southgate-state.json")
    emu = spawn_emulator("--token-lifetime", "10", "--secret-lifetime", "3600", "--state", state_file)
    agent_id, _, agent = start_onboarded(emu, hubagent)
    port = emu.port
    assert emu.stop() == 0
    down = time.monotonic()
    agent.wait_for(r"token request failed: ", timeout=15)
    quiet_for(max(0, 12 - (time.monotonic() - down)))   # > token lifetime (10 s), << secret lifetime
    failures = agent.count(r"token request failed")
    print("offline %.1f s: %d failed attempts" % (time.monotonic() - down, failures))
    assert failures <= 5, agent.log()                    # backoff: 1, 2, 4 s ... not a loop

    emu.args[emu.args.index("--port") + 1] = str(port)
    emu.start()
    back = agent.cursor
    agent.wait_for(r"access token valid until", timeout=30)
    first = agent_requests(emu)
    assert kinds(first) == [("POST", "token", 200)], kinds(first)
    # Nothing else until the regular refresh (half of 10 s later at the earliest).
    quiet_for(3)
    window = [r for r in agent_requests(emu) if r["time"] < first[0]["time"] + 4.5]
    assert kinds(window) == [("POST", "token", 200)], kinds(agent_requests(emu))
    assert agent.count(r"rotating credentials|onboarded as|offboarded: |credentials expired at", since=back) == 0
    assert agent.stop() == 0
    assert not [r for r in agent_requests(emu) if r["method"] != "POST" or not r["path"].endswith("/oauth/token")]
    state = emu.state(agent_id)
    assert state["onboard_count"] == 1 and state["rotation_count"] == 0


# --- 6. CA ---------------------------------------------------------------------------------------


class AgentWithoutCAOption(Hubagent):
    """`hubagent run` without --ca-file: trust comes from hubagent.conf only."""

    @property
    def args(self):
        args = super().args
        i = args.index("--ca-file")
        return args[:i] + args[i + 2:]


@pytest.fixture
def bare_agent(tmp_path, binary):
    made = []

    def make(emulator, name="gateway"):
        agent = AgentWithoutCAOption(tmp_path / name, emulator)
        made.append(agent)
        return agent
    yield make
    for agent in made:
        if agent.proc is not None and agent.proc.poll() is None:
            agent.kill()


@pytest.mark.parametrize("where", ["option", "settings"])
def test_wrong_ca_names_certificate_verification(spawn_emulator, bare_agent, tmp_path, where):
    emu = spawn_emulator()
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    wrong = unrelated_ca(tmp_path / "unrelated-ca.pem")
    agent = bare_agent(emu)
    if where == "option":
        agent.extra_args = ["--ca-file", wrong]
    else:
        write_conf(agent, "ca_file = %s\n" % wrong)
    agent.write_boarding(boarding)
    started = time.monotonic()
    agent.start()
    agent.wait_for(r"onboarding failed: .*TLS certificate verification failed", timeout=15)
    agent.wait_for(r"onboarding failed: .*TLS certificate verification failed", timeout=15)
    agent.wait_for(r"onboarding failed: .*TLS certificate verification failed", timeout=15)
    elapsed = time.monotonic() - started
    print("wrong CA (%s): 3 attempts in %.1f s" % (where, elapsed))
    assert elapsed >= 1.0, "no backoff between attempts"       # >= 0.5 + 1 with jitter
    assert agent.proc.poll() is None, "the daemon exited on a TLS error"
    assert agent.count(r"could not connect|timed out") == 0, agent.log()
    assert not agent_requests(emu), "a request got through with the wrong CA"
    assert agent.stop() == 0

    # The right CA through ca_file in hubagent.conf (no --ca-file): onboarding works.
    write_conf(agent, "ca_file = %s\n" % emu.ca)
    agent.extra_args = []
    agent.start()
    agent.wait_for(r"onboarded as %s" % agent_id, timeout=20)
    agent.wait_for(r"access token valid until", timeout=10)
    assert agent.stop() == 0


@pytest.mark.parametrize("line", ["insecure = true", "tls_verify = false", "ssl_verify_peer = 0"])
def test_tls_verification_cannot_be_switched_off(spawn_emulator, hubagent, line):
    emu = spawn_emulator()
    _, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    write_conf(agent, line + "\n")
    agent.write_boarding(boarding)
    code, text = agent.run_once()
    assert code == 78, text
    assert "hubagent.conf:1" in text and "unknown setting" in text, text
    assert not agent_requests(emu)


# --- 7. proxy ------------------------------------------------------------------------------------

@pytest.fixture
def connect_proxy():
    started = []

    def start(credentials=None):
        proxy = ConnectProxy(credentials).start()
        started.append(proxy)
        return proxy
    yield start
    for proxy in started:
        proxy.stop()


@pytest.fixture
def clean_proxy_env(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                 "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_proxy_from_settings(spawn_emulator, hubagent, connect_proxy, clean_proxy_env):
    emu = spawn_emulator()
    proxy = connect_proxy()
    agent_id, _, agent = start_onboarded(emu, hubagent, conf="proxy = %s\n" % proxy.url)
    assert agent.stop() == 0
    tunnelled = proxy.targets()
    assert tunnelled and set(tunnelled) == {"localhost:%d" % emu.port}, proxy.connects()
    assert kinds(agent_requests(emu))[:2] == [("POST", "register", 201), ("POST", "token", 200)]


@pytest.mark.parametrize("variable", ["https_proxy", "HTTPS_PROXY"])
def test_proxy_from_environment(spawn_emulator, hubagent, connect_proxy, clean_proxy_env, variable):
    emu = spawn_emulator()
    proxy = connect_proxy()
    clean_proxy_env.setenv(variable, proxy.url)
    agent_id, _, agent = start_onboarded(emu, hubagent)
    assert agent.stop() == 0
    assert set(proxy.targets()) == {"localhost:%d" % emu.port}, proxy.connects()


def test_no_proxy_bypasses_the_proxy(spawn_emulator, hubagent, connect_proxy, clean_proxy_env):
    emu = spawn_emulator()
    proxy = connect_proxy()
    # no_proxy in hubagent.conf bypasses the configured proxy and the environment's.
    clean_proxy_env.setenv("https_proxy", proxy.url)
    agent_id, _, agent = start_onboarded(emu, hubagent,
                                         conf="proxy = %s\nno_proxy = localhost\n" % proxy.url)
    assert agent.stop() == 0
    assert proxy.connects() == []

    # no_proxy from the environment as well.
    write_conf(agent, "")
    clean_proxy_env.setenv("no_proxy", "localhost")
    agent.start()
    agent.wait_for(r"access token valid until", timeout=15)
    assert agent.stop() == 0
    assert proxy.connects() == []

    # And without no_proxy, the same agent goes through the proxy (the proxy works).
    clean_proxy_env.delenv("no_proxy")
    agent.start()
    agent.wait_for(r"access token valid until", timeout=15)
    assert agent.stop() == 0
    assert proxy.targets() == ["localhost:%d" % emu.port], proxy.connects()


def test_proxy_authentication(spawn_emulator, hubagent, connect_proxy, clean_proxy_env):
    password = "Pr0xy-pa55-7f3a9c"
    emu = spawn_emulator()
    proxy = connect_proxy(credentials=("gateway-user", password))
    agent_id, _, agent = start_onboarded(emu, hubagent, conf="proxy = %s\n" % proxy.url)
    assert agent.stop() == 0
    tunnelled = [r for r in proxy.connects() if r["status"] == 200]
    assert tunnelled and all(r["target"] == "localhost:%d" % emu.port for r in tunnelled)
    assert all(r["proxy_authorization"] == proxy.expected_authorization for r in tunnelled)
    assert password not in agent.log()
    with open(agent.log_path, encoding="utf-8", errors="replace") as f:
        assert password not in f.read()

    # A wrong password: 407, reported, retried with backoff, the password still not logged.
    wrong = "Wr0ng-pa55-51d2"
    write_conf(agent, "proxy = http://gateway-user:%s@127.0.0.1:%d\n" % (wrong, proxy.port))
    mark = emu.next_seq()
    lines = agent.start()
    agent.wait_for(r"token request failed: ", timeout=15)
    agent.wait_for(r"token request failed: ", timeout=15)
    assert agent.proc.poll() is None
    assert agent.stop() == 0
    assert not agent_requests(emu, mark)
    assert [r for r in proxy.connects() if r["status"] == 407]
    text = "\n".join(agent.lines[lines:])
    assert wrong not in text and password not in agent.log(), text
