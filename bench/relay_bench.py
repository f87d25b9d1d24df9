#!/usr/bin/env python3
"""Benchmarks of the data relay (docs/relay.md): ingest over data.sock, bytes on disk and on the
wire, draining a backlog through a shaped and an unshaped exchange endpoint, and the idle relay's
wake-ups. The release binary against the southgate emulator on loopback, relay_durability = sync.

    python3 bench/relay_bench.py --hubagent .build/release/hubagent          # full run, ~6 min
    python3 bench/relay_bench.py --hubagent .build/release/hubagent --quick  # smoke run, ~2 min

Prints a table; a full run also replaces the "Relay" section of bench/RESULTS.md (bench.py writes
the rest of that file). Targets are informational: a FAIL never changes the exit status. Every
process started here is stopped on exit, also on Ctrl-C and at --max-seconds."""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)

import bench as base  # noqa: E402  (process bookkeeping, /proc readers, strace parsing, machine facts)

MB = 1000 * 1000
# Extra environment for the daemons (--daemon-env), e.g. malloc tunables in an experiment.
DAEMON_ENV = {}
PRODUCER_DATA_POINTS = 10  # each producer is one collector with its own 10 DOUBLE data points
EXCHANGE = "/api/mindconnect/v3/exchange"


# --- set-up ---------------------------------------------------------------------------------------

def datasources(producers):
    points = "".join("      - id: p%d-d%d\n        name: P%dD%d\n        type: DOUBLE\n        unit: \"bar\"\n"
                     % (p, k, p, k) for p in range(producers) for k in range(PRODUCER_DATA_POINTS))
    return "configurationId: bench-line\ndataSources:\n  - name: Line\n    dataPoints:\n" + points


def relay_agent(binary, work, emu, name, producers, relay=True):
    """An onboarded agent with the relay on (defaults otherwise), running once the configuration
    is uploaded and the relay checks values against it."""
    agent = base.Agent(binary, os.path.join(work, name), emu).board("SHARED_SECRET", name)
    with open(os.path.join(agent.conf, "datasources.yaml"), "w") as f:
        f.write(datasources(producers))
    with open(os.path.join(agent.conf, "hubagent.conf"), "w") as f:
        f.write("relay = %s\n" % ("on" if relay else "off"))
    agent.start(env=base.clean_env(**DAEMON_ENV))
    agent.wait_for(r"access token valid until", timeout=60)
    if relay:
        agent.wait_for(r"relay: checking values against data source configuration", timeout=60)
    return agent


def quiescent(pid, quiet=1.0, timeout=30):
    """Memory once the process has used no CPU for `quiet` s."""
    deadline = time.monotonic() + timeout
    last = base.cpu_ns(pid)
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = base.cpu_ns(pid)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return base.memory(pid)


def cpu_ticks(pid):
    """utime + stime of the whole process in seconds: unlike per-thread schedstat it keeps the
    time of worker threads that have exited."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / base.CLK_TCK


def journal_bytes(agent):
    directory = os.path.join(agent.state, "relay")
    total = 0
    for name in os.listdir(directory):
        if name.startswith("segment."):
            total += os.path.getsize(os.path.join(directory, name))
    return total


class RSSSampler(threading.Thread):
    """The daemon's RSS every `period` s until stopped: peak and samples."""

    def __init__(self, pid, period=0.1):
        super().__init__(daemon=True)
        self.pid, self.period = pid, period
        self.samples = []
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                self.samples.append((time.monotonic(), base.memory(self.pid)))
            except (FileNotFoundError, ProcessLookupError, KeyError):
                break
            self.done.wait(self.period)

    def stop(self):
        self.done.set()
        self.join(timeout=5)
        return self.samples


# --- producers ------------------------------------------------------------------------------------

# One producer in its own process (the GIL would make threads the bottleneck). It builds its
# request bodies before the common start time (so body generation is not in the measure), then
# sends them one connection each, as a collector or `curl --unix-socket` does, and prints the
# statuses, each request's time from connect to the complete answer, and its end time.
# Values: `per_request / 10` timestamps, 10 ms apart, each with the producer's 10 DOUBLE data
# points; timestamps in the exchange's ISO form, unique per producer and data point.
PRODUCER = r"""
import json, socket, sys, time, datetime, random
path, index, requests, per_request, base_ms, start = sys.argv[1:7]
index, requests, per_request, base_ms, start = int(index), int(requests), int(per_request), int(base_ms), float(start)
points = ['p%d-d%d' % (index, k) for k in range(10)]
rng = random.Random(index)
def iso(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return t.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (ms % 1000)
bodies = []
n = 0
for r in range(requests):
    lines = []
    for i in range(per_request):
        stamp = iso(base_ms + (n // 10) * 10)
        lines.append('{"dataPointId":"%s","value":%.2f,"timestamp":"%s"}'
                     % (points[n % 10], rng.uniform(0, 100), stamp))
        n += 1
    body = ('\n'.join(lines) + '\n').encode()
    head = ('POST /v1/timeseries HTTP/1.1\r\nHost: hubagent\r\nContent-Type: application/x-ndjson\r\n'
            'Content-Length: %d\r\n\r\n' % len(body)).encode()
    bodies.append(head + body)
statuses, latencies, errors = {}, [], []
time.sleep(max(0, start - time.monotonic()))
for request in bodies:
    t0 = time.monotonic()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(60)
            s.connect(path)
            s.sendall(request)
            data = b''
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        status = data.split(b' ', 2)[1].decode() if data else 'empty'
        if status != '202' and len(errors) < 3:
            errors.append(data[-300:].decode('utf-8', 'replace'))
    except OSError as error:
        status = type(error).__name__
    latencies.append(time.monotonic() - t0)
    statuses[status] = statuses.get(status, 0) + 1
print(json.dumps({'statuses': statuses, 'latencies': latencies, 'end': time.monotonic(), 'errors': errors,
                  'request_bytes': sum(len(b) for b in bodies)}))
"""


def produce(agent, producers, requests, per_request, base_ms):
    """`producers` processes × `requests` requests of `per_request` values; the daemon's CPU over
    the run. Returns the measures."""
    path = os.path.join(agent.run, "data.sock")
    # Generous lead time: 1,000-value bodies take a moment to build.
    lead = 1.0 + requests * per_request * 4e-6
    start = time.monotonic() + lead
    procs = [base.PROCS.popen([sys.executable, "-c", PRODUCER, path, str(p), str(requests), str(per_request),
                               str(base_ms + p * 10 ** 8), repr(start)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for p in range(producers)]
    time.sleep(max(0, start - time.monotonic()))
    cpu0 = cpu_ticks(agent.pid)
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        if proc.returncode != 0:
            raise RuntimeError("producer failed: " + err.decode(errors="replace")[-2000:])
        results.append(json.loads(out))
    cpu = cpu_ticks(agent.pid) - cpu0
    statuses, latencies, errors = {}, [], []
    for r in results:
        latencies += r["latencies"]
        errors += r["errors"]
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    seconds = max(r["end"] for r in results) - start
    accepted = statuses.get("202", 0)
    if set(statuses) != {"202"}:
        base.say("  answers other than 202: %s %s" % (statuses, errors[:1]))
    return {"producers": producers, "requests": producers * requests, "per_request": per_request,
            "accepted_requests": accepted, "values": accepted * per_request, "seconds": seconds,
            "statuses": statuses, "errors": errors[:3], "latencies": latencies, "cpu": cpu,
            "request_bytes": sum(r["request_bytes"] for r in results)}


# --- the exchange side ------------------------------------------------------------------------------

def exchange_log(emu, since):
    """The exchange requests of the request log since `since`: (start, end, bytes, status)."""
    out = []
    for entry in emu.requests(since):
        if entry["path"].split("?")[0].endswith("/exchange") and entry["duration"] is not None:
            length = int(entry["headers"].get("Content-Length", 0))
            out.append((entry["time"], entry["time"] + entry["duration"], length, entry["status"], entry["fault"]))
    return out


def drain(agent, emu, agent_id, expected, throttle, timeout):
    """Ends the outage (the 503 fault), adds `throttle` bytes/s shaping when given, and waits
    until the emulator stored `expected` values for the agent. The relay is then in its back-off
    (1 s doubling, with jitter): the drain is timed from the first exchange request that got 200
    to the last one, in the emulator's request log; the daemon's CPU and RSS over the whole wait.
    Returns the measures."""
    seq = emu.next_seq()
    exchanges_before = len(emu.exchanges(agent_id))
    emu.admin_json("DELETE", "/_admin/faults")
    if throttle:
        emu.fault(path="/exchange$", kind="throttle", bytes_per_second=throttle, always=True)
    wall0, cpu0 = time.time(), cpu_ticks(agent.pid)
    sampler = RSSSampler(agent.pid)
    sampler.start()
    counts = emu.await_values(agent_id, expected, timeout=timeout)
    cpu = cpu_ticks(agent.pid) - cpu0
    samples = sampler.stop()
    log = exchange_log(emu, seq)
    ok = [e for e in log if e[3] == 200]
    records = emu.exchanges(agent_id)[exchanges_before:]
    emu.admin_json("DELETE", "/_admin/faults")
    body_bytes = sum(e[2] for e in ok)
    span = (max(e[1] for e in ok) - min(e[0] for e in ok)) if ok else 0
    # What the emulator spent beyond reading the body at the shaped rate (parsing, storing).
    emulator_busy = sum(max(0.0, (e[1] - e[0]) - (e[2] / throttle if throttle else 0)) for e in ok)
    gaps = [b[0] - a[1] for a, b in zip(ok, ok[1:])]
    return {"values": counts["values"], "expected": expected, "span": span, "cpu_drain": cpu,
            "waited": (ok[0][0] - wall0) if ok else None,
            "requests": len(ok), "failed_requests": len(log) - len(ok), "body_bytes": body_bytes,
            "record_bytes": sum(r["bytes"] for r in records if r["status"] == 200),
            "emulator_busy": emulator_busy, "gaps": gaps,
            "rss_peak": max(m["rss"] for _, m in samples), "rss_samples": len(samples),
            "rss_start": samples[0][1]["rss"], "anon_peak": max(m["anon"] for _, m in samples),
            "rss_end": base.memory(agent.pid)}


def restart_drain(agent, emu, agent_id, expected, timeout):
    """The backlog after a restart (a gateway rebooted during an outage): the daemon starts on
    the journal alone. Returns (values stored, seconds, exchange requests)."""
    seq = emu.next_seq()
    stored0 = emu.counts(agent_id)["values"]
    agent.stop()
    emu.admin_json("DELETE", "/_admin/faults")
    t0 = agent.start(env=base.clean_env(**DAEMON_ENV))
    sampler = RSSSampler(agent.pid)
    sampler.start()
    try:
        counts = emu.await_values(agent_id, stored0 + expected, timeout=timeout)
    except TimeoutError:
        counts = emu.counts(agent_id)
    samples = sampler.stop()
    ok = [e for e in exchange_log(emu, seq) if e[3] == 200]
    return {"stored": counts["values"] - stored0, "expected": expected, "seconds": time.monotonic() - t0,
            "requests": len(ok), "timeout": timeout, "rss_peak": max(m["rss"] for _, m in samples),
            "log": agent.log()}


# --- report -----------------------------------------------------------------------------------------

def us(x):
    return "%.1f us" % (x * 1e6)


def rows_of(r, args):
    rows = []
    ing = r["ingest"]
    rate = ing["values"] / ing["seconds"]
    lat = ing["latencies"]
    p50, p99 = base.percentile(lat, 50), base.percentile(lat, 99)
    rows.append(("ingest, %d producers x %d requests of %d values (NDJSON, exchange paused)"
                 % (ing["producers"], ing["requests"] // ing["producers"], ing["per_request"]),
                 "%.0f values/s (%d values in %.2f s; statuses %s)" % (rate, ing["values"], ing["seconds"],
                                                                      ing["statuses"]),
                 ">= 200,000 values/s", base.verdict(rate >= 200000)))
    rows.append(("time to 202, %d-value requests" % ing["per_request"],
                 "p50 %s, p99 %s, max %s" % (base.ms(p50), base.ms(p99), base.ms(max(lat))),
                 "p99 <= 50 ms", base.verdict(p99 <= 0.050)))
    up = r["drain_unshaped"]
    per_attempt = up["cpu_drain"] / max(1, up["requests"])
    ingest_us = max(0.0, ing["cpu"] - ing["attempts"] * per_attempt) / ing["values"]
    upload_us = up["cpu_drain"] / up["values"]
    rows.append(("daemon CPU per value, ingested and uploaded",
                 "%s (ingest %s + upload %s; %.2f s + %.2f s CPU; ingest without the %d upload attempts during "
                 "the outage, %.0f ms each: %s with them)" % (
                     us(ingest_us + upload_us), us(ingest_us), us(upload_us), ing["cpu"], up["cpu_drain"],
                     ing["attempts"], per_attempt * 1000, us(ing["cpu"] / ing["values"])),
                 "<= 5 us", base.verdict(ingest_us + upload_us <= 5e-6)))
    one = r["ingest_one"]
    lat1 = one["latencies"]
    rows.append(("ingest, %d producers x %d requests of 1 value"
                 % (one["producers"], one["requests"] // one["producers"]),
                 "%.0f requests/s; p50 %s, p99 %s; daemon CPU %s per request (statuses %s)" % (
                     one["accepted_requests"] / one["seconds"], base.ms(base.percentile(lat1, 50)),
                     base.ms(base.percentile(lat1, 99)),
                     us(max(0.0, one["cpu"] - one["attempts"] * per_attempt) / max(1, one["accepted_requests"])),
                     one["statuses"]), "", ""))
    disk = r["disk"]
    rows.append(("bytes on disk per value (journal segments / values queued)",
                 "%.1f B (%d bytes for %d values; NDJSON sent: %.1f B/value)" % (
                     disk["bytes"] / disk["values"], disk["bytes"], disk["values"],
                     ing["request_bytes"] / ing["requests"] / ing["per_request"]),
                 "<= 24 B", base.verdict(disk["bytes"] / disk["values"] <= 24)))
    rows.append(("exchange bytes per value (emulator's exchange records)",
                 "%.1f B (%d bytes, %d requests, %d values)" % (
                     up["record_bytes"] / up["values"], up["record_bytes"], up["requests"], up["values"]), "", ""))
    rows.append(("drain unshaped (emulator on loopback), backlog %.1f MiB of journal" % (disk["bytes"] / 2**20),
                 "%.0f values/s, %.2f MB/s of exchange bodies (%d values in %.1f s; emulator busy %.0f %% of it)" % (
                     up["values"] / up["span"], up["body_bytes"] / up["span"] / MB,
                     up["values"], up["span"], 100 * up["emulator_busy"] / up["span"]), "", ""))
    sh = r["drain_shaped"]
    fraction = sh["body_bytes"] / sh["span"] / args.throttle if sh["span"] else 0
    rows.append(("drain through %.1f MB/s shaping, backlog %.1f MiB of journal (%d values)" % (
        args.throttle / MB, sh["journal_bytes"] / 2**20, sh["values"]),
        "%.1f %% of the shaped rate (%d bytes in %.1f s, %d requests); of the span: the emulator's processing "
        "%.1f s, between an answer and the next request %.2f s; without the emulator's processing %.1f %%" % (
            100 * fraction, sh["body_bytes"], sh["span"], sh["requests"], sh["emulator_busy"], sum(sh["gaps"]),
            100 * sh["body_bytes"] / (sh["span"] - sh["emulator_busy"]) / args.throttle),
        ">= 90 %", base.verdict(fraction >= 0.90)))
    rs = r["restart"]
    rows.append(("backlog across a restart (%d values queued, then a restart)" % rs["expected"],
                 "%d of %d stored within %d s (%d exchange requests)" % (
                     rs["stored"], rs["expected"], rs["timeout"], rs["requests"]),
                 "all", base.verdict(rs["stored"] >= rs["expected"])))
    idle_rss = r["idle_rss"]["rss"]
    worst = max(up["rss_peak"], sh["rss_peak"])
    rows.append(("daemon RSS during the drains vs idle (same process, after the ingest runs)",
                 "idle %s; at the outage's end %s; peak unshaped %s (+%d kB), shaped %s (+%d kB)" % (
                     base.mib(idle_rss), base.mib(up["rss_start"]), base.mib(up["rss_peak"]),
                     up["rss_peak"] - idle_rss, base.mib(sh["rss_peak"]), sh["rss_peak"] - idle_rss),
                 "<= 4 MB above idle", base.verdict(worst - idle_rss <= 4 * 1024)))
    rows.append(("daemon RSS draining after a restart (no ingest in that process)",
                 "peak %s (+%d kB over the idle %s)" % (base.mib(rs["rss_peak"]), rs["rss_peak"] - idle_rss,
                                                       base.mib(idle_rss)),
                 "<= 4 MB above idle", base.verdict(rs["rss_peak"] - idle_rss <= 4 * 1024)))
    for label, res in r["idle"]["results"].items():
        st = res["strace"]
        n = len(st["wakeups"])
        rows.append(("wake-ups idle (strace -f), %s, empty queue" % label,
                     "%d in %d s -> %.1f/min; CPU %.1f ms" % (n, r["idle"]["window"], n * 60.0 / r["idle"]["window"],
                                                             res["cpu"]["cpu_ms_sched"]),
                     "0/min" if label == "relay on" else "", base.verdict(n == 0) if label == "relay on" else ""))
    rows.append(("idle RSS / PSS, relay on vs off",
                 "%s / %s vs %s / %s" % (base.mib(r["idle_mem"]["relay on"]["rss"]),
                                         base.mib(r["idle_mem"]["relay on"]["pss"]),
                                         base.mib(r["idle_mem"]["relay off"]["rss"]),
                                         base.mib(r["idle_mem"]["relay off"]["pss"])), "", ""))
    return rows


def markdown_section(args, info, rows, r, elapsed):
    out = ["## Relay", "",
           "Written by `bench/relay_bench.py` on %s; the run took %.0f s. Machine: %s CPUs (%s), %s, kernel %s, "
           "load average at start %s; tree `%s`; binary `%s`." % (
               info["date"], elapsed, info["nproc"], info["cpu"], info["memory"], info["kernel"], info["load"],
               info["commit"], os.path.relpath(args.hubagent, ROOT)), "",
           "| measure | value | target | result |", "|---|---|---|---|"]
    for row in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    out += ["", "Targets are informational; the bench never fails the build. Method: bench/README.md, \"Relay\".", ""]
    sh, up = r["drain_shaped"], r["drain_unshaped"]
    out += ["### Relay details", "",
            "- Unshaped drain: %d exchange requests (%d refused); the first one %.1f s after the outage ended "
            "(the relay's back-off); daemon CPU %.2f s over the wait and the drain; RSS %s at the outage's end, "
            "peak %s (anonymous %s)." % (
                up["requests"], up["failed_requests"], up["waited"], up["cpu_drain"],
                base.mib(up["rss_start"]), base.mib(up["rss_peak"]), base.mib(up["anon_peak"])),
            "- Shaped drain: %d requests; time between one answer and the next request: median %s, max %s; "
            "RSS peak %s." % (sh["requests"], base.ms(base.percentile(sh["gaps"], 50)) if sh["gaps"] else "n/a",
                              base.ms(max(sh["gaps"])) if sh["gaps"] else "n/a", base.mib(sh["rss_peak"])),
            "- Load average at the end: %.2f %.2f %.2f." % os.getloadavg(),
            "- Parameters: `%s`" % json.dumps({k: v for k, v in vars(args).items()
                                               if k not in ("hubagent", "out", "keep")}),
            ""]
    return "\n".join(out)


def write_section(path, section):
    """Replaces the `## Relay` section (up to the next `## ` heading that is not its own) or appends it."""
    text = open(path).read() if os.path.exists(path) else "# hubagent benchmarks\n"
    pattern = re.compile(r"^## Relay\n.*?(?=^## (?!Relay)|\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(path, "w") as f:
        f.write(text)


# --- main ---------------------------------------------------------------------------------------

def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hubagent", default=os.path.join(ROOT, ".build", "release", "hubagent"))
    p.add_argument("--quick", action="store_true", help="small counts, 10 s idle window; prints only unless --out")
    p.add_argument("--out", help="the Markdown report whose Relay section is replaced (default bench/RESULTS.md)")
    p.add_argument("--producers", type=int, default=4)
    p.add_argument("--requests", type=int, default=500, help="1,000-value requests per producer")
    p.add_argument("--values-per-request", type=int, default=1000)
    p.add_argument("--one-value-requests", type=int, default=5000, help="1-value requests per producer")
    p.add_argument("--shaped-mb", type=float, default=60.0,
                   help="exchange megabytes in the shaped drain's backlog (~ seconds at 1 MB/s)")
    p.add_argument("--throttle", type=int, default=1 * MB, help="bytes/s of the shaped exchange endpoint")
    p.add_argument("--restart-requests", type=int, default=25,
                   help="1,000-value requests per producer queued before a restart")
    p.add_argument("--restart-timeout", type=int, default=60)
    p.add_argument("--idle-seconds", type=int, default=60)
    p.add_argument("--daemon-env", action="append", default=[], metavar="NAME=VALUE",
                   help="extra environment for the daemons, for experiments (e.g. GLIBC_TUNABLES=...)")
    p.add_argument("--max-seconds", type=int, default=1200)
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    if args.quick:
        args.requests, args.one_value_requests, args.shaped_mb, args.idle_seconds = 50, 1000, 10.0, 10
        args.restart_requests, args.restart_timeout = 10, 30
    if args.out is None and not args.quick:
        args.out = os.path.join(HERE, "RESULTS.md")
    args.hubagent = os.path.abspath(args.hubagent)
    DAEMON_ENV.update(item.split("=", 1) for item in args.daemon_env)
    return args


def main():
    args = parse_args()
    if not os.access(args.hubagent, os.X_OK):
        sys.exit("relay bench: no binary at %s (make release)" % args.hubagent)

    def on_alarm(*_):
        raise base.Timeout("--max-seconds %d exceeded" % args.max_seconds)

    def on_signal(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_signal)
    signal.alarm(args.max_seconds)
    started = time.monotonic()
    info = base.machine()
    work = tempfile.mkdtemp(prefix="hubagent-relay-bench-")
    r = {}
    try:
        emu = base.PROCS.emulator(os.path.join(work, "southgate"))
        # Timestamps in the past, unique per phase, producer and data point: the emulator keeps
        # one value per (data point, timestamp), so its count is the number of values that arrived.
        base_ms = (int(time.time()) - 30 * 86400) * 1000
        phase_ms = 10 ** 8 * args.producers

        base.say("idle agents (relay on, relay off): 2 x %d s windows in the background" % args.idle_seconds)
        idle_agents = {"relay on": relay_agent(args.hubagent, work, emu, "idle-on", args.producers),
                       "relay off": relay_agent(args.hubagent, work, emu, "idle-off", args.producers, relay=False)}
        r["idle_mem"] = {k: quiescent(a.pid) for k, a in idle_agents.items()}
        probe = base.IdleProbe(idle_agents, args.idle_seconds, work)
        probe.start()

        agent = relay_agent(args.hubagent, work, emu, "relay", args.producers)
        r["idle_rss"] = quiescent(agent.pid)

        # The exchange paused (every upload answered 503), so ingest is measured alone.
        emu.fault(path="/exchange$", kind="status", status=503, always=True)
        base.say("ingest: %d producers x %d requests of %d values" % (args.producers, args.requests,
                                                                     args.values_per_request))
        seq = emu.next_seq()
        r["ingest"] = produce(agent, args.producers, args.requests, args.values_per_request, base_ms)
        # The relay's attempts meanwhile (each builds and encodes a batch): taken out of the CPU per
        # value at the drain's CPU per request, as the pause is the bench's, not the workload's.
        r["ingest"]["attempts"] = len(exchange_log(emu, seq))
        r["disk"] = {"bytes": journal_bytes(agent), "values": r["ingest"]["values"]}
        base.say("  %.0f values/s" % (r["ingest"]["values"] / r["ingest"]["seconds"]))

        base.say("drain, unshaped: %d values" % r["ingest"]["values"])
        r["drain_unshaped"] = drain(agent, emu, agent.agent_id, r["ingest"]["values"], None,
                                    timeout=max(300, r["ingest"]["values"] / 2000))
        base.say("  %.0f values/s" % (r["drain_unshaped"]["values"] / r["drain_unshaped"]["span"]))

        emu.fault(path="/exchange$", kind="status", status=503, always=True)
        base.say("ingest: %d producers x %d requests of 1 value" % (args.producers, args.one_value_requests))
        seq = emu.next_seq()
        r["ingest_one"] = produce(agent, args.producers, args.one_value_requests, 1, base_ms + phase_ms)
        r["ingest_one"]["attempts"] = len(exchange_log(emu, seq))

        # The shaped backlog: enough values for about --shaped-mb of exchange bodies.
        per_value = r["drain_unshaped"]["record_bytes"] / r["drain_unshaped"]["values"]
        values = int(args.shaped_mb * MB / per_value)
        requests = max(1, values // args.values_per_request // args.producers)
        base.say("shaped backlog: %d values" % (requests * args.producers * args.values_per_request))
        stored_before = emu.counts(agent.agent_id)["values"]
        built = produce(agent, args.producers, requests, args.values_per_request, base_ms + 2 * phase_ms)
        journal = journal_bytes(agent)
        base.say("drain through %d bytes/s" % args.throttle)
        r["drain_shaped"] = drain(agent, emu, agent.agent_id,
                                  stored_before + built["values"] + r["ingest_one"]["values"], args.throttle,
                                  timeout=args.shaped_mb * 3 + 300)
        r["drain_shaped"]["values"] -= stored_before
        r["drain_shaped"]["journal_bytes"] = journal

        emu.fault(path="/exchange$", kind="status", status=503, always=True)
        base.say("backlog across a restart: %d values" % (args.restart_requests * args.producers * 1000))
        built = produce(agent, args.producers, args.restart_requests, 1000, base_ms + 3 * phase_ms)
        r["restart"] = restart_drain(agent, emu, agent.agent_id, built["values"], timeout=args.restart_timeout)

        base.say("waiting for the idle windows")
        probe.join(timeout=2 * args.idle_seconds + 60)
        if probe.error or probe.is_alive():
            raise RuntimeError("idle probe: %s" % (probe.error or "did not finish"))
        r["idle"] = {"window": args.idle_seconds, "results": probe.results}
        signal.alarm(0)
        elapsed = time.monotonic() - started
        rows = rows_of(r, args)
        print(base.table_text(rows))
        for label, res in r["idle"]["results"].items():
            kinds = {}
            for w in res["strace"]["wakeups"]:
                kinds[w["syscall"]] = kinds.get(w["syscall"], 0) + 1
            if kinds:
                print("idle wake-ups, %s: %s" % (label, ", ".join("%s x%d" % kv for kv in sorted(kinds.items()))))
        for key in ("ingest", "ingest_one"):
            if r[key]["errors"]:
                print("%s: first refusals: %s" % (key, r[key]["errors"]))
        with open(os.path.join(work, "results.json"), "w") as f:
            json.dump(r, f, default=str)
        if args.out:
            write_section(args.out, markdown_section(args, info, rows, r, elapsed))
            base.say("wrote the Relay section of %s (%.0f s)" % (os.path.relpath(args.out), elapsed))
        if args.keep:
            base.say("work directory kept: %s" % work)
    except (base.Timeout, KeyboardInterrupt) as error:
        base.say("stopped: %s" % (error or "interrupted"))
        return 2
    finally:
        signal.alarm(0)
        base.PROCS.cleanup()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
