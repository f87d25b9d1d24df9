"""Storage faults at each position: the real daemon against the emulator, with one state
directory system call failing at its Nth invocation, for N = 1, 2, ... until a run no longer
reaches the Nth call. After each run the daemon is restarted without faults and must hold a
valid identity; a run that leaves the initial access token used up but no credentials on disk
is a lockout, and there must be none.

Faults are injected in the process, through the one choke point every state file call goes
through (Sources/Platform/Syscall.swift), by the test hook HUBAGENT_TEST_STORAGE_FAULT
(`SYSCALL:ERRNO:WHEN`, WHEN as strace's `when=`: N, N..M or N+). strace's own injection was not
precise enough here: it counts invocations per thread, and the effects queue runs on whichever
pool thread is free, so "the 3rd fsync" differs from run to run; its `-P` matches whole paths,
while the temp files carry the pid and the generation in their names; and log lines, status.json
and the token socket use the same write/openat calls. The hook counts per process and only on
paths in the state directory.

    python3 Tests/System/storage_faults.py --hubagent .build/release/hubagent            # all
    python3 Tests/System/storage_faults.py --scenarios onboard-SHARED_SECRET --faults write:ENOSPC
"""

import argparse
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "Tests", "Emulator"))

import client as sgclient  # noqa: E402
from harness import Emulator  # noqa: E402

FAULTS = ["fsync:EIO", "write:ENOSPC", "rename:EIO", "rename:ENOSPC", "openat:EMFILE", "openat:ENOSPC", "openat:EACCES"]
SCENARIOS = ["onboard-SHARED_SECRET", "onboard-RSA_3072", "rotate-SHARED_SECRET", "rotate-RSA_3072"]
MAX_POSITION = 40   # a bound on a loop that must end by itself long before


def token_round_trip(emu, state):
    """POST /oauth/token with a client assertion made here from the stored credentials; returns
    the HTTP status."""
    identity = state["identity"]
    current = identity["current"]
    if identity["profile"] == "RSA_3072":
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
        key = load_pem_private_key(current["privateKey"].encode(), password=None)
        header, secret = {"typ": "JWT", "alg": "RS256"}, None
    else:
        key, header, secret = None, {"typ": "JWT", "alg": "HS256"}, current["clientSecret"]
    claims = sgclient.assertion_claims(identity["clientId"], identity["tenant"], emu.server_now())
    assertion = sgclient.sign_jwt(header, claims, secret=secret, private_key=key)
    resp = emu.transport().request("POST", sgclient.AM + "/oauth/token", sgclient.token_form(assertion),
                                   {"Content-Type": "application/x-www-form-urlencoded"})
    return resp.status


def state_dir_problems(agent):
    """Temp files left behind and wrong modes in the state directory."""
    problems = []
    if not os.path.isdir(agent.state_dir):
        return problems
    mode = stat.S_IMODE(os.stat(agent.state_dir).st_mode)
    if mode != 0o700:
        problems.append("directory mode %o" % mode)
    for name in agent.state_files():
        if ".tmp." in name:
            problems.append("temp file %s" % name)
        mode = stat.S_IMODE(os.stat(os.path.join(agent.state_dir, name)).st_mode)
        if mode != 0o600:
            problems.append("%s mode %o" % (name, mode))
    return problems


def stored_or_empty(agent):
    if not any(re.fullmatch(r"state\.\d+\.json", n) for n in agent.state_files()):
        return {}
    return agent.stored_state()


def wait_until(condition, timeout, agent=None):
    """Polls `condition` (a file appears, no log line says so) until true or the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if agent is not None and agent.proc.poll() is not None:
            return condition()
        time.sleep(0.05)
    return False


class Runner:
    """Runs the scenarios against one emulator; `make_agent(name)` returns a conftest Hubagent."""

    def __init__(self, emu, make_agent, log=print, burst=1):
        self.emu = emu
        # Calls failed in a row from the position on: 1 is a single fault; 3 defeats a save's
        # quick repetitions, so the lifecycle's own retry (or keeping credentials in memory) shows.
        self.burst = burst
        self.make_agent = make_agent
        self.log = log
        self.rows = []
        self.count = 0

    def _agent(self, profile, env):
        self.count += 1
        agent = self.make_agent("run-%d" % self.count, env)
        agent_id, boarding = self.emu.create_agent(profile)
        agent.agent_id = agent_id
        agent.write_boarding(boarding)
        return agent

    def _window(self, agent, mark, profile, rotation):
        """Waits for the end of the window of interest: the first token (after the rotation),
        and for RSA_3072 the next rotation's key stored. False when it did not come."""
        try:
            if rotation:
                agent.wait_for(r"credentials rotated", timeout=30, since=mark)
            agent.wait_for(r"access token valid until", timeout=30)
        except AssertionError:
            return False
        if profile == "RSA_3072" and not wait_until(lambda: "pendingKey" in stored_or_empty(agent).get("identity", {}), 30, agent):
            return False
        if agent.count(r"not stored yet", since=mark):
            # Credentials held in memory: the window ends when they are stored.
            try:
                agent.wait_for(r"credentials stored \(generation", timeout=60, since=mark)
            except AssertionError:
                return False
        return True

    def run(self, scenario, fault, position):
        """One run with the fault at `position`; returns the outcome, or None when the run
        never reached that position."""
        kind, profile = scenario.split("-", 1)
        rotation = kind == "rotate"
        syscall, errno_name = fault.split(":")
        spec = "%s:%s:%d..%d" % (syscall, errno_name, position, position + self.burst - 1)
        env = {"HUBAGENT_TEST_HOOKS": "1"}
        if rotation:
            # Onboard without faults; rotation due at 90 % of a 20 s secret, so not in this run.
            self.emu.settings(secret_lifetime=20)
            agent = self._agent(profile, env)
            write_conf(agent, "rotation_fraction = 0.9\n")
            agent.start()
            if not self._window(agent, 0, profile, rotation=False):
                raise AssertionError("onboarding without faults failed:\n" + agent.log())
            assert agent.stop() == 0
            # Now due at 10 %: at once on the next start; the rotated secret lives long.
            self.emu.settings(secret_lifetime=3600)
            write_conf(agent, "rotation_fraction = 0.1\n")
        else:
            self.emu.settings(secret_lifetime=3600)
            agent = self._agent(profile, env)
        agent.env["HUBAGENT_TEST_STORAGE_FAULT"] = spec
        mark = agent.start()
        finished = self._window(agent, mark, profile, rotation)
        injected = agent.count(r"test hook: injecting %s into %s #%d " % (errno_name, "open" if syscall == "openat" else syscall, position), since=mark)
        alive = agent.proc.poll() is None
        faulted_log = "\n".join(agent.lines[mark:])
        if alive:
            assert agent.stop() == 0
        if not injected:
            return None
        if not finished and alive:
            return self._record(scenario, fault, position, "no token in the faulted run", lockout=False, problems=[], log=faulted_log)
        how = []
        if re.search(r"storing state failed \(attempt \d of \d\)", faulted_log):
            how.append("save repeated")
        if re.search(r"(onboarding|rotation|key generation) failed: storing state failed", faulted_log):
            how.append("operation retried")
        if "not stored yet" in faulted_log:
            how.append("kept in memory")
        if not alive:
            how.append("daemon exited %s" % agent.proc.returncode)
        problems = state_dir_problems(agent)

        # Restart without the fault: the identity must be there and work.
        del agent.env["HUBAGENT_TEST_STORAGE_FAULT"]
        mark = agent.start()
        lockout, verdict = False, []
        try:
            agent.wait_for(r"access token valid until", timeout=30, since=mark)
            state = agent.stored_state()
            status = token_round_trip(self.emu, state)
            if status != 200:
                verdict.append("token with stored credentials: HTTP %d" % status)
            if state["identity"]["clientId"] != agent.agent_id:
                verdict.append("client id %s, registered %s" % (state["identity"]["clientId"], agent.agent_id))
        except AssertionError:
            server = self.emu.state(agent.agent_id)
            stored = stored_or_empty(agent)
            lockout = server["onboard_count"] >= 1 and "identity" not in stored
            verdict.append("LOCKOUT" if lockout else "no token after restart")
        if agent.proc.poll() is None:
            assert agent.stop() == 0
        problems += state_dir_problems(agent)
        outcome = ", ".join(how) or "no effect"
        if verdict or problems:
            outcome += "; " + "; ".join(verdict + sorted(set(problems)))
        else:
            outcome += "; identity valid"
        return self._record(scenario, fault, position, outcome, lockout, problems + verdict, faulted_log)

    def _record(self, scenario, fault, position, outcome, lockout, problems, log):
        if self.burst > 1:
            fault = "%s x%d" % (fault, self.burst)
        row = {"scenario": scenario, "fault": fault, "position": position, "outcome": outcome,
               "lockout": lockout, "ok": not problems and "no token" not in outcome, "log": log}
        self.rows.append(row)
        self.log("  %-22s %-17s #%-3d %s" % (scenario, fault, position, outcome))
        return outcome

    def sweep(self, scenario, fault):
        """Positions 1, 2, ... until one is not reached; returns how many were."""
        for position in range(1, MAX_POSITION + 1):
            if self.run(scenario, fault, position) is None:
                return position - 1
        raise AssertionError("%s %s still reached at position %d" % (scenario, fault, MAX_POSITION))


def table(rows):
    """syscall x position -> outcome, one block per scenario."""
    lines = []
    for scenario in sorted({r["scenario"] for r in rows}, key=lambda s: SCENARIOS.index(s) if s in SCENARIOS else 99):
        lines.append(scenario)
        lines.append("  %-17s %-4s %s" % ("fault", "N", "outcome"))
        for row in [r for r in rows if r["scenario"] == scenario]:
            lines.append("  %-17s %-4d %s" % (row["fault"], row["position"], row["outcome"]))
    runs = len(rows)
    lockouts = sum(1 for r in rows if r["lockout"])
    failed = sum(1 for r in rows if not r["ok"])
    lines.append("%d faulted runs, %d lockouts, %d with problems" % (runs, lockouts, failed))
    return "\n".join(lines)


def load_system_conftest():
    """The system tests' harness (the emulator's conftest.py has the same module name)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("system_conftest", os.path.join(HERE, "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_conf(agent, text):
    with open(os.path.join(agent.config_dir, "hubagent.conf"), "w") as f:
        f.write(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hubagent", default=os.path.join(ROOT, ".build-test", "release", "hubagent"),
                        help="the test build (make test-build): it needs the test hooks")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--faults", default=",".join(FAULTS), help="SYSCALL:ERRNO,...")
    parser.add_argument("--bursts", default="1,3", help="calls failed in a row from each position, one sweep per value")
    parser.add_argument("--workdir", help="kept afterwards (default: a temporary directory, removed)")
    args = parser.parse_args(argv)
    os.environ["HUBAGENT_BIN"] = os.path.abspath(args.hubagent)
    conftest = load_system_conftest()
    workdir = args.workdir or tempfile.mkdtemp(prefix="storage-faults-")
    emu = Emulator(os.path.join(workdir, "southgate")).start()
    agents = []

    def make(name, env):
        agent = conftest.Hubagent(os.path.join(workdir, name), emu)
        agent.env.update(env)
        agents.append(agent)
        return agent
    runner = Runner(emu, make)
    started = time.monotonic()
    try:
        for burst in [int(b) for b in args.bursts.split(",")]:
            runner.burst = burst
            for scenario in args.scenarios.split(","):
                for fault in args.faults.split(","):
                    runner.sweep(scenario, fault)
    finally:
        for agent in agents:
            if agent.proc is not None and agent.proc.poll() is None:
                agent.kill()
        emu.stop()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print(table(runner.rows))
    print("%.0f s" % (time.monotonic() - started))
    bad = [r for r in runner.rows if r["lockout"] or not r["ok"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
