"""Soak run: the real daemon against the emulator with fast cycles (test hooks
HUBAGENT_TEST_ROTATION_INTERVAL / HUBAGENT_TEST_TOKEN_REFRESH_INTERVAL: rotate every 0.1 s,
refresh the token every 15 ms), random emulator faults (error statuses with Retry-After, delays,
resets, truncated answers, rotations whose answer is lost) and the token socket in use, until
the emulator counted the wanted rotations and token grants. RSS and open descriptors are
sampled throughout; the start of the second half is compared with the end. Afterwards the
daemon is stopped, restarted with the normal schedule, and the stored credentials must get a
token from the emulator.

    python3 Tests/System/soak.py --hubagent .build/release/hubagent                         # 10,000 / 50,000
    python3 Tests/System/soak.py --rotations 100 --refreshes 500                           # short
    python3 Tests/System/soak.py --max-seconds 180                                         # rate, projected
"""

import argparse
import collections
import os
import random
import re
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "Tests", "Emulator"))

import storage_faults  # noqa: E402
from harness import Emulator  # noqa: E402

# (weight, fault spec): what a flaky network and a busy service do to the agent's requests.
FAULTS = [
    (3, {"path": "/oauth/token$", "kind": "status", "status": 503}),
    (1, {"path": "/oauth/token$", "kind": "status", "status": 429, "headers": {"Retry-After": "1"}}),
    (2, {"path": "/oauth/token$", "kind": "delay", "seconds": 0.3}),
    (2, {"path": "/oauth/token$", "kind": "reset"}),
    (2, {"path": "/oauth/token$", "kind": "truncate"}),
    (2, {"method": "PUT", "path": "/register/", "kind": "status", "status": 502}),
    (2, {"method": "PUT", "path": "/register/", "kind": "reset"}),
    (2, {"method": "PUT", "path": "/register/", "kind": "commit_then_drop"}),
    (1, {"method": "PUT", "path": "/register/", "kind": "delay", "seconds": 0.3}),
]


def memory_and_fds(pid):
    """(VmRSS kB, open descriptors), or None once the process is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            rss = int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))
        return rss, len(os.listdir("/proc/%d/fd" % pid))
    except (OSError, AttributeError):
        return None


def socket_token(path, timeout=40):
    """GET /token over the daemon's socket; the HTTP status (0 when no answer)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect(path)
            s.sendall(b"GET /token HTTP/1.1\r\nHost: localhost\r\n\r\n")
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            return 0
    match = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return int(match.group(1)) if match else 0


def error_kinds(lines):
    """Warning and error lines by kind: the failed operation and its error, numbers and ids
    blanked so that one kind is counted once."""
    kinds = collections.Counter()
    for line in lines:
        if not line.startswith(("warning:", "error:")) and " failed: " not in line:
            continue
        if "test hook" in line:
            continue
        match = re.search(r"(\w[\w ]*?) failed: (.*?)(; retrying in .*)?$", line)
        text = match.group(1) + ": " + match.group(2) if match else line
        text = re.sub(r"\[[0-9a-f]{32}\]", "[id]", text)
        text = re.sub(r"\d+(\.\d+)?", "N", text)
        kinds[text[:110]] += 1
    return kinds


def flat(samples, index, allowance):
    """(value at the start of the second half, at the end, within allowance): medians of the
    first and the last tenth of the second half, so one sample's noise does not decide."""
    half = samples[len(samples) // 2:]
    tenth = max(1, len(half) // 10)
    start = statistics.median(s[index] for s in half[:tenth])
    end = statistics.median(s[index] for s in half[-tenth:])
    return start, end, end - start <= allowance(start)


def soak(emu, agent, rotations, refreshes, max_seconds, fault_every=1.5, rotation_interval=0.1,
         refresh_interval=0.015, socket_every=0.05, seed=None, log=print):
    """Runs the soak with `agent` (a conftest Hubagent, not started) on `emu`; returns the
    summary dict. Raises AssertionError when the daemon dies or never gets going."""
    seed = random.SystemRandom().randrange(1 << 30) if seed is None else seed
    rng = random.Random(seed)
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent.write_boarding(boarding)
    agent.env.update(HUBAGENT_TEST_HOOKS="1", HUBAGENT_TEST_ROTATION_INTERVAL=str(rotation_interval),
                     HUBAGENT_TEST_TOKEN_REFRESH_INTERVAL=str(refresh_interval))
    mark = agent.start()
    agent.wait_for(r"access token valid until", timeout=30, since=mark)
    pid = agent.daemon_pid()
    base = emu.state(agent_id)
    stop = threading.Event()
    samples, socket_statuses, faults_added = [], collections.Counter(), collections.Counter()
    started = time.monotonic()

    def sampler():
        while not stop.is_set():
            sample = memory_and_fds(pid)
            if sample:
                samples.append((time.monotonic() - started,) + sample)
            stop.wait(0.5)

    def socket_user():
        path = os.path.join(agent.runtime_dir, "token.sock")
        while not stop.is_set():
            socket_statuses[socket_token(path)] += 1
            stop.wait(socket_every)

    def faulter():
        weights = [w for w, _ in FAULTS]
        while not stop.wait(rng.uniform(0.5, 1.5) * fault_every):
            # One at a time: faults queued while the agent backs off would each double its delay.
            if emu.admin_json("GET", "/_admin/faults"):
                continue
            spec = rng.choices([f for _, f in FAULTS], weights)[0]
            emu.fault(**spec)
            faults_added["%s %s %s" % (spec.get("method", "*"), spec["path"], spec["kind"] + (" %d" % spec["status"] if "status" in spec else ""))] += 1

    threads = [threading.Thread(target=t, daemon=True) for t in (sampler, socket_user, faulter)]
    for thread in threads:
        thread.start()
    done_rotations = done_tokens = 0
    last_report = started
    exited = None
    try:
        while True:
            time.sleep(1)
            state = emu.state(agent_id)
            done_rotations = state["rotation_count"] - base["rotation_count"]
            done_tokens = state["token_count"] - base["token_count"]
            # The emulator keeps every request for /_admin/requests: drop them, they are not used here.
            emu.admin("DELETE", "/_admin/requests")
            if agent.proc.poll() is not None:
                exited = agent.proc.returncode
                break
            now = time.monotonic()
            if now - last_report >= 10:
                last_report = now
                log("  %5.0f s: %d rotations, %d tokens, RSS %s kB, %s fds" % (
                    now - started, done_rotations, done_tokens, samples[-1][1] if samples else "?", samples[-1][2] if samples else "?"))
            if done_rotations >= rotations and done_tokens >= refreshes:
                break
            if now - started >= max_seconds:
                break
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        emu.admin("DELETE", "/_admin/faults")
    elapsed = time.monotonic() - started
    soak_lines = agent.lines[mark:]
    alive = agent.proc.poll() is None
    if alive:
        assert agent.stop() == 0, "the daemon did not stop cleanly"

    # Restart on the normal schedule: it resumes whatever was interrupted and gets a token.
    agent.env.pop("HUBAGENT_TEST_ROTATION_INTERVAL")
    agent.env.pop("HUBAGENT_TEST_TOKEN_REFRESH_INTERVAL")
    mark = agent.start()
    agent.wait_for(r"access token valid until", timeout=60, since=mark)
    assert agent.stop() == 0
    state = agent.stored_state()
    round_trip = storage_faults.token_round_trip(emu, state)

    rss = flat(samples, 1, lambda start: max(1024, start * 0.05))
    fds = flat(samples, 2, lambda start: 2)
    kinds = error_kinds(soak_lines)
    fatal = [l for l in soak_lines if re.search(r"needs a new boarding file|offboarded|onboarding refused|credentials expired", l)]
    return {
        "seed": seed, "seconds": elapsed, "rotations": done_rotations, "tokens": done_tokens,
        "rotation_rate": done_rotations / elapsed, "token_rate": done_tokens / elapsed,
        "exited": exited, "alive": alive, "round_trip": round_trip, "client_id_ok": state["identity"]["clientId"] == agent_id,
        "rss": rss, "fds": fds, "samples": len(samples), "socket": dict(socket_statuses), "faults": dict(faults_added),
        "errors": kinds, "fatal": fatal, "lines": len(soak_lines),
    }


def summary_table(s, targets=(10000, 50000)):
    lines = [
        "soak summary (seed %d)" % s["seed"],
        "  %-34s %s" % ("duration", "%.0f s" % s["seconds"]),
        "  %-34s %s" % ("rotations (emulator count)", "%d  (%.1f/s)" % (s["rotations"], s["rotation_rate"])),
        "  %-34s %s" % ("token grants (emulator count)", "%d  (%.1f/s)" % (s["tokens"], s["token_rate"])),
        "  %-34s %s" % ("projected for %d / %d" % targets, "%.0f min" % (max(targets[0] / max(s["rotation_rate"], 1e-9),
                                                                           targets[1] / max(s["token_rate"], 1e-9)) / 60)),
        "  %-34s %s" % ("daemon exited during the run", "no" if s["alive"] else "YES (%s)" % s["exited"]),
        "  %-34s %s" % ("token with stored credentials", "HTTP %d, client id %s" % (s["round_trip"], "ok" if s["client_id_ok"] else "WRONG")),
        "  %-34s %s" % ("VmRSS 2nd half start -> end", "%.0f -> %.0f kB (%s)" % (s["rss"][0], s["rss"][1], "flat" if s["rss"][2] else "GROWING")),
        "  %-34s %s" % ("open fds 2nd half start -> end", "%.0f -> %.0f (%s)" % (s["fds"][0], s["fds"][1], "flat" if s["fds"][2] else "GROWING")),
        "  %-34s %s" % ("samples", s["samples"]),
        "  %-34s %s" % ("token socket answers", ", ".join("%s: %d" % kv for kv in sorted(s["socket"].items()))),
        "  %-34s %s" % ("faults injected", sum(s["faults"].values())),
    ]
    for kind, count in sorted(s["faults"].items(), key=lambda kv: -kv[1]):
        lines.append("      %6d  %s" % (count, kind))
    lines.append("  %-34s %s" % ("warnings/errors logged", sum(s["errors"].values())))
    for kind, count in s["errors"].most_common():
        lines.append("      %6d  %s" % (count, kind))
    lines.append("  %-34s %d" % ("re-boarding / offboarded lines", len(s["fatal"])))
    return "\n".join(lines)


def check(s):
    """The soak's verdict: the list of what went wrong."""
    problems = []
    if not s["alive"]:
        problems.append("the daemon exited (%s)" % s["exited"])
    if s["round_trip"] != 200 or not s["client_id_ok"]:
        problems.append("stored credentials do not work")
    if not s["rss"][2]:
        problems.append("RSS grew in the second half: %r" % (s["rss"],))
    if not s["fds"][2]:
        problems.append("descriptors grew in the second half: %r" % (s["fds"],))
    if s["fatal"]:
        problems.append("lost the identity: %r" % s["fatal"][:3])
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hubagent", default=os.path.join(ROOT, ".build-test", "release", "hubagent"),
                        help="the test build (make test-build): it needs the test hooks")
    parser.add_argument("--rotations", type=int, default=10000)
    parser.add_argument("--refreshes", type=int, default=50000, help="token grants")
    parser.add_argument("--max-seconds", type=float, default=3600, help="stop here even when the counts are not reached")
    parser.add_argument("--fault-every", type=float, default=1.5, help="mean seconds between emulator faults")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--workdir", help="kept afterwards (default: a temporary directory, removed)")
    args = parser.parse_args(argv)
    os.environ["HUBAGENT_BIN"] = os.path.abspath(args.hubagent)
    conftest = storage_faults.load_system_conftest()
    workdir = args.workdir or tempfile.mkdtemp(prefix="soak-")
    emu = Emulator(os.path.join(workdir, "southgate"), ["--secret-lifetime", "3600", "--token-lifetime", "60"]).start()
    agent = conftest.Hubagent(os.path.join(workdir, "gateway"), emu)
    try:
        result = soak(emu, agent, args.rotations, args.refreshes, args.max_seconds, fault_every=args.fault_every, seed=args.seed)
    finally:
        if agent.proc is not None and agent.proc.poll() is None:
            agent.kill()
        emu.stop()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print(summary_table(result))
    problems = check(result)
    if result["rotations"] < args.rotations or result["tokens"] < args.refreshes:
        print("stopped after %.0f s before the counts were reached" % result["seconds"])
    for problem in problems:
        print("FAILED: " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
