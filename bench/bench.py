#!/usr/bin/env python3
"""Footprint and latency benchmarks of hubagent (issue 8, "Benchmarks"): the release binary
against the southgate emulator on loopback. Prints a table and writes bench/RESULTS.md.

    python3 bench/bench.py --hubagent .build/release/hubagent          # full run, <= 5 min
    python3 bench/bench.py --hubagent .build/release/hubagent --quick  # smoke run, ~1 min

Targets are informational: a FAIL never changes the exit status (only a broken harness does).
Every process started here is stopped on exit, also on Ctrl-C and on the --max-seconds limit."""

import argparse
import datetime
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.dont_write_bytecode = True  # nothing written under Tests/
sys.path.insert(0, os.path.join(ROOT, "Tests", "Emulator"))

from harness import Emulator  # noqa: E402

PROFILES = ("SHARED_SECRET", "RSA_3072")
MB = 1024 * 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Syscalls in which a thread sleeps; the return of one that really slept is a wake-up.
SLEEPING = {"epoll_wait", "epoll_pwait", "epoll_pwait2", "futex", "poll", "ppoll", "select",
            "pselect6", "nanosleep", "clock_nanosleep", "restart_syscall", "read", "recvmsg",
            "recvfrom", "rt_sigtimedwait", "rt_sigsuspend", "pause", "wait4", "accept", "accept4"}
SLEPT = 0.001  # a sleeping syscall that lasted at least this long is counted as a wake-up


# --- process bookkeeping ---------------------------------------------------------------------

class Processes:
    """Everything started here, stopped in reverse order by cleanup()."""

    def __init__(self):
        self.procs = []
        self.emulators = []

    def popen(self, args, **kwargs):
        proc = subprocess.Popen(args, **kwargs)
        self.procs.append(proc)
        return proc

    def emulator(self, workdir, extra_args=()):
        emu = Emulator(workdir, list(extra_args))
        self.emulators.append(emu)
        return emu.start()

    def cleanup(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    proc.terminate()
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                except OSError:
                    pass
        for emu in self.emulators:
            if emu.proc is not None and emu.proc.poll() is None:
                try:
                    emu.stop()
                except Exception:  # noqa: BLE001 (stop() kills on timeout)
                    pass


PROCS = Processes()


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "LISTEN_FDS")}
    env.update(extra)
    return env


class Agent:
    """One `hubagent run` with its own directories; stderr lines kept with their arrival time."""

    def __init__(self, binary, workdir, emu):
        self.workdir = workdir
        self.conf, self.state, self.run = (os.path.join(workdir, d) for d in ("conf", "state", "run"))
        os.makedirs(self.conf, exist_ok=True)
        self.binary, self.emu = binary, emu
        self.proc = None
        self.lines = []                      # (monotonic arrival time, text)
        self.cond = threading.Condition()
        self.on_line = None                  # optional callback(agent, t, text) from the reader thread
        self.agent_id = self.profile = None

    def board(self, profile, name):
        self.profile = profile
        self.agent_id, boarding = self.emu.create_agent(profile, name=name)
        path = os.path.join(self.conf, "boarding.json")
        with open(path + ".new", "w") as f:
            json.dump(boarding, f)
        os.rename(path + ".new", path)
        return self

    def args(self):
        return [self.binary, "run", "--config-dir", self.conf, "--state-dir", self.state,
                "--runtime-dir", self.run, "--ca-file", self.emu.ca]

    def start(self, env=None):
        """Returns the monotonic time just before the fork/exec."""
        with self.cond:
            self.lines = []
        t0 = time.monotonic()
        self.proc = PROCS.popen(self.args(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=env or clean_env())
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
        return t0

    def _read(self, proc):
        with open(os.path.join(self.workdir, "hubagent.log"), "a") as log:
            for raw in proc.stderr:
                t = time.monotonic()
                text = raw.decode("utf-8", "replace").rstrip("\n")
                log.write("%.3f %s\n" % (t, text))
                with self.cond:
                    self.lines.append((t, text))
                    self.cond.notify_all()
                if self.on_line:
                    self.on_line(self, t, text)
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, pattern, timeout=60, since=0):
        """(index, arrival time) of the first line at index >= since matching pattern."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            index = since
            while True:
                while index < len(self.lines):
                    if regex.search(self.lines[index][1]):
                        return index, self.lines[index][0]
                    index += 1
                if self.proc.poll() is not None:
                    raise RuntimeError("hubagent exited (%s) before %r:\n%s" % (self.proc.returncode, pattern, self.log()))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RuntimeError("no %r within %s s:\n%s" % (pattern, timeout, self.log()))
                self.cond.wait(min(remaining, 1))

    def count(self, pattern):
        regex = re.compile(pattern)
        with self.cond:
            return sum(1 for _, text in self.lines if regex.search(text))

    def last_line_time(self):
        with self.cond:
            return self.lines[-1][0] if self.lines else 0

    def log(self):
        with self.cond:
            return "\n".join(text for _, text in self.lines[-30:])

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    @property
    def pid(self):
        return self.proc.pid


# --- /proc readers -------------------------------------------------------------------------

def memory(pid):
    """smaps_rollup in kB: Rss, Pss, Private (= USS)."""
    fields = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[-1] == "kB":
                fields[parts[0].rstrip(":")] = int(parts[1])
    return {"rss": fields["Rss"], "pss": fields["Pss"],
            "uss": fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0),
            "anon": fields.get("Anonymous", 0)}


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def cpu_snapshot(pid):
    """Whole-process utime+stime (ticks), and per thread: run time (ns) and context switches."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])        # utime, stime (fields 14 and 15)
    threads = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                run_ns = int(f.read().split()[0])
            vol = invol = 0
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        vol = int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches"):
                        invol = int(line.split()[1])
            threads[tid] = (run_ns, vol, invol)
        except FileNotFoundError:
            pass
    return {"ticks": ticks, "threads": threads}


def cpu_delta(before, after):
    """Deltas over a window; a thread that appeared counts from 0, one that vanished is noted."""
    run_ns = vol = invol = 0
    for tid, (r, v, i) in after["threads"].items():
        r0, v0, i0 = before["threads"].get(tid, (0, 0, 0))
        run_ns, vol, invol = run_ns + r - r0, vol + v - v0, invol + i - i0
    return {"cpu_ms_ticks": (after["ticks"] - before["ticks"]) * 1000.0 / CLK_TCK,
            "cpu_ms_sched": run_ns / 1e6, "voluntary": vol, "involuntary": invol,
            "threads_before": len(before["threads"]), "threads_after": len(after["threads"]),
            "threads_gone": len(set(before["threads"]) - set(after["threads"]))}


# --- statistics and formatting -----------------------------------------------------------------

def percentile(values, p):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100.0 * len(ordered)) - 1)]


def ms(seconds):
    return "%.1f ms" % (seconds * 1000)


def mib(kb):
    return "%.1f MB" % (kb / 1024.0)


def verdict(ok):
    return "PASS" if ok else "FAIL"


def sh(args):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine():
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    debian = ""
    if os.path.exists("/etc/debian_version"):
        with open("/etc/debian_version") as f:
            debian = f.read().strip()
    pretty = ""
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    pretty = line.split("=", 1)[1].strip().strip('"')
    return {"nproc": sh(["nproc"]) or str(os.cpu_count()), "cpu": model or platform.processor(),
            "kernel": platform.release(), "debian": debian, "os": pretty,
            "memory": sh(["sh", "-c", "awk '/MemTotal/ {printf \"%.1f GB\", $2/1048576}' /proc/meminfo"]),
            "load": "%.2f %.2f %.2f" % os.getloadavg(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "swift": sh(["swift", "--version"]).splitlines()[0] if shutil.which("swift") else "",
            "commit": sh(["git", "-C", ROOT, "describe", "--always", "--dirty"])}


# --- the measurements --------------------------------------------------------------------------

def measure_binary(binary, work):
    stripped = os.path.join(work, "hubagent.stripped")
    subprocess.run(["strip", "-o", stripped, binary], check=True)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", sh(["readelf", "-d", binary]))
    resolved = [line.split()[0] for line in sh(["ldd", binary]).splitlines() if line.strip()]
    return {"size": os.path.getsize(binary), "stripped": os.path.getsize(stripped),
            "needed": needed, "ldd": resolved,
            "version": sh([binary, "version"])}


def onboarding_latency(binary, emu, work, runs):
    """exec -> "onboarded as" per profile, and the register request's server-side duration."""
    out = {}
    for profile in PROFILES:
        exec_to_onboarded, register = [], []
        for i in range(runs):
            agent = Agent(binary, os.path.join(work, "onboard-%s-%d" % (profile, i)), emu).board(profile, "bench-onboard")
            mark = emu.next_seq()
            t0 = agent.start()
            _, t1 = agent.wait_for(r"onboarded as %s " % agent.agent_id, timeout=60)
            exec_to_onboarded.append(t1 - t0)
            agent.stop()
            entries = [r for r in emu.requests(since=mark)
                       if r["method"] == "POST" and r["path"].endswith("/register") and r["status"] == 201]
            register.extend(r["duration"] for r in entries)
        out[profile] = {"exec_to_onboarded": exec_to_onboarded, "register": register,
                        "last_agent": agent}
    return out


def exec_baseline(binary, runs):
    """exec -> exit of `hubagent version`: what loading and linking the binary costs alone."""
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        subprocess.run([binary, "version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.monotonic() - t0)
    return times


def ready_latency(binary, agents, work, runs):
    """exec -> READY=1 on a fake notify socket, with stored state, per profile."""
    out = {}
    for profile, agent in agents.items():
        path = os.path.join(work, "notify-%s" % profile)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(10)
        times = []
        try:
            for _ in range(runs):
                env = clean_env(NOTIFY_SOCKET=path)
                t0 = agent.start(env=env)
                while True:
                    data = sock.recv(4096)
                    if b"READY=1" in data.split(b"\n"):
                        times.append(time.monotonic() - t0)
                        break
                agent.stop()
                sock.setblocking(False)       # drain STOPPING=1 and anything else
                while True:
                    try:
                        sock.recv(4096)
                    except BlockingIOError:
                        break
                sock.settimeout(10)
        finally:
            sock.close()
        out[profile] = times
    return out


def rotation_latency(binary, emu, work, rotations):
    """"rotating credentials" -> "credentials rotated" arrival times, per profile (in parallel)."""
    agents = {p: Agent(binary, os.path.join(work, "rotate-%s" % p), emu).board(p, "bench-rotate") for p in PROFILES}
    for agent in agents.values():
        agent.start()
    out = {}
    try:
        for profile, agent in agents.items():
            times, index = [], 0
            while len(times) < rotations:
                start, t0 = agent.wait_for(r"info: rotating credentials", timeout=60, since=index)
                index, t1 = agent.wait_for(r"credentials rotated", timeout=60, since=start + 1)
                times.append(t1 - t0)
            out[profile] = times
    finally:
        for agent in agents.values():
            agent.stop()
    return out


class IdleProbe(threading.Thread):
    """Onboarded agents at default lifetimes: CPU and context switches over one window, then
    strace over a second window of the same length (tracing perturbs the first measure)."""

    def __init__(self, agents, window, work):
        super().__init__(daemon=True)
        self.agents, self.window, self.work = agents, window, work
        self.results, self.error = {}, None

    def run(self):
        try:
            before = {p: cpu_snapshot(a.pid) for p, a in self.agents.items()}
            time.sleep(self.window)
            after = {p: cpu_snapshot(a.pid) for p, a in self.agents.items()}
            for p in self.agents:
                self.results[p] = {"cpu": cpu_delta(before[p], after[p])}
            traces = {}
            for p, agent in self.agents.items():
                out = os.path.join(self.work, "strace-idle-%s.txt" % p)
                traces[p] = (out, PROCS.popen(["strace", "-f", "-C", "-tt", "-T", "-o", out, "-p", str(agent.pid)],
                                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL))
            time.sleep(self.window)
            for p, (out, proc) in traces.items():
                proc.send_signal(signal.SIGINT)   # detach; the summary is written on exit
                proc.wait(timeout=20)
                self.results[p]["strace"] = parse_strace(out)
                self.results[p]["memory_end"] = memory(self.agents[p].pid)
                self.results[p]["fds_end"] = fd_count(self.agents[p].pid)
        except Exception as error:  # noqa: BLE001 (reported by the main thread)
            self.error = error


TOKEN_REQUEST = b"GET /token HTTP/1.1\r\nHost: hubagent\r\n\r\n"

# A token-socket client in its own process (the GIL would make threads the bottleneck): waits for
# a common start time, then asks N times, one connection each; prints statuses, latencies, end.
TOKEN_CLIENT = r"""
import json, socket, sys, time
path, count, start = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
request = %r
statuses, latencies = {}, []
time.sleep(max(0, start - time.monotonic()))
for _ in range(count):
    t0 = time.monotonic()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(30)
            s.connect(path)
            s.sendall(request)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        status = data.split(b" ", 2)[1].decode() if data else "empty"
    except OSError as error:
        status = type(error).__name__
    latencies.append(time.monotonic() - t0)
    statuses[status] = statuses.get(status, 0) + 1
print(json.dumps({"statuses": statuses, "latencies": latencies, "end": time.monotonic()}))
""" % TOKEN_REQUEST


def token_socket(agent, sequential, total, clients):
    """GET /token on the agent's token socket: latency one request at a time, then throughput
    with `clients` processes; the daemon's CPU per request and its memory before and after.
    None when the daemon has no token socket."""
    path = os.path.join(agent.run, "token.sock")
    if not os.path.exists(path):
        return None
    mem_before, cpu_before = memory(agent.pid), cpu_snapshot(agent.pid)

    def run_clients(n_clients, per_client):
        start = time.monotonic() + 1.0
        procs = [PROCS.popen([sys.executable, "-c", TOKEN_CLIENT, path, str(per_client), repr(start)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) for _ in range(n_clients)]
        results = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
        statuses, latencies = {}, []
        for r in results:
            latencies += r["latencies"]
            for k, v in r["statuses"].items():
                statuses[k] = statuses.get(k, 0) + v
        return statuses, latencies, max(r["end"] for r in results) - start

    seq_statuses, seq_lat, _ = run_clients(1, sequential)
    statuses, latencies, seconds = run_clients(clients, max(1, total // clients))
    cpu = cpu_delta(cpu_before, cpu_snapshot(agent.pid))
    requests = sum(seq_statuses.values()) + sum(statuses.values())
    return {"sequential": seq_lat, "sequential_statuses": seq_statuses, "latencies": latencies,
            "statuses": statuses, "seconds": seconds, "clients": clients,
            "cpu_us_per_request": cpu["cpu_ms_sched"] * 1000.0 / requests,
            "mem_before": mem_before, "mem_after": memory(agent.pid)}


STRACE_LINE = re.compile(r"^(\d+)\s+(\d\d):(\d\d):(\d\d\.\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()(.*)\)\s+=\s+(-?\w+)(.*?)<([\d.]+)>$")


def parse_strace(path):
    """Completed syscalls of an `strace -f -C -tt -T` file; wake-ups are returns from a sleeping
    syscall that lasted >= SLEPT. The -C summary table is kept as text."""
    calls, wakeups, summary = {}, [], []
    in_summary = False
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("% time"):
                in_summary = True
            if in_summary:
                summary.append(line)
                continue
            m = STRACE_LINE.match(line)
            if not m:
                continue
            name = m.group(5) or m.group(6)
            calls[name] = calls.get(name, 0) + 1
            duration = float(m.group(10))
            if name in SLEEPING and duration >= SLEPT:
                wakeups.append({"tid": int(m.group(1)), "time": "%s:%s:%s" % m.group(2, 3, 4), "syscall": name,
                                "result": (m.group(8) + m.group(9)).strip(), "slept": duration,
                                "args": (m.group(7) or "")[:80]})
    return {"calls": calls, "wakeups": wakeups, "summary": "\n".join(summary).rstrip()}




def expiry_after(text, pattern, seconds):
    """Whether a log line `pattern` ... `valid until <ISO time>` names a time >= now + seconds."""
    m = re.search(pattern + r".*valid until (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)", text)
    if not m:
        return False
    until = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    return until.timestamp() >= time.time() + seconds


def settled_after(agent, since, rotation):
    """After log line `since`: (a rotation to a secret valid >= 1 day, when `rotation`, then) a
    token valid >= 10 minutes."""
    with agent.cond:
        lines = [text for _, text in agent.lines[since:]]
    index = 0
    if rotation:
        index = next((i for i, t in enumerate(lines) if expiry_after(t, r"credentials rotated", 86400)), None)
        if index is None:
            return False
    return any(expiry_after(t, r"access token", 600) for t in lines[index:])


def cpu_ns(pid):
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:
            pass
    return total


def wait_quiescent(agents, ready, timeout, quiet=1.0):
    """Memory of each agent once `ready(agent)` holds and it has used no CPU for `quiet` s (an
    RSA agent generates its next key after the token, silently). On timeout the memory is read
    anyway; returns (memory by agent, agents that did not settle)."""
    deadline = time.monotonic() + timeout
    last = {a: (cpu_ns(a.pid), time.monotonic()) for a in agents}
    done = {}
    while len(done) < len(agents) and time.monotonic() < deadline:
        time.sleep(0.25)
        for a in agents:
            if a in done:
                continue
            now_ns = cpu_ns(a.pid)
            if now_ns != last[a][0]:
                last[a] = (now_ns, time.monotonic())
            elif time.monotonic() - last[a][1] >= quiet and ready(a):
                done[a] = memory(a.pid)
    late = [a for a in agents if a not in done]
    for a in late:
        done[a] = memory(a.pid)
    return done, late


def churn(binary, work, args):
    """Per profile, its own emulator and agents: they onboard and idle (their baseline memory),
    run at short lifetimes until the profile's counts are reached, then at production lifetimes
    again until quiet (the memory after churn). The profiles run side by side; one that is done
    goes quiet and leaves the CPU to the other."""
    spec = {"SHARED_SECRET": args.churn_shared, "RSA_3072": args.churn_rsa}   # (agents, token s, secret s)
    secret = {p: spec[p][2] for p in PROFILES}
    # Starts spread over one rotation period per profile, so that the agents' rotations (and the
    # RSA key generations after them) do not all fall on the same second and starve each other.
    # The first secret is long enough for every agent to start and settle before the first
    # agent's first rotation (at 2/3 of it).
    period = {p: secret[p] * 2.0 / 3 for p in PROFILES}
    spread = max(period[p] * (spec[p][0] - 1) / spec[p][0] for p in PROFILES)
    first_secret = int(max(30, 1.5 * (spread + 10)))
    emus, agents = {}, []
    for profile in PROFILES:
        emus[profile] = PROCS.emulator(os.path.join(work, "southgate-churn-%s" % profile),
                                       ["--token-lifetime", "3600", "--secret-lifetime", str(first_secret)])
        for i in range(spec[profile][0]):
            agents.append(Agent(binary, os.path.join(work, "churn-%s-%d" % (profile, i)), emus[profile]).board(profile, "bench-churn"))
    schedule = []
    for profile in PROFILES:
        group = [a for a in agents if a.profile == profile]
        schedule += [(i * period[profile] / len(group), a) for i, a in enumerate(group)]
    started = time.monotonic()
    for offset, agent in sorted(schedule, key=lambda entry: entry[0]):
        time.sleep(max(0, started + offset - time.monotonic()))
        agent.start()
    # The first agent's first rotation comes at 2/3 of its first secret: measure before it.
    baseline, late_start = wait_quiescent(agents, lambda a: settled_after(a, 0, False),
                                          timeout=first_secret * 2 / 3 - 3 - (time.monotonic() - started))
    baseline_fds = {a: fd_count(a.pid) for a in agents}
    # The rotation at 2/3 of the first secret picks up the short lifetimes: churn begins.
    for profile, emu in emus.items():
        emu.settings(token_lifetime=spec[profile][1], secret_lifetime=secret[profile])
    warm, marks, seconds = {}, {}, {}
    while len(seconds) < len(PROFILES):
        time.sleep(1)
        for profile in PROFILES:
            if profile in seconds:
                continue
            group = [a for a in agents if a.profile == profile]
            counts = {a: emus[profile].state(a.agent_id) for a in group}
            for a in group:
                if a not in warm and counts[a]["token_count"] >= max(3, args.churn_tokens // len(group) // 10):
                    warm[a] = memory(a.pid)
            done = (sum(c["token_count"] for c in counts.values()) >= args.churn_tokens
                    and sum(c["rotation_count"] for c in counts.values()) >= args.churn_rotations)
            if done or time.monotonic() - started > args.churn_timeout:
                # Production lifetimes again: the next rotation gets a 7-day secret, then a
                # 1-hour token.
                emus[profile].settings(token_lifetime=3600, secret_lifetime=604800)
                seconds[profile] = (time.monotonic() - started, not done)
                for a in group:
                    marks[a] = len(a.lines)
    # An agent that gave up (an error line) is as settled as it will get.
    end, late_end = wait_quiescent(agents, lambda a: settled_after(a, marks[a], True) or a.count(r"^error:"),
                                   timeout=max(secret.values()) + 30)
    # After an RSA rotation and its token, the agent generates the next key and does nothing
    # else: the silent gap that follows is the key generation's wall time on this loaded machine.
    keygen = []
    for a in agents:
        with a.cond:
            lines = list(a.lines)
        for i, (_, text) in enumerate(lines[:-2]):
            if a.profile == "RSA_3072" and "credentials rotated" in text and "access token" in lines[i + 1][1]:
                keygen.append(lines[i + 2][0] - lines[i + 1][0])
    results = []
    for a in agents:
        final = emus[a.profile].state(a.agent_id)
        results.append({"profile": a.profile, "tokens": final["token_count"], "rotations": final["rotation_count"],
                        "baseline": baseline[a], "warm": warm.get(a), "end": end[a],
                        "fds_baseline": baseline_fds[a], "fds_end": fd_count(a.pid),
                        "errors": a.count(r"^(error|warning):"), "alive": a.proc.poll() is None})
    for a in agents:
        a.stop()
    for emu in emus.values():
        emu.stop()
    return {"agents": results, "seconds": seconds, "spec": spec, "first_secret": first_secret, "keygen": keygen,
            "unsettled": len(late_start) + len(late_end)}


def ldd_paths(path):
    """soname -> real path of everything `ldd path` resolves."""
    out = {}
    for line in sh(["ldd", path]).splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m and os.path.exists(m.group(2)):
            out[m.group(1)] = os.path.realpath(m.group(2))
        else:
            m = re.match(r"\s*(/\S+)", line)
            if m:
                out[os.path.basename(m.group(1))] = os.path.realpath(m.group(1))
    return out


def rss_groups(binary, pid):
    """Resident kB of one process by who brought the mapping in: the binary, each direct
    dependency with the libraries only it loads, the ones shared by several, and anonymous
    memory (heap, stacks). Also the largest single mappings."""
    direct = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", sh(["readelf", "-d", binary]))
    resolved = ldd_paths(binary)
    closure = {}
    for name in direct:
        if name in resolved:
            closure[name] = set(ldd_paths(resolved[name]).values()) | {resolved[name]}
    owner = {}
    for name, files in closure.items():
        for f in files:
            owner.setdefault(f, set()).add(name)
    sizes, by_file, path = {}, {}, None
    binary_real = os.path.realpath(binary)
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            head = line.split()
            if not head:
                continue
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                path = head[5] if len(head) > 5 else "[anonymous]"
            elif head[0] == "Rss:":
                kb = int(head[1])
                if path == binary_real:
                    group = "hubagent binary"
                elif re.match(r"lib(ssl|crypto)\.so", os.path.basename(path)):
                    group = "OpenSSL (libssl, libcrypto)"
                elif re.match(r"(libc|libm|ld-linux.*)\.so", os.path.basename(path)):
                    group = "glibc (libc, libm, ld.so)"
                elif path.startswith("/"):
                    owners = owner.get(os.path.realpath(path), set())
                    group = ("%s + libraries only it loads" % next(iter(owners)) if len(owners) == 1
                             else "libraries shared by several of them" if owners else "other files")
                else:
                    group = "anonymous (heap, stacks, vdso, …)"
                sizes[group] = sizes.get(group, 0) + kb
                name = os.path.basename(path) if path.startswith("/") else path
                by_file[name] = by_file.get(name, 0) + kb
    return (sorted(sizes.items(), key=lambda kv: -kv[1]), sorted(by_file.items(), key=lambda kv: -kv[1])[:10])


# --- report ------------------------------------------------------------------------------------

def report(args, info, binary_info, idle_mem, idle, onboard, ready, rotation, churned, sock):
    rows = []   # (measure, value, target, verdict)
    rows.append(("binary size, stripped (--static-swift-stdlib)",
                 "%s (%d bytes; unstripped %s)" % (mib(binary_info["stripped"] / 1024), binary_info["stripped"],
                                                    mib(binary_info["size"] / 1024)),
                 "<= 16 MB", verdict(binary_info["stripped"] <= 16 * MB)))
    rows.append(("shared libraries (NEEDED)", ", ".join(binary_info["needed"]), "", ""))
    for p in PROFILES:
        m = idle_mem[p]
        rows.append(("idle RSS / PSS after onboarding, %s" % p, "%s / %s (USS %s)" % (mib(m["rss"]), mib(m["pss"]), mib(m["uss"])),
                     "RSS <= 14 MB", verdict(m["rss"] <= 14 * 1024)))
    for p in PROFILES:
        group = [a for a in churned["agents"] if a["profile"] == p]
        tokens, rots = sum(a["tokens"] for a in group), sum(a["rotations"] for a in group)
        growths = [a["end"]["rss"] - a["baseline"]["rss"] for a in group]
        worst = max(group, key=lambda a: a["end"]["rss"] - a["baseline"]["rss"])
        base, growth = worst["baseline"]["rss"], worst["end"]["rss"] - worst["baseline"]["rss"]
        uss = max(a["end"]["uss"] - a["baseline"]["uss"] for a in group)
        ok = (growth <= 1024 or growth <= 0.10 * base) and all(a["alive"] for a in group)
        dead = sum(1 for a in group if not a["alive"])
        errors = sum(a["errors"] for a in group)
        rows.append(("idle RSS after churn, %s (%d agents, %d tokens, %d rotations)" % (p, len(group), tokens, rots),
                     "%s -> %s: worst agent %+d kB (%+.1f %%), mean %+.0f kB; USS worst %+d kB%s" % (
                         mib(base), mib(worst["end"]["rss"]), growth, 100.0 * growth / base,
                         statistics.mean(growths), uss, ("; %d agent(s) died" % dead if dead else "")
                         + ("; %d warning/error lines" % errors if errors else "")
                         + ("; counts NOT reached in time" if churned["seconds"][p][1] else "")),
                     "<= 10 % or <= 1 MB", verdict(ok)))
    w = idle["window"]
    for p in PROFILES:
        r = idle["results"][p]
        cpu = r["cpu"]
        rows.append(("CPU time idle, %s" % p, "%.1f ms in %d s (ticks: %.0f ms) -> %.1f ms/h" % (
            cpu["cpu_ms_sched"], w, cpu["cpu_ms_ticks"], cpu["cpu_ms_sched"] * 3600 / w), "", ""))
        n = len(r["strace"]["wakeups"])
        per_min = n * 60.0 / w
        rows.append(("wake-ups idle (strace -f), %s" % p, "%d in %d s -> %.1f/min, %.0f/h" % (n, w, per_min, n * 3600.0 / w),
                     "<= 1/min (no watchdog)", verdict(per_min <= 1)))
        cs = cpu["voluntary"] + cpu["involuntary"]
        rows.append(("context switches idle, %s" % p, "%d voluntary + %d involuntary in %d s -> %.0f/h (%d threads)" % (
            cpu["voluntary"], cpu["involuntary"], w, cs * 3600.0 / w, cpu["threads_after"]), "", ""))
    for p in PROFILES:
        times = ready[p]
        rows.append(("exec -> READY=1, stored state, %s (%d runs)" % (p, len(times)),
                     "median %s, p90 %s" % (ms(statistics.median(times)), ms(percentile(times, 90))),
                     "<= 30 ms", verdict(statistics.median(times) <= 0.030)))
    times = ready["version"]
    rows.append(("exec -> exit of `hubagent version` (%d runs; loading and linking %d libraries)" % (len(times), len(binary_info["ldd"]) - 1),
                 "median %s, p90 %s" % (ms(statistics.median(times)), ms(percentile(times, 90))), "", ""))
    for p in PROFILES:
        o = onboard[p]
        rows.append(("onboarding, %s (%d runs)" % (p, len(o["exec_to_onboarded"])),
                     "exec -> onboarded median %s (p90 %s); register request median %s" % (
                         ms(statistics.median(o["exec_to_onboarded"])), ms(percentile(o["exec_to_onboarded"], 90)),
                         ms(statistics.median(o["register"])) if o["register"] else "n/a"), "", ""))
    for p in PROFILES:
        times = rotation[p]
        rows.append(("rotation, %s (%d rotations)" % (p, len(times)),
                     "median %s (max %s)" % (ms(statistics.median(times)), ms(max(times))), "", ""))
    if sock is None:
        rows.append(("token socket throughput, p50/p99", "n/a (token socket not built yet)", "", "n/a"))
    else:
        seq, conc = sock["sequential"], sock["latencies"]
        ok = sock["statuses"].get("200", 0)
        others = {k: v for k, v in list(sock["statuses"].items()) + list(sock["sequential_statuses"].items()) if k != "200"}
        rows.append(("token socket GET /token, one at a time (%d)" % len(seq),
                     "p50 %s, p99 %s" % (ms(percentile(seq, 50)), ms(percentile(seq, 99))), "", ""))
        rows.append(("token socket throughput, %d clients (%d requests)" % (sock["clients"], len(conc)),
                     "%.0f answers/s; p50 %s, p99 %s; daemon CPU %.0f us/request; RSS %+d kB%s" % (
                         ok / sock["seconds"], ms(percentile(conc, 50)), ms(percentile(conc, 99)),
                         sock["cpu_us_per_request"], sock["mem_after"]["rss"] - sock["mem_before"]["rss"],
                         "; not 200: %s" % others if others else ""), "", ""))
    return rows


def table_text(rows):
    widths = [max(len(r[i]) for r in rows + [("measure", "value", "target", "")]) for i in range(4)]
    widths[1] = min(widths[1], 90)
    lines = ["%-*s  %-*s  %-*s  %s" % (widths[0], "measure", widths[1], "value", widths[2], "target", "result")]
    lines.append("-" * (sum(widths) + 6 + 6))
    for r in rows:
        lines.append("%-*s  %-*s  %-*s  %s" % (widths[0], r[0], widths[1], r[1], widths[2], r[2], r[3]))
    return "\n".join(lines)


def markdown(args, info, binary_info, rows, idle, churned, onboard, ready, rotation, elapsed, idle_mem, breakdown, tokens):
    md = ["# hubagent benchmarks", ""]
    md.append("Written by `bench/bench.py`%s on %s; the whole run took %.0f s." % (" --quick" if args.quick else "", info["date"], elapsed))
    md += ["", "## Machine", "",
           "| | |", "|---|---|",
           "| CPUs (nproc) | %s |" % info["nproc"], "| CPU | %s |" % info["cpu"], "| memory | %s |" % info["memory"],
           "| kernel | %s |" % info["kernel"], "| Debian | %s (%s) |" % (info["debian"], info["os"]),
           "| load average at start | %s |" % info["load"], "| toolchain | %s |" % info["swift"],
           "| tree | `git describe`: %s |" % info["commit"], "| binary | `%s` (%s) |" % (os.path.relpath(args.hubagent, ROOT), binary_info["version"])]
    if args.note:
        md.append("| note | %s |" % args.note)
    md.append("")
    md += ["## Results", "", "| measure | value | target | result |", "|---|---|---|---|"]
    for r in rows:
        md.append("| %s | %s | %s | %s |" % tuple(c.replace("|", "\\|") for c in r))
    md += ["", "Targets are informational; the bench never fails the build.", "",
           "## Parameters", "", "```", " ".join(sys.argv[1:]) or "(defaults)", json.dumps(
               {k: v for k, v in vars(args).items() if k not in ("hubagent", "out")}, sort_keys=True), "```", ""]
    md += ["## Details", "", "### Shared libraries", "",
           "Direct (`readelf -d` NEEDED): " + ", ".join("`%s`" % n for n in binary_info["needed"]) + ".",
           "All loaded (`ldd`, %d): %s." % (len(binary_info["ldd"]), ", ".join("`%s`" % n for n in binary_info["ldd"])), ""]
    md += ["### Idle memory after onboarding", "",
           "`/proc/PID/smaps_rollup` once the agent holds a token and has used no CPU for 1 s (two idle agents "
           "of the same binary were running, so PSS shares their common pages). Resident kB by mapping "
           "(`/proc/PID/smaps`):", ""]
    for p in PROFILES:
        m = idle_mem[p]
        groups, files = breakdown[p]
        md.append("- %s: Rss %d, Pss %d, USS %d, Anonymous %d." % (p, m["rss"], m["pss"], m["uss"], m["anon"]))
        md.append("  - by origin: " + "; ".join("%s %d" % kv for kv in groups))
        md.append("  - largest mappings: " + ", ".join("%s %d" % kv for kv in files))
    md.append("")
    md += ["### Idle window", "",
           "Agents onboarded against the emulator at default lifetimes (token 3600 s, secret 7 days), no "
           "`WATCHDOG_USEC` (so no watchdog pings). First window of %d s: CPU time (sum of "
           "`/proc/PID/task/*/schedstat`, and utime+stime ticks of `/proc/PID/stat`) and context switches "
           "(sum over `/proc/PID/task/*/status`); second window of %d s under `strace -f -C -tt -T`: a "
           "wake-up is the return of a sleeping syscall (futex, epoll_wait, poll, nanosleep, read, …) "
           "after >= %g ms." % (idle["window"], idle["window"], SLEPT * 1000), ""]
    for p in PROFILES:
        r = idle["results"][p]
        md.append("**%s**: threads %d; syscalls completed in the strace window: %s; fds at end %d." % (
            p, r["cpu"]["threads_after"], ", ".join("%s %d" % kv for kv in sorted(r["strace"]["calls"].items())) or "none",
            r["fds_end"]))
        md.append("")
        if r["strace"]["wakeups"]:
            md.append("Wake-ups:")
            md.append("")
            for w in r["strace"]["wakeups"][:40]:
                md.append("- %s tid %d `%s(%s…)` = %s after %.3f s" % (w["time"], w["tid"], w["syscall"], w["args"], w["result"], w["slept"]))
            md.append("")
        md += ["```", r["strace"]["summary"] or "(strace -C summary empty: no syscalls)", "```", ""]
    took = "; ".join("%s %.0f s%s" % (p, churned["seconds"][p][0], " (TIMED OUT before the counts)" if churned["seconds"][p][1] else "")
                     for p in PROFILES)
    md += ["### Churn", "",
           "Per profile, one emulator and its agents (%s), started spread over one rotation period. They onboard "
           "(token 3600 s, secret %d s) and idle: `baseline` memory once each holds a token and has used no CPU for "
           "1 s. Then the short lifetimes until the profile reached %d tokens and %d rotations (%s, from the start "
           "of the agents); then 3600 s / 7 days again, and `end` memory once each agent rotated to a 7-day secret, "
           "holds a 1-hour token and is quiet%s. `warm` = during the churn, after ~10 %% of its tokens. Memory in kB." % (
               "; ".join("%s: %d agents, token %d s, secret %d s" % ((p,) + tuple(churned["spec"][p])) for p in PROFILES),
               churned["first_secret"], args.churn_tokens, args.churn_rotations, took,
               "" if not churned["unsettled"] else " (%d agent(s) did NOT settle in time)" % churned["unsettled"]), "",
           "| profile | tokens | rotations | RSS baseline | RSS warm | RSS end | USS baseline -> end | anon baseline -> end | fds | warnings/errors |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for a in churned["agents"]:
        b, warm, end = a["baseline"], a["warm"] or {}, a["end"]
        md.append("| %s | %d | %d | %d | %s | %d | %d -> %d | %d -> %d | %d -> %d | %d%s |" % (
            a["profile"], a["tokens"], a["rotations"], b["rss"], warm.get("rss", "?"), end["rss"],
            b["uss"], end["uss"], b["anon"], end["anon"], a["fds_baseline"], a["fds_end"], a["errors"],
            "" if a["alive"] else " (exited)"))
    if churned["keygen"]:
        k = churned["keygen"]
        md += ["", "RSA_3072 key generation during the churn (the silent gap after each rotation and its token, "
               "while the other agents churn): %d samples, median %.1f s, p90 %.1f s, max %.1f s." % (
                   len(k), statistics.median(k), percentile(k, 90), max(k))]
    if tokens is not None:
        md += ["", "### Token socket", "",
               "On the idle SHARED_SECRET agent after its idle windows: `GET /token` over `run/token.sock`, one "
               "connection per request (as `curl --unix-socket` does). First %d requests one at a time from one "
               "process, then %d from %d processes started together; the latencies are per request, connect to "
               "close. Statuses one at a time: %s; concurrent: %s. Daemon memory before %s, after %s (kB). The "
               "daemon logs one line per request." % (
                   len(tokens["sequential"]), len(tokens["latencies"]), tokens["clients"],
                   json.dumps(tokens["sequential_statuses"]), json.dumps(tokens["statuses"]),
                   json.dumps(tokens["mem_before"]), json.dumps(tokens["mem_after"]))]
    md += ["", "### Latencies (all samples, ms)", ""]
    for p in PROFILES:
        md.append("- exec -> READY=1, %s: %s" % (p, " ".join("%.1f" % (t * 1000) for t in sorted(ready[p]))))
        md.append("- exec -> onboarded, %s: %s" % (p, " ".join("%.0f" % (t * 1000) for t in sorted(onboard[p]["exec_to_onboarded"]))))
        md.append("- register request (emulator `duration`), %s: %s" % (p, " ".join("%.0f" % (t * 1000) for t in sorted(onboard[p]["register"]))))
        md.append("- rotation, %s: %s" % (p, " ".join("%.0f" % (t * 1000) for t in sorted(rotation[p]))))
    md.append("")
    return "\n".join(md)


# --- main ----------------------------------------------------------------------------------------

def spec(text):
    values = tuple(int(v) for v in text.split(","))
    if len(values) != 3 or min(values) < 1:
        raise argparse.ArgumentTypeError("AGENTS,TOKEN,SECRET: three positive integers")
    return values


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hubagent", default=os.path.join(ROOT, ".build", "release", "hubagent"), help="the release binary")
    p.add_argument("--quick", action="store_true", help="a short smoke run (small counts, 10 s windows; RESULTS.md untouched unless --out)")
    p.add_argument("--out", help="the Markdown report (default bench/RESULTS.md; none with --quick)")
    p.add_argument("--ready-runs", type=int, default=30)
    p.add_argument("--onboard-runs", type=int, default=20)
    p.add_argument("--rotations", type=int, default=10, help="rotations per profile for the rotation latency")
    p.add_argument("--rotation-secret-lifetime", type=int, default=6,
                   help="RSA_3072 needs room for a key generation (seconds on a loaded machine)")
    p.add_argument("--idle-seconds", type=int, default=60, help="each of the two idle windows")
    p.add_argument("--churn-tokens", type=int, default=1000, help="token refreshes per profile")
    p.add_argument("--churn-rotations", type=int, default=100, help="rotations per profile")
    p.add_argument("--churn-shared", type=spec, default=(10, 1, 6), metavar="AGENTS,TOKEN,SECRET",
                   help="SHARED_SECRET churn: agents, token and secret lifetimes in s (default 10,1,6)")
    p.add_argument("--churn-rsa", type=spec, default=(16, 2, 30), metavar="AGENTS,TOKEN,SECRET",
                   help="RSA_3072 churn (default 16,2,30): rotation at 2/3 of the secret, and the next 3072-bit "
                        "key (0.3-2.5 s of CPU) must be ready before it expires; on a loaded 2-core machine that "
                        "took up to 27 s")
    p.add_argument("--churn-timeout", type=int, default=170, help="per profile, from the start of its agents")
    p.add_argument("--token-requests", type=int, default=2000, help="token socket: requests one at a time")
    p.add_argument("--token-burst", type=int, default=6000,
                   help="token socket: requests from --token-clients processes (the daemon allows a burst of 10,000 per uid, then 1,000/s)")
    p.add_argument("--token-clients", type=int, default=4)
    p.add_argument("--max-seconds", type=int, default=600, help="hard limit for the whole run")
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs, strace files)")
    p.add_argument("--note", default="", help="a line for the report, e.g. how the binary was built")
    args = p.parse_args()
    if args.quick:
        args.ready_runs, args.onboard_runs, args.rotations = 5, 3, 3
        args.token_requests, args.token_burst = 200, 1000
        args.idle_seconds, args.churn_tokens, args.churn_rotations = 10, 40, 4
        args.churn_shared, args.churn_rsa, args.churn_timeout = (1, 1, 6), (2, 1, 12), 90
    if args.out is None and not args.quick:
        args.out = os.path.join(HERE, "RESULTS.md")
    args.hubagent = os.path.abspath(args.hubagent)
    return args


START = time.monotonic()


def say(text):
    sys.stderr.write("bench: [%3.0f s] %s\n" % (time.monotonic() - START, text))
    sys.stderr.flush()


class Timeout(Exception):
    pass


def main():
    args = parse_args()
    if not os.access(args.hubagent, os.X_OK):
        sys.exit("bench: no binary at %s (make release)" % args.hubagent)
    for tool in ("strace", "strip", "readelf", "ldd"):
        if not shutil.which(tool):
            sys.exit("bench: %s is needed" % tool)

    def on_alarm(*_):
        raise Timeout("--max-seconds %d exceeded" % args.max_seconds)

    def on_signal(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_signal)
    signal.alarm(args.max_seconds)

    started = time.monotonic()
    info = machine()
    work = tempfile.mkdtemp(prefix="hubagent-bench-")
    try:
        say("binary")
        binary_info = measure_binary(args.hubagent, work)
        emu = PROCS.emulator(os.path.join(work, "southgate"))

        say("onboarding latency: %d runs per profile" % args.onboard_runs)
        onboard = onboarding_latency(args.hubagent, emu, work, args.onboard_runs)

        say("exec -> READY=1 with stored state: %d runs per profile" % args.ready_runs)
        ready = ready_latency(args.hubagent, {p: onboard[p]["last_agent"] for p in PROFILES}, work, args.ready_runs)
        ready["version"] = exec_baseline(args.hubagent, args.ready_runs)

        say("idle agents: onboarding, then 2 x %d s windows (in the background)" % args.idle_seconds)
        idle_agents = {p: Agent(args.hubagent, os.path.join(work, "idle-%s" % p), emu).board(p, "bench-idle") for p in PROFILES}
        for agent in idle_agents.values():
            agent.start()
        for agent in idle_agents.values():
            agent.wait_for(r"onboarded as", timeout=60)
            agent.wait_for(r"access token valid until", timeout=60)
        mem, _ = wait_quiescent(list(idle_agents.values()), lambda a: settled_after(a, 0, False), timeout=30)
        idle_mem = {p: mem[a] for p, a in idle_agents.items()}
        breakdown = {p: rss_groups(args.hubagent, a.pid) for p, a in idle_agents.items()}
        probe = IdleProbe(idle_agents, args.idle_seconds, work)
        probe.start()

        rot_emu = PROCS.emulator(os.path.join(work, "southgate-rotate"),
                                 ["--secret-lifetime", str(args.rotation_secret_lifetime)])
        say("rotation latency: %d rotations per profile" % args.rotations)
        rotation = rotation_latency(args.hubagent, rot_emu, work, args.rotations)
        rot_emu.stop()

        say("churn: until %d tokens + %d rotations per profile (agents, token s, secret s: SHARED_SECRET %s, RSA_3072 %s)" % (
            args.churn_tokens, args.churn_rotations, args.churn_shared, args.churn_rsa))
        churned = churn(args.hubagent, work, args)

        say("waiting for the idle windows")
        probe.join(timeout=2 * args.idle_seconds + 60)
        if probe.error or probe.is_alive():
            raise RuntimeError("idle probe: %s" % (probe.error or "did not finish"))
        # The token socket only now: its requests would wake the idle agents.
        say("token socket: %d requests one at a time, %d from %d clients" % (args.token_requests, args.token_burst, args.token_clients))
        tokens = token_socket(idle_agents["SHARED_SECRET"], args.token_requests, args.token_burst, args.token_clients)
        for agent in idle_agents.values():
            agent.stop()
        idle = {"window": args.idle_seconds, "results": probe.results}

        rows = report(args, info, binary_info, idle_mem, idle, onboard, ready, rotation, churned, tokens)
        signal.alarm(0)
        elapsed = time.monotonic() - started
        print(table_text(rows))
        for p in PROFILES:
            wakeups = idle["results"][p]["strace"]["wakeups"]
            if wakeups:
                kinds = {}
                for w in wakeups:
                    kinds[w["syscall"]] = kinds.get(w["syscall"], 0) + 1
                print("idle wake-ups, %s: %s" % (p, ", ".join("%s x%d" % kv for kv in sorted(kinds.items()))))
        if args.out:
            with open(args.out, "w") as f:
                f.write(markdown(args, info, binary_info, rows, idle, churned, onboard, ready, rotation, elapsed,
                                 idle_mem, breakdown, tokens))
            say("wrote %s (%.0f s)" % (os.path.relpath(args.out), elapsed))
        if args.keep:
            say("work directory kept: %s" % work)
    except (Timeout, KeyboardInterrupt) as error:
        say("stopped: %s" % (error or "interrupted"))
        return 2
    finally:
        signal.alarm(0)
        PROCS.cleanup()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
