"""Relay campaigns: the data relay's promise — a 202 means the values survive kill -9, storage
faults and power loss, and reach the exchange endpoint — tested against the emulator with the
real daemon. Producers post NDJSON to data.sock and keep a ledger of every value sent and every
202 (with its sequence range); the emulator's admin API says what was stored and by which
exchange request. Short versions run in `make test` (test_06x_*.py); the long ones are make
targets (relay-kills, relay-storage-faults, relay-power-cut, relay-outage, relay-soak).

    python3 Tests/System/relay_campaigns.py kills --kills 1000
    python3 Tests/System/relay_campaigns.py storage-faults            # every position, bursts 1 and 3
    python3 Tests/System/relay_campaigns.py power-cut --rounds 40 --copies 40
    python3 Tests/System/relay_campaigns.py outage --seconds 180
    python3 Tests/System/relay_campaigns.py soak --values 10000000 --max-seconds 1200

Values: four LONG data points dp-p0 … dp-p3, one per producer; value n of producer p has the
timestamp BASE + n ms and a value derived from (p, n), so a stored value is checked against what
was sent for its (data point, timestamp) and a flipped bit cannot pass for another value.
"""

import argparse
import collections
import json
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "Tests", "Emulator"))

import soak as agent_soak  # noqa: E402
import storage_faults  # noqa: E402
from harness import Emulator  # noqa: E402

PRODUCERS = 4
BASE_MS = 1764583200000  # 2025-12-01T10:00:00Z
DATASOURCES = "configurationId: line-1\ndataSources:\n  - name: Line\n    dataPoints:\n" + "".join(
    "      - id: dp-p%d\n        name: P%d\n        type: LONG\n        unit: \"\"\n"
    "      - id: dp-s%d\n        name: S%d\n        type: STRING\n        unit: \"\"\n" % (p, p, p, p)
    for p in range(PRODUCERS))
READY = r"relay: checking values against data source configuration line-1"
RELAY_OFF = r"the relay is off until"
# The relay's settings for the campaigns: a quick flush, and batches small enough that "one
# batch per kill" bounds the duplicates tightly.
RELAY_CONF = "relay = on\nrelay_flush_interval = 200ms\nrelay_batch_bytes = 64KiB\n"


def value_of(producer, n):
    """The value sent as number n of a producer: not a function of the timestamp alone."""
    return (n * 2654435761 + producer * 40503 + 12345) % (1 << 40)


def text_of(producer, n, width):
    """The STRING value sent as number n of a producer: `width` characters, all of them derived
    from (producer, n)."""
    digits = "%010x" % value_of(producer, n)
    return (digits * (width // len(digits) + 1))[:width]


def exchange_time(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


# --- data.sock ------------------------------------------------------------------------------

def data_http(runtime_dir, method, target, body=b"", content_type="application/x-ndjson", timeout=60):
    """One request on data.sock: (status, headers dict, body bytes). Raises OSError when the
    daemon is not there or the connection breaks before a whole answer."""
    request = ("%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
               % (method, target, content_type, len(body))).encode() + body
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(os.path.join(runtime_dir, "data.sock"))
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        raise ConnectionError("no answer")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", len(rest)))
    if len(rest) < length:
        raise ConnectionError("short answer")
    return status, headers, rest[:length]


def relay_status(runtime_dir):
    """GET /v1/relay: the relay block (queue, drops, ...)."""
    status, _, body = data_http(runtime_dir, "GET", "/v1/relay", timeout=30)
    assert status == 200, (status, body)
    return json.loads(body)


def token_status(runtime_dir):
    """GET /token on token.sock: the HTTP status (0 when no answer)."""
    return agent_soak.socket_token(os.path.join(runtime_dir, "token.sock"), timeout=30)


# Stops that did not end with exit status 0 (by status, or "hung"), for the summary.
STOP_EXITS = collections.Counter()


def stop_daemon(agent, timeout=20):
    """SIGTERM; the exit status, which must be 0 within `timeout` seconds."""
    try:
        code = agent.stop(timeout=timeout)
    except subprocess.TimeoutExpired:
        STOP_EXITS["hung"] += 1
        lines = "\n".join(agent.lines[-40:])
        agent.kill()
        raise AssertionError("no exit within %d s of SIGTERM; the log's end:\n%s" % (timeout, lines))
    if code != 0:
        STOP_EXITS[code] += 1
        raise AssertionError("exit status %s after SIGTERM:\n%s" % (code, "\n".join(agent.lines[-15:])))
    return code


# --- the ledger -----------------------------------------------------------------------------

class Ledger:
    """What the producers sent and what was acknowledged. Keys are (data point, timestamp ms)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent = {}          # key -> value (every value posted, answered or not)
        self.acked = {}         # key -> relay sequence number
        self.requests = []      # (first, last, keys, answered at) per 202, in answer order
        self.statuses = collections.Counter()
        self.retry_after = collections.Counter()  # status -> answers that carried Retry-After
        self.errors = collections.Counter()
        self.next_n = [0] * PRODUCERS

    def take(self, producer, count):
        with self.lock:
            n = self.next_n[producer]
            self.next_n[producer] = n + count
        return n

    def expected_value(self, key):
        return self.sent.get(key)

    def acked_count(self):
        with self.lock:
            return len(self.acked)


class Producers:
    """PRODUCERS threads, each posting NDJSON requests of `size` values for its data point to
    data.sock, `pause` seconds apart; a refused connection (daemon down) is retried shortly.
    `gate` (an Event), when given, must be set for posting to go on."""

    def __init__(self, ledger, runtime_dir, size=20, pause=0.01, gate=None, limit=None, text_width=None):
        self.ledger = ledger
        # STRING values of this many characters (dp-sN) instead of LONG ones (dp-pN): fewer
        # values fill a segment.
        self.text_width = text_width
        self.runtime_dir = runtime_dir
        self.size = size
        self.pause = pause
        self.gate = gate
        self.limit = limit  # stop after this many values in total
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(p,), daemon=True) for p in range(PRODUCERS)]

    def start(self):
        for thread in self.threads:
            thread.start()
        return self

    def stop(self):
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=90)

    def _run(self, producer):
        ledger = self.ledger
        while not self.stop_event.is_set():
            if self.gate is not None and not self.gate.wait(0.2):
                continue
            if self.limit is not None and sum(ledger.next_n) >= self.limit:
                return
            keys, body = request_body(ledger, producer, self.size, self.text_width)
            try:
                status, headers, answer = data_http(self.runtime_dir, "POST", "/v1/timeseries", body)
            except OSError as error:
                with ledger.lock:
                    ledger.errors[type(error).__name__] += 1
                self.stop_event.wait(0.02)
                continue
            at = time.monotonic()
            with ledger.lock:
                ledger.statuses[status] += 1
                if "retry-after" in headers:
                    ledger.retry_after[status] += 1
                if status == 202:
                    parsed = json.loads(answer)
                    first, last = parsed["first"], parsed["last"]
                    assert last - first + 1 == len(keys), parsed
                    for offset, key in enumerate(keys):
                        ledger.acked[key] = first + offset
                    ledger.requests.append((first, last, keys, at))
            if status != 202:
                self.stop_event.wait(0.05)
            elif self.pause:
                self.stop_event.wait(self.pause)


# --- the rig: one emulator, one daemon ------------------------------------------------------

class Rig:
    """An emulator and a relay-enabled daemon onboarded to it (a conftest Hubagent)."""

    def __init__(self, emu, agent, conf=RELAY_CONF, profile="SHARED_SECRET"):
        self.emu = emu
        self.agent = agent
        self.agent_id, boarding = emu.create_agent(profile)
        with open(os.path.join(agent.config_dir, "datasources.yaml"), "w") as f:
            f.write(DATASOURCES)
        storage_faults.write_conf(agent, conf)
        agent.write_boarding(boarding)

    @property
    def runtime_dir(self):
        return self.agent.runtime_dir

    @property
    def relay_dir(self):
        return os.path.join(self.agent.state_dir, "relay")

    def start(self, timeout=30):
        """Starts the daemon and waits until the relay takes values; the first log line's index."""
        mark = self.agent.start()
        self.agent.wait_for(READY, timeout=timeout, since=mark)
        return mark

    def kill(self):
        self.agent.kill()

    def wait_drained(self, timeout=120):
        """Until the relay's queue is empty (every record acknowledged by the exchange)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = relay_status(self.runtime_dir)
                if last["queue"]["records"] == 0:
                    return last
            except (OSError, ValueError):
                pass
            if self.agent.proc.poll() is not None:
                raise AssertionError("hubagent exited while draining:\n" + "\n".join(self.agent.lines[-30:]))
            time.sleep(0.2)
        raise AssertionError("the relay's queue did not drain in %s s: %r" % (timeout, last))

    def stored(self):
        """{(data point, timestamp ms): (value, correlationId)} for everything stored."""
        found = {}
        for dp in ["dp-p%d" % p for p in range(PRODUCERS)] + ["dp-s%d" % p for p in range(PRODUCERS)]:
            for v in self.emu.timeseries(self.agent_id, data_point=dp):
                found[(v["dataPointId"], parse_exchange_time(v["timestamp"]))] = (v["value"], v["correlationId"])
        return found

    def written(self, since=0):
        """(values written by the exchange in timeseries items, largest per request, exchange
        records) for the exchanges after `since`."""
        records = self.emu.exchanges(self.agent_id, since=since)
        total = largest = 0
        for record in records:
            stored = sum(item["stored"] for item in record["items"] if item["type"] == "standardTimeSeries")
            total += stored
            largest = max(largest, stored)
        return total, largest, records


def parse_exchange_time(text):
    import calendar
    seconds = calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
    return seconds * 1000 + int(text[20:23])


def compare(ledger, stored, keys=None):
    """Acknowledged values missing from `stored`, stored values that differ from what was sent,
    and stored values never sent (restricted to `keys` when given)."""
    acked = ledger.acked if keys is None else {k: ledger.acked[k] for k in keys if k in ledger.acked}
    missing = [k for k in acked if k not in stored]
    wrong, unknown = [], []
    for key, (value, _) in stored.items():
        if keys is not None and key not in keys:
            continue
        expected = ledger.sent.get(key)
        if expected is None:
            unknown.append(key)
        elif expected != value:
            wrong.append((key, value, expected))
    return missing, wrong, unknown


# --- campaign 1: kill -9 --------------------------------------------------------------------

def kills(rig, kills, seed=None, max_after=1.0, throttle_chance=0.3, checkpoint_every=100, size=20, pause=0.01,
          log=print):
    """kill -9 at a random instant 0 … max_after s after the relay is ready, `kills` times, with
    PRODUCERS producers posting all along and some uploads slowed (throttle); every
    `checkpoint_every` kills the producers pause, the queue drains and what was stored is checked
    and then forgotten by the emulator (so its memory stays bounded)."""
    seed = random.SystemRandom().randrange(1 << 30) if seed is None else seed
    rng = random.Random(seed)
    emu, agent = rig.emu, rig.agent
    result = {"seed": seed, "kills": 0, "acked": 0, "sent": 0, "stored": 0, "missing": 0, "wrong": 0,
              "unknown": 0, "writes": 0, "duplicates": 0, "largest_batch": 0, "bound": 0,
              "recoveries": 0, "recovery_kinds": collections.Counter(), "start_failures": 0, "checkpoints": 0,
              "throttled": 0}
    gate = threading.Event()
    gate.set()
    ledger = Ledger()
    producers = Producers(ledger, rig.runtime_dir, size=size, pause=pause, gate=gate)
    started = time.monotonic()
    rig.start()
    producers.start()
    window_kills = 0
    window_since = 0

    def checkpoint():
        nonlocal window_kills, window_since
        gate.clear()
        time.sleep(0.3)   # requests in progress are answered
        rig.wait_drained(timeout=300)
        stored = rig.stored()
        with ledger.lock:
            missing, wrong, unknown = compare(ledger, stored)
            result["acked"] += len(ledger.acked)
            result["sent"] += len(ledger.sent)
            ledger.acked.clear()
            ledger.sent.clear()
        written, largest, records = rig.written(since=window_since)
        duplicates = written - len(stored)
        result["stored"] += len(stored)
        result["missing"] += len(missing)
        result["wrong"] += len(wrong)
        result["unknown"] += len(unknown)
        result["writes"] += written
        result["duplicates"] += duplicates
        result["largest_batch"] = max(result["largest_batch"], largest)
        result["bound"] += window_kills * largest
        result["checkpoints"] += 1
        if missing or wrong or unknown:
            result.setdefault("examples", []).append(
                {"missing": missing[:5], "wrong": wrong[:5], "unknown": unknown[:5]})
        if records:
            window_since = records[-1]["seq"] + 1
        emu.clear_data(rig.agent_id)
        emu.admin("DELETE", "/_admin/requests")
        log("  %5.0f s: %d kills, %d acknowledged so far, %d missing, %d duplicates (bound %d)" % (
            time.monotonic() - started, result["kills"], result["acked"], result["missing"], result["duplicates"],
            result["bound"]))
        window_kills = 0
        gate.set()

    try:
        for index in range(kills):
            if rng.random() < throttle_chance:
                emu.fault(path="/exchange$", kind="throttle", bytes_per_second=rng.choice([20000, 100000]))
                result["throttled"] += 1
            time.sleep(rng.uniform(0, max_after))
            rig.kill()
            result["kills"] += 1
            window_kills += 1
            try:
                mark = rig.start(timeout=30)
            except AssertionError:
                result["start_failures"] += 1
                raise
            recovered = [line for line in agent.lines[mark:] if "relay journal recovered" in line]
            if recovered:
                result["recoveries"] += 1
                for line in recovered:
                    text = re.sub(r"\d+", "N", line.split("relay journal recovered: ", 1)[1])
                    result["recovery_kinds"][text[:120]] += 1
            if (index + 1) % checkpoint_every == 0 or index + 1 == kills:
                checkpoint()
    finally:
        producers.stop()
        emu.admin("DELETE", "/_admin/faults")
    result["statuses"] = dict(ledger.statuses)
    result["seconds"] = time.monotonic() - started
    stop_daemon(agent)
    return result


def kills_problems(r):
    problems = []
    if r["missing"]:
        problems.append("%d acknowledged values not stored: %r" % (r["missing"], r.get("examples")))
    if r["wrong"] or r["unknown"]:
        problems.append("%d stored values differ from what was sent, %d never sent" % (r["wrong"], r["unknown"]))
    if r["duplicates"] > r["bound"]:
        problems.append("%d duplicate writes, more than one batch per kill (%d)" % (r["duplicates"], r["bound"]))
    if r["start_failures"]:
        problems.append("the daemon failed to start %d times" % r["start_failures"])
    return problems


def kills_table(r):
    lines = [
        "kill -9 campaign (seed %d)" % r["seed"],
        "  %-36s %.0f s" % ("duration", r["seconds"]),
        "  %-36s %d (%d with a throttled upload queued)" % ("kills", r["kills"], r["throttled"]),
        "  %-36s %d sent, %d acknowledged (202)" % ("values", r["sent"], r["acked"]),
        "  %-36s %d stored, %d missing, %d wrong, %d never sent" % ("emulator", r["stored"], r["missing"], r["wrong"],
                                                                     r["unknown"]),
        "  %-36s %d (bound: one batch per kill, each window's kills x its largest batch = %d; largest %d)" % (
            "duplicate writes", r["duplicates"], r["bound"], r["largest_batch"]),
        "  %-36s %d of %d starts logged one; 0 failed to start" % ("journal recovery", r["recoveries"], r["kills"])
        if not r["start_failures"] else "  daemon failed to start %d times" % r["start_failures"],
        "  %-36s %s" % ("answers to producers", ", ".join("%s: %d" % kv for kv in sorted(r["statuses"].items()))),
    ]
    for kind, count in r["recovery_kinds"].most_common(6):
        lines.append("      %6d  %s" % (count, kind))
    return "\n".join(lines)


# --- campaign 2: storage faults -------------------------------------------------------------

def storage_run(rig, syscall, errno_name, position, burst=1, requests=12, size=25, log=print):
    """One daemon run with `syscall` failing with `errno_name` at its calls position …
    position+burst-1 (counted on every path under the state directory from the start). A
    single producer posts `requests` requests one after the other (uploads go on meanwhile);
    then the fault is over and one more request must get a 202. Returns the outcome dict, or
    None when the run never reached the position."""
    agent = rig.agent
    spec = "%s:%s:%d..%d" % (syscall, errno_name, position, position + burst - 1)
    agent.env.update(HUBAGENT_TEST_HOOKS="1", HUBAGENT_TEST_STORAGE_FAULT=spec)
    before = rig.emu.state(rig.agent_id)
    mark = agent.start()
    outcome = {"spec": spec, "paths": [], "statuses": collections.Counter(), "problems": [], "acked": 0}
    ledger = Ledger()
    try:
        ready = agent.wait_for(READY + "|" + RELAY_OFF, timeout=30, since=mark).group(0).startswith("relay: checking")
    except AssertionError:
        ready = False
    if not ready:
        outcome["problems"].append("the relay never got ready")
    producer = Producers(ledger, rig.runtime_dir, size=size, pause=0)
    if ready:
        for _ in range(requests):
            post_once(producer, 0, ledger)
            time.sleep(0.03)
    name = {"openat": "open", "fdatasync": "fsync", "pwrite": "write", "ftruncate": "write", "pread": "read",
            "unlinkat": "unlink", "renameat": "rename"}.get(syscall, syscall)
    pattern = re.compile(r"test hook: injecting \w+ into %s #\d+ " % name)
    injected = [line for line in agent.lines[mark:] if pattern.search(line)]
    outcome["paths"] = [re.search(r"\((.*)\)$", line).group(1).replace(agent.state_dir, "<state>") for line in injected]
    if not injected:
        if agent.proc.poll() is None:
            stop_daemon(agent)
        agent.env.pop("HUBAGENT_TEST_STORAGE_FAULT", None)
        return None
    alive = agent.proc.poll() is None
    if not alive:
        outcome["problems"].append("the daemon exited (%s)" % agent.proc.returncode)
    elif not ready:
        try:
            agent.wait_for(r"access token valid until", timeout=30, since=mark)
        except AssertionError:
            pass
        if token_status(rig.runtime_dir) != 200:
            outcome["problems"].append("token.sock does not serve a token")
    else:
        # The fault is over: a request is accepted again (the relay may still be in back-off).
        recovered = False
        for _ in range(40):
            if post_once(producer, 0, ledger) == 202:
                recovered = True
                break
            time.sleep(0.25)
        if not recovered:
            outcome["problems"].append("no 202 after the fault cleared")
        if token_status(rig.runtime_dir) != 200:
            outcome["problems"].append("token.sock does not serve a token")
        try:
            rig.wait_drained(timeout=60)
        except AssertionError as error:
            outcome["problems"].append(str(error).splitlines()[0])
    after = rig.emu.state(rig.agent_id)
    if after["status"] != "ONBOARDED" or after["onboard_count"] != before["onboard_count"]:
        outcome["problems"].append(
            "identity changed: %s, onboarded %d times" % (after["status"], after["onboard_count"]))
    outcome["statuses"] = ledger.statuses
    outcome["retry_after"] = ledger.retry_after
    # A full disk is said as such: every non-202 answer to an append under ENOSPC is a 507 with
    # Retry-After (a failed fdatasync may answer 500: the records' fate is unknown).
    if errno_name == "ENOSPC":
        wrong = {s: c for s, c in ledger.statuses.items() if s not in (202, 507, 500)}
        if wrong:
            outcome["problems"].append("answers under ENOSPC: %r" % wrong)
        if ledger.statuses.get(507, 0) != ledger.retry_after.get(507, 0):
            outcome["problems"].append("507 without Retry-After")
    outcome["log"] = [line for line in agent.lines[mark:]
                      if line.startswith(("warning", "error")) or "relay" in line][-12:]
    if agent.proc.poll() is None:
        stop_daemon(agent)
    agent.env.pop("HUBAGENT_TEST_STORAGE_FAULT", None)
    # Restart without faults: everything acknowledged in this run is stored.
    try:
        rig.start()
        rig.wait_drained(timeout=60)
        stored = rig.stored()
        missing, wrong, unknown = compare(ledger, stored, keys=set(ledger.sent))
        if missing:
            outcome["problems"].append("%d acknowledged values not stored: %r" % (len(missing), missing[:3]))
        if wrong or unknown:
            outcome["problems"].append("%d wrong, %d unknown values stored" % (len(wrong), len(unknown)))
        if token_status(rig.runtime_dir) != 200:
            outcome["problems"].append("no token after the restart")
        stop_daemon(agent)
    except AssertionError as error:
        outcome["problems"].append("after a clean restart: " + str(error).splitlines()[0])
    outcome["acked"] = len(ledger.acked)
    rig.emu.clear_data(rig.agent_id)
    rig.emu.admin("DELETE", "/_admin/requests")
    return outcome


def request_body(ledger, producer, size, text_width=None):
    """The next `size` values of `producer` as an NDJSON body, entered in the ledger as sent."""
    n = ledger.take(producer, size)
    keys, lines, values = [], [], []
    for i in range(n, n + size):
        ts = BASE_MS + i
        if text_width:
            dp, value = "dp-s%d" % producer, text_of(producer, i, text_width)
            lines.append('{"dataPointId":"%s","value":"%s","timestamp":%d}' % (dp, value, ts))
        else:
            dp, value = "dp-p%d" % producer, str(value_of(producer, i))
            lines.append('{"dataPointId":"%s","value":%s,"timestamp":%d}' % (dp, value, ts))
        keys.append((dp, ts))
        values.append(value)
    with ledger.lock:
        ledger.sent.update(zip(keys, values))
    return keys, ("\n".join(lines) + "\n").encode()


def post_once(producers, producer, ledger):
    """One request of producers.size values from `producer`, synchronously; its status (0: no answer)."""
    keys, body = request_body(ledger, producer, producers.size, producers.text_width)
    try:
        status, headers, answer = data_http(producers.runtime_dir, "POST", "/v1/timeseries", body)
    except OSError as error:
        ledger.errors[type(error).__name__] += 1
        return 0
    ledger.statuses[status] += 1
    if "retry-after" in headers:
        ledger.retry_after[status] += 1
    if status == 202:
        parsed = json.loads(answer)
        for offset, key in enumerate(keys):
            ledger.acked[key] = parsed["first"] + offset
        ledger.requests.append((parsed["first"], parsed["last"], keys, time.monotonic()))
    return status


STORAGE_FAULTS = ["write:ENOSPC", "write:EIO", "fdatasync:EIO", "fdatasync:ENOSPC", "open:ENOSPC", "open:EMFILE",
                  "rename:EIO", "rename:ENOSPC", "pread:EIO", "unlink:EIO"]


def storage_campaign(rig, faults=STORAGE_FAULTS, bursts=(1, 3), positions=None, max_position=200,
                     relay_hits=None, log=print):
    """For each fault and burst length: positions 1, 2, … (or the given ones) until a run no
    longer reaches the position; with `relay_hits`, stop a fault after that many positions that
    landed on a journal or cursor path. Returns the rows."""
    rows = []
    rig.start()
    stop_daemon(rig.agent)
    for fault in faults:
        syscall, errno_name = fault.split(":")
        for burst in bursts:
            hits = 0
            candidates = positions if positions is not None else range(1, max_position + 1)
            for position in candidates:
                outcome = storage_run(rig, syscall, errno_name, position, burst, log=log)
                if outcome is None:
                    if positions is None:
                        break
                    continue
                relay = any("/relay/" in p for p in outcome["paths"])
                hits += relay
                rows.append(dict(outcome, fault=fault, position=position, burst=burst, relay=relay))
                log("  %-18s #%-3d x%d %-42s %s %s" % (
                    fault, position, burst, ",".join(sorted(set(short_path(p) for p in outcome["paths"])))[:42],
                    dict(outcome["statuses"]), "; ".join(outcome["problems"]) or "ok"))
                if relay_hits is not None and hits >= relay_hits:
                    break
    return rows


def short_path(path):
    return re.sub(r"segment\.\d+\.log", "segment", re.sub(r"\.tmp\.[\w.]+", ".tmp", path.replace("<state>/", "")))


def storage_table(rows):
    lines = ["storage fault campaign: %d runs" % len(rows)]
    by_fault = collections.OrderedDict()
    for row in rows:
        entry = by_fault.setdefault("%s x%d" % (row["fault"], row["burst"]),
                                    {"runs": 0, "relay": 0, "statuses": collections.Counter(), "problems": 0})
        entry["runs"] += 1
        entry["relay"] += row["relay"]
        entry["statuses"].update(row["statuses"])
        entry["problems"] += bool(row["problems"])
    lines.append("  %-22s %5s %6s %9s  %s" % ("fault", "runs", "relay", "problems", "answers"))
    for name, e in by_fault.items():
        lines.append("  %-22s %5d %6d %9d  %s" % (name, e["runs"], e["relay"], e["problems"],
                                                  ", ".join("%s: %d" % kv for kv in sorted(e["statuses"].items()))))
    for row in rows:
        if row["problems"]:
            lines.append("  FAILED %s at #%d x%d (%s): %s" % (row["fault"], row["position"], row["burst"],
                                                             ",".join(row["paths"]), "; ".join(row["problems"])))
    return "\n".join(lines)


# --- campaign 3: power cut ------------------------------------------------------------------

FRAME_HEADER = struct.Struct("<BIIQIq")  # magic, payload length, CRC, first sequence, records, ingest time


def frames_of(path):
    """[(offset, end, first sequence, records)] of a segment file as written (no checks)."""
    frames = []
    with open(path, "rb") as f:
        data = f.read()
    offset = 0
    while offset + FRAME_HEADER.size <= len(data):
        magic, length, _, first, count, _ = FRAME_HEADER.unpack_from(data, offset)
        if magic != 0xA1:
            break
        end = offset + FRAME_HEADER.size + length
        if end > len(data):
            break
        frames.append((offset, end, first, count))
        offset = end
    return frames


def segments_of(relay_dir):
    return sorted(n for n in os.listdir(relay_dir) if re.fullmatch(r"segment\.\d{20}\.log", n))


def read_cursor(relay_dir):
    """(acknowledged, next sequence, dropped full, age, corrupt) from the cursor file, or None."""
    try:
        with open(os.path.join(relay_dir, "cursor"), "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    if len(data) != 56 or data[:4] != b"HJC1":
        return None
    return struct.unpack_from("<QQQQQ", data, 4)


def damage(relay_dir, rng, flips, truncate):
    """Flips `flips` random bytes in random segments (by size) and, when `truncate`, cuts the last
    segment at a random offset. Returns, per segment, the frames as written, the offsets
    damaged and the truncation point."""
    names = segments_of(relay_dir)
    plan = []
    for name in names:
        path = os.path.join(relay_dir, name)
        plan.append({"name": name, "frames": frames_of(path), "size": os.path.getsize(path), "flips": [],
                     "truncate": None})
    sizes = [p["size"] for p in plan]
    for _ in range(flips):
        if not sum(sizes):
            break
        target = rng.choices(plan, sizes)[0]
        offset = rng.randrange(target["size"])
        path = os.path.join(relay_dir, target["name"])
        with open(path, "r+b") as f:
            f.seek(offset)
            byte = f.read(1)[0]
            f.seek(offset)
            f.write(bytes([byte ^ rng.randrange(1, 256)]))
        target["flips"].append(offset)
    if truncate and plan:
        last = plan[-1]
        offset = rng.randrange(last["size"] + 1)
        os.truncate(os.path.join(relay_dir, last["name"]), offset)
        last["truncate"] = offset
    return plan


def expected_after(plan, acknowledged):
    """(first sequences of the frames recovery must keep, records it must cut and count (older
    segments), records lost without a count (the last segment: cut, or gone with the truncated
    end), records of intact frames cut behind a damaged one). Every frame before the first
    damaged one of its segment survives; from that frame to the segment's end is cut."""
    keep, counted, uncounted, collateral = set(), 0, 0, 0

    def unacknowledged(frames):
        return sum(max(0, f + c - 1 - max(acknowledged, f - 1)) for _, _, f, c in frames)

    for index, seg in enumerate(plan):
        is_last = index == len(plan) - 1
        cut = seg["truncate"]
        frames = seg["frames"]
        stop = None
        for i, (start, end, first, count) in enumerate(frames):
            gone = cut is not None and cut <= start
            damaged = any(start <= o < end for o in seg["flips"]) or (cut is not None and start < cut < end)
            if gone or damaged:
                stop = (i, damaged)
                break
            keep.add(first)
        if stop is None:
            continue
        i, damaged = stop
        lost = unacknowledged(frames[i:])
        if is_last or not damaged:
            uncounted += lost
        else:
            counted += lost
        if damaged:
            collateral += sum(c for s, e, f, c in frames[i + 1:]
                              if not any(s <= o < e for o in seg["flips"]) and (cut is None or cut >= e))
    return keep, counted, uncounted, collateral


def power_cut(rig, rounds, seed=None, flips_max=3, values_per_round=24000, text_width=200, log=print):
    """Per round: ingest with the exchange refusing (503), wait for every 202, kill -9, damage the
    segments (random flips and/or a truncated last segment), restart with the exchange healthy.
    Checks: the daemon starts; every value of a frame before the first damaged one of its segment
    is stored; no stored value differs from what was sent; dropped.corrupt grows by exactly the
    cut records of older segments."""
    seed = random.SystemRandom().randrange(1 << 30) if seed is None else seed
    rng = random.Random(seed)
    emu = rig.emu
    r = {"seed": seed, "rounds": 0, "flips": 0, "truncations": 0, "acked": 0, "kept": 0, "cut_counted": 0,
         "cut_uncounted": 0, "collateral": 0, "counted_by_daemon": 0, "missing": 0, "wrong": 0, "unknown": 0,
         "extra": 0, "count_mismatch": 0, "start_failures": 0, "segments": 0, "problems": []}
    rig.start()
    for index in range(rounds):
        emu.fault(path="/exchange$", kind="status", status=503, always=True)
        ledger = Ledger()
        producers = Producers(ledger, rig.runtime_dir, size=100, pause=0, limit=values_per_round,
                              text_width=text_width).start()
        for thread in producers.threads:
            thread.join(timeout=120)
        producers.stop()
        cursor = read_cursor(rig.relay_dir)
        before = relay_status(rig.runtime_dir)["dropped"].get("corrupt", 0)
        rig.kill()
        acknowledged = read_cursor(rig.relay_dir)[0] if read_cursor(rig.relay_dir) else 0
        flips = rng.randint(0, flips_max)
        truncate = flips == 0 or rng.random() < 0.5
        plan = damage(rig.relay_dir, rng, flips, truncate)
        keep, counted, uncounted, collateral = expected_after(plan, acknowledged)
        emu.admin("DELETE", "/_admin/faults")
        try:
            mark = rig.start()
        except AssertionError as error:
            r["start_failures"] += 1
            r["problems"].append("round %d: the daemon did not start: %s" % (index, str(error).splitlines()[0]))
            break
        status = rig.wait_drained(timeout=180)
        stored = rig.stored()
        keep_keys = set()
        for first, last, keys, _ in ledger.requests:
            if first in keep:
                keep_keys.update(keys)
        missing = [k for k in keep_keys if k not in stored]
        wrong = [(k, v[0], ledger.sent.get(k)) for k, v in stored.items() if ledger.sent.get(k) not in (None, v[0])]
        unknown = [k for k in stored if k not in ledger.sent]
        extra = [k for k in stored if k not in keep_keys and k in ledger.sent]
        after = status["dropped"].get("corrupt", 0)
        r["rounds"] += 1
        r["segments"] += len(plan)
        r["flips"] += flips
        r["truncations"] += truncate
        r["acked"] += len(ledger.acked)
        r["kept"] += len(keep_keys)
        r["cut_counted"] += counted
        r["cut_uncounted"] += uncounted
        r["collateral"] += collateral
        r["counted_by_daemon"] += after - before
        r["missing"] += len(missing)
        r["wrong"] += len(wrong)
        r["unknown"] += len(unknown)
        r["extra"] += len(extra)
        if after - before != counted:
            r["count_mismatch"] += 1
            r["problems"].append("round %d: dropped.corrupt +%d, cut from older segments %d (plan %s)" % (
                index, after - before, counted, describe_plan(plan)))
        if missing or wrong or unknown:
            r["problems"].append("round %d: %d kept values missing, %d wrong, %d never sent (plan %s; log %s)" % (
                index, len(missing), len(wrong), len(unknown), describe_plan(plan),
                [l for l in rig.agent.lines[mark:] if "recovered" in l or "cut" in l][:3]))
        del cursor
        emu.clear_data(rig.agent_id)
        emu.admin("DELETE", "/_admin/requests")
        log("  round %d: %d segments (%s bytes), %d flips%s: kept %d of %d acknowledged, cut %d counted / %d not, "
            "daemon counted %d" % (index, len(plan), "+".join(str(p["size"]) for p in plan), flips,
                                   ", truncated" if truncate else "", len(keep_keys),
                                   len(ledger.acked), counted, uncounted, after - before))
    stop_daemon(rig.agent)
    return r


def describe_plan(plan):
    return "; ".join("%s %dB %d frames flips %s trunc %s" % (p["name"][-12:-4], p["size"], len(p["frames"]),
                                                               p["flips"], p["truncate"]) for p in plan)


def copy_journal(source, target):
    """Copies a journal directory that is being written, as a power cut would leave it: the
    listing first, segments in order, the cursor last (a newer cursor only skips more)."""
    os.makedirs(target, mode=0o700)
    names = sorted(os.listdir(source))
    for name in [n for n in names if n != "cursor"] + ["cursor"]:
        try:
            with open(os.path.join(source, name), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        path = os.path.join(target, name)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o600)


def copies(rig, make_second, rounds, seed=None, log=print):
    """Copies the journal at random instants while 4 producers post and the relay uploads, then
    starts a second daemon (its own emulator and identity) on each copy: it must start, and
    what it uploads is a run of sequence numbers from the copied cursor on that covers every
    value acknowledged before the copy began."""
    seed = random.SystemRandom().randrange(1 << 30) if seed is None else seed
    rng = random.Random(seed)
    r = {"seed": seed, "copies": 0, "acked_before": 0, "uploaded": 0, "missing": 0, "gaps": 0, "wrong": 0,
         "torn": 0, "start_failures": 0, "problems": []}
    ledger = Ledger()
    rig.start()
    producers = Producers(ledger, rig.runtime_dir, size=50, pause=0.005).start()
    snapshots = []
    try:
        for index in range(rounds):
            time.sleep(rng.uniform(0.05, 0.6))
            if rng.random() < 0.3:
                rig.emu.fault(path="/exchange$", kind="throttle", bytes_per_second=50000)
            with ledger.lock:
                acked_before = dict(ledger.acked)
            target = os.path.join(rig.agent.workdir, "copies", "%d" % index)
            copy_journal(rig.relay_dir, target)
            snapshots.append((target, acked_before))
    finally:
        producers.stop()
        rig.emu.admin("DELETE", "/_admin/faults")
    stop_daemon(rig.agent)
    for index, (target, acked_before) in enumerate(snapshots):
        cursor = read_cursor(target)
        acknowledged = cursor[0] if cursor else 0
        plan = [frames_of(os.path.join(target, n)) for n in segments_of(target)]
        sizes = [os.path.getsize(os.path.join(target, n)) for n in segments_of(target)]
        r["torn"] += bool(plan and plan[-1] and plan[-1][-1][1] != sizes[-1])
        emu2, agent2 = make_second(index)
        second = Rig(emu2, agent2)
        os.makedirs(agent2.state_dir, mode=0o700, exist_ok=True)
        shutil.copytree(target, os.path.join(agent2.state_dir, "relay"))
        os.chmod(os.path.join(agent2.state_dir, "relay"), 0o700)
        try:
            second.start()
        except AssertionError as error:
            r["start_failures"] += 1
            r["problems"].append("copy %d: the daemon did not start: %s" % (index, str(error).splitlines()[0]))
            continue
        second.wait_drained(timeout=120)
        stored = second.stored()
        stop_daemon(agent2)
        seqs = sorted(ledger.acked[k] for k in stored if k in ledger.acked)
        wrong = [k for k, v in stored.items() if ledger.sent.get(k) != v[0]]
        must = [k for k, s in acked_before.items() if s > acknowledged]
        missing = [k for k in must if k not in stored]
        gaps = 0
        if seqs:
            gaps = (seqs[-1] - seqs[0] + 1) - len(seqs)
            if seqs[0] != acknowledged + 1:
                gaps += 1
        r["copies"] += 1
        r["acked_before"] += len(must)
        r["uploaded"] += len(stored)
        r["missing"] += len(missing)
        r["gaps"] += gaps
        r["wrong"] += len(wrong)
        if missing or gaps or wrong:
            r["problems"].append("copy %d (cursor %d): %d acknowledged before the copy missing, %d gaps, %d wrong" % (
                index, acknowledged, len(missing), gaps, len(wrong)))
        log("  copy %d: cursor %d, %d acknowledged before the copy and unsent, %d uploaded by the second daemon%s" % (
            index, acknowledged, len(must), len(stored),
            " (torn tail)" if plan and plan[-1] and plan[-1][-1][1] != sizes[-1] else ""))
        emu2.stop()
    return r


# --- campaign 4: outage ---------------------------------------------------------------------

def outage(rig, seconds, mode="refuse", size=20, pause=0.05, after=5, log=print):
    """Steady ingest (PRODUCERS producers) through an outage of `seconds`: afterwards every
    acknowledged value is stored, values reach the exchange in the order of their sequence
    numbers (the exchange request that stored a value never precedes the one of an earlier
    value) and no sequence number is missing."""
    ledger = Ledger()
    rig.start()
    producers = Producers(ledger, rig.runtime_dir, size=size, pause=pause).start()
    started = time.monotonic()
    time.sleep(2)
    rig.emu.outage(seconds, mode)
    time.sleep(seconds + after)
    producers.stop()
    ingest_seconds = time.monotonic() - started
    status = rig.wait_drained(timeout=max(120, seconds * 2))
    drained = time.monotonic() - started
    stored = rig.stored()
    missing, wrong, unknown = compare(ledger, stored)
    records = rig.emu.exchanges(rig.agent_id)
    order = {rec["correlationId"]: rec["seq"] for rec in records}
    by_seq = sorted((seq, key) for key, seq in ledger.acked.items())
    out_of_order = 0
    previous = -1
    for seq, key in by_seq:
        if key not in stored:
            continue
        exchange = order.get(stored[key][1], -1)
        if exchange < previous:
            out_of_order += 1
        previous = max(previous, exchange)
    seqs = [seq for seq, _ in by_seq]
    gaps = (seqs[-1] - seqs[0] + 1 - len(seqs)) if seqs else 0
    refused = [rec for rec in rig.emu.requests() if rec["path"].endswith("/exchange") and rec["status"] != 200]
    stop_daemon(rig.agent)
    return {"seconds": seconds, "mode": mode, "acked": len(ledger.acked), "sent": len(ledger.sent),
            "stored": len(stored), "missing": len(missing), "wrong": len(wrong), "unknown": len(unknown),
            "out_of_order": out_of_order, "gaps": gaps, "statuses": dict(ledger.statuses),
            "exchanges": len(records), "failed_attempts": len(refused), "ingest_seconds": ingest_seconds,
            "drained_after": drained - ingest_seconds, "dropped": status["dropped"]}


# --- campaign 5: soak -----------------------------------------------------------------------

SOAK_FAULTS = [
    (3, {"path": "/exchange$", "kind": "status", "status": 503}),
    (2, {"path": "/exchange$", "kind": "status", "status": 500}),
    (2, {"path": "/exchange$", "kind": "status", "status": 502}),
    (3, {"path": "/exchange$", "kind": "status", "status": 429, "headers": {"Retry-After": "1"}}),
    (1, {"path": "/exchange$", "kind": "status", "status": 429}),
    (3, {"path": "/exchange$", "kind": "reset"}),
    (3, {"path": "/exchange$", "kind": "reset_mid_body"}),
    (4, {"path": "/exchange$", "kind": "commit_then_drop"}),
    (2, {"path": "/exchange$", "kind": "status", "status": 401}),
    (1, {"path": "/exchange$", "kind": "outage", "seconds": 5}),
    (1, {"path": "/oauth/token$", "kind": "status", "status": 503}),
    (1, {"method": "PUT", "path": "/register/", "kind": "commit_then_drop"}),
]


def soak(rig, values, max_seconds, fault_every=1.0, checkpoint_values=400000, size=1000, seed=None, log=print):
    """`values` values (or as many as fit in max_seconds) from PRODUCERS producers posting
    `size`-value requests through random exchange faults and rotations underneath (the emulator's
    short secret lifetime). Every `checkpoint_values` the producers pause, the queue drains,
    stored is compared with acknowledged, and the emulator forgets the data. RSS and open
    descriptors are sampled every second."""
    seed = random.SystemRandom().randrange(1 << 30) if seed is None else seed
    rng = random.Random(seed)
    emu, agent = rig.emu, rig.agent
    rig.start()
    pid = agent.daemon_pid()
    base = emu.state(rig.agent_id)
    gate = threading.Event()
    gate.set()
    ledger = Ledger()
    producers = Producers(ledger, rig.runtime_dir, size=size, pause=0, gate=gate, limit=values).start()
    stop = threading.Event()
    samples, faults = [], collections.Counter()
    totals = {"acked": 0, "sent": 0, "stored": 0, "missing": 0, "wrong": 0, "unknown": 0, "writes": 0,
              "checkpoints": 0}
    started = time.monotonic()
    since = 0

    def sampler():
        while not stop.is_set():
            sample = agent_soak.memory_and_fds(pid)
            if sample:
                samples.append((time.monotonic() - started,) + sample)
            stop.wait(1.0)

    def faulter():
        weights = [w for w, _ in SOAK_FAULTS]
        while not stop.wait(rng.uniform(0.5, 1.5) * fault_every):
            if not gate.is_set() or emu.admin_json("GET", "/_admin/faults"):
                continue
            spec = rng.choices([f for _, f in SOAK_FAULTS], weights)[0]
            emu.fault(**spec)
            faults["%s %s%s" % (spec["path"], spec["kind"], " %d" % spec["status"] if "status" in spec else "")] += 1

    threads = [threading.Thread(target=t, daemon=True) for t in (sampler, faulter)]
    for thread in threads:
        thread.start()

    def checkpoint():
        nonlocal since
        gate.clear()
        time.sleep(0.5)
        emu.admin("DELETE", "/_admin/faults")
        rig.wait_drained(timeout=600)
        stored = rig.stored()
        with ledger.lock:
            missing, wrong, unknown = compare(ledger, stored)
            totals["acked"] += len(ledger.acked)
            totals["sent"] += len(ledger.sent)
            ledger.acked.clear()
            ledger.sent.clear()
            ledger.requests.clear()
        written, _, records = rig.written(since=since)
        if records:
            since = records[-1]["seq"] + 1
        totals["stored"] += len(stored)
        totals["missing"] += len(missing)
        totals["wrong"] += len(wrong)
        totals["unknown"] += len(unknown)
        totals["writes"] += written
        totals["checkpoints"] += 1
        emu.clear_data(rig.agent_id)
        emu.admin("DELETE", "/_admin/requests")
        rss = samples[-1][1] if samples else 0
        fds = samples[-1][2] if samples else 0
        log("  %5.0f s: %d values acknowledged, %d stored, %d missing; RSS %d kB, %d fds" % (
            time.monotonic() - started, totals["acked"], totals["stored"], totals["missing"], rss, fds))
        gate.set()

    exited = None
    try:
        last_checkpoint = 0
        while True:
            time.sleep(1)
            if agent.proc.poll() is not None:
                exited = agent.proc.returncode
                break
            done = sum(ledger.next_n) >= values
            timed_out = time.monotonic() - started >= max_seconds
            if sum(ledger.next_n) - last_checkpoint >= checkpoint_values or done or timed_out:
                last_checkpoint = sum(ledger.next_n)
                if done or timed_out:
                    producers.stop()
                checkpoint()
            if done or timed_out:
                break
    finally:
        stop.set()
        producers.stop()
        for thread in threads:
            thread.join(timeout=30)
        emu.admin("DELETE", "/_admin/faults")
    elapsed = time.monotonic() - started
    state = emu.state(rig.agent_id)
    lines = agent.lines
    alive = agent.proc.poll() is None
    if alive:
        stop_daemon(agent)
    return dict(totals, seed=seed, seconds=elapsed, rate=totals["acked"] / max(elapsed, 1e-9), exited=exited,
                alive=alive, rotations=state["rotation_count"] - base["rotation_count"],
                tokens=state["token_count"] - base["token_count"], faults=dict(faults),
                rss=agent_soak.flat(samples, 1, lambda start: max(1024, start * 0.05)) if len(samples) > 20 else None,
                fds=agent_soak.flat(samples, 2, lambda start: 2) if len(samples) > 20 else None,
                samples=len(samples), statuses=dict(ledger.statuses),
                errors=agent_soak.error_kinds([re.sub(r"Correlation-ID \w+", "Correlation-ID [id]", l) for l in lines]),
                target=values)


def soak_table(s):
    lines = [
        "relay soak (seed %d)" % s["seed"],
        "  %-34s %.0f s" % ("duration", s["seconds"]),
        "  %-34s %d of %d wanted (%.0f values/s)" % ("values acknowledged", s["acked"], s["target"], s["rate"]),
        "  %-34s %.0f min" % ("projected for %d" % s["target"], s["target"] / max(s["rate"], 1e-9) / 60),
        "  %-34s %d stored, %d missing, %d wrong, %d never sent" % ("emulator", s["stored"], s["missing"], s["wrong"],
                                                                     s["unknown"]),
        "  %-34s %d (%d rewrites)" % ("values written by the exchange", s["writes"], s["writes"] - s["stored"]),
        "  %-34s %d rotations, %d tokens" % ("underneath", s["rotations"], s["tokens"]),
        "  %-34s %s" % ("daemon exited during the run", "no" if s["alive"] else "YES (%s)" % s["exited"]),
    ]
    if s["rss"]:
        lines.append("  %-34s %.0f -> %.0f kB (%s)" % ("VmRSS 2nd half start -> end", s["rss"][0], s["rss"][1],
                                                        "flat" if s["rss"][2] else "GROWING"))
        lines.append("  %-34s %.0f -> %.0f (%s)" % ("open fds 2nd half start -> end", s["fds"][0], s["fds"][1],
                                                     "flat" if s["fds"][2] else "GROWING"))
    lines.append("  %-34s %d" % ("faults injected", sum(s["faults"].values())))
    for kind, count in sorted(s["faults"].items(), key=lambda kv: -kv[1]):
        lines.append("      %6d  %s" % (count, kind))
    lines.append("  %-34s %d" % ("warnings/errors logged", sum(s["errors"].values())))
    for kind, count in s["errors"].most_common(12):
        lines.append("      %6d  %s" % (count, kind))
    return "\n".join(lines)


def soak_problems(s):
    problems = []
    if not s["alive"]:
        problems.append("the daemon exited (%s)" % s["exited"])
    if s["missing"] or s["wrong"] or s["unknown"]:
        problems.append("stored != acknowledged: %d missing, %d wrong, %d never sent" % (
            s["missing"], s["wrong"], s["unknown"]))
    if s["rss"] and not s["rss"][2]:
        problems.append("RSS grew in the second half: %r" % (s["rss"],))
    if s["fds"] and not s["fds"][2]:
        problems.append("descriptors grew in the second half: %r" % (s["fds"],))
    return problems


# --- command line ---------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("campaign", choices=["kills", "storage-faults", "power-cut", "outage", "soak"])
    parser.add_argument("--hubagent", default=os.path.join(ROOT, ".build-test", "release", "hubagent"),
                        help="the test build (make test-build); storage-faults needs its hooks")
    parser.add_argument("--kills", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=40, help="power-cut: damage rounds")
    parser.add_argument("--copies", type=int, default=40, help="power-cut: journal copies mid-write")
    parser.add_argument("--seconds", type=float, default=180, help="outage: its length")
    parser.add_argument("--mode", default="refuse", help="outage: refuse, close or reset")
    parser.add_argument("--values", type=int, default=10_000_000, help="soak: values to send")
    parser.add_argument("--max-seconds", type=float, default=1200, help="soak: stop here, report the rate")
    parser.add_argument("--faults", default=",".join(STORAGE_FAULTS), help="storage-faults: SYSCALL:ERRNO,...")
    parser.add_argument("--bursts", default="1,3", help="storage-faults: calls failed in a row")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--workdir", help="kept afterwards (default: a temporary directory, removed)")
    args = parser.parse_args(argv)
    os.environ["HUBAGENT_BIN"] = os.path.abspath(args.hubagent)
    conftest = storage_faults.load_system_conftest()
    workdir = args.workdir or tempfile.mkdtemp(prefix="relay-%s-" % args.campaign)
    emulator_args = ["--secret-lifetime", "20"] if args.campaign == "soak" else []
    emu = Emulator(os.path.join(workdir, "southgate"), emulator_args).start()
    agent = conftest.Hubagent(os.path.join(workdir, "gateway"), emu, binary=os.path.abspath(args.hubagent))
    conf = RELAY_CONF
    if args.campaign == "soak":
        conf = "relay = on\nrelay_flush_interval = 200ms\nrotation_fraction = 0.5\n"
    elif args.campaign == "power-cut":
        conf = RELAY_CONF + "relay_max_disk = 8MiB\n"
    rig = Rig(emu, agent, conf=conf)
    others, second_agents = [], []
    problems = []
    try:
        if args.campaign == "kills":
            result = kills(rig, args.kills, seed=args.seed)
            print(kills_table(result))
            problems = kills_problems(result)
        elif args.campaign == "storage-faults":
            rows = storage_campaign(rig, faults=args.faults.split(","), bursts=[int(b) for b in args.bursts.split(",")])
            print(storage_table(rows))
            problems = [row for row in rows if row["problems"]]
        elif args.campaign == "power-cut":
            result = power_cut(rig, args.rounds, seed=args.seed)
            print(json.dumps({k: v for k, v in result.items() if k != "problems"}, indent=1))
            problems = list(result["problems"])

            def make_second(index):
                emu2 = Emulator(os.path.join(workdir, "second-%d" % index, "southgate")).start()
                others.append(emu2)
                second_agents.append(conftest.Hubagent(os.path.join(workdir, "second-%d" % index, "gateway"), emu2,
                                                       binary=os.path.abspath(args.hubagent)))
                return emu2, second_agents[-1]
            rig2 = Rig(emu, conftest.Hubagent(os.path.join(workdir, "copied"), emu,
                                              binary=os.path.abspath(args.hubagent)))
            result = copies(rig2, make_second, args.copies, seed=args.seed)
            print(json.dumps({k: v for k, v in result.items() if k != "problems"}, indent=1))
            problems += result["problems"]
        elif args.campaign == "outage":
            result = outage(rig, args.seconds, args.mode)
            print(json.dumps(result, indent=1))
            problems = [k for k in ("missing", "wrong", "unknown", "out_of_order", "gaps") if result[k]]
        else:
            result = soak(rig, args.values, args.max_seconds, seed=args.seed)
            print(soak_table(result))
            problems = soak_problems(result)
    finally:
        for a in [agent] + second_agents:
            if a.proc is not None and a.proc.poll() is None:
                a.kill()
        for e in [emu] + others:
            if e.proc is not None and e.proc.poll() is None:
                e.stop()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    if STOP_EXITS:
        print("SIGTERM stops that did not exit 0: %r" % dict(STOP_EXITS))
    for problem in problems:
        print("FAILED: %s" % (problem,))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
