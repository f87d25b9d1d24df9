#!/usr/bin/env python3
"""The demo behind `make demo`: the southgate emulator on loopback and two hubagent daemons, one
per credential profile, onboarding and rotating their credentials while you watch.

Secrets are short-lived so that rotations come every few seconds (the real service: days)."""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "Emulator"))

from harness import Emulator  # noqa: E402

COLOURS = {"shared": "\033[36m", "rsa": "\033[35m", "demo": "\033[1m"}
RESET = "\033[0m"


def say(tag, text, colour):
    prefix = "%s%-7s%s" % (COLOURS[tag], tag, RESET) if colour else "%-7s" % tag
    sys.stdout.write("%s %s\n" % (prefix, text))
    sys.stdout.flush()


def follow(tag, proc, colour):
    for raw in proc.stderr:
        say(tag, raw.decode("utf-8", "replace").rstrip(), colour)


def shorten(boarding):
    shown = json.loads(json.dumps(boarding))
    iat = shown["content"]["iat"]
    shown["content"]["iat"] = iat[:12] + "…(%d characters)" % len(iat)
    return json.dumps(shown, indent=2)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hubagent", required=True, help="the hubagent binary")
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("DEMO_SECONDS", "60")),
                        help="how long to run (default 60; 0 = until Ctrl-C)")
    parser.add_argument("--secret-lifetime", default="20")
    parser.add_argument("--token-lifetime", default="8")
    args = parser.parse_args()
    colour = sys.stdout.isatty()

    work = tempfile.mkdtemp(prefix="hubagent-demo-")
    emu = Emulator(os.path.join(work, "southgate"),
                   ["--secret-lifetime", args.secret_lifetime, "--token-lifetime", args.token_lifetime]).start()
    say("demo", "southgate emulator listening on %s (secret lifetime %s s, token lifetime %s s)"
        % (emu.base_url, args.secret_lifetime, args.token_lifetime), colour)

    daemons = []
    for tag, profile in (("shared", "SHARED_SECRET"), ("rsa", "RSA_3072")):
        agent_id, boarding = emu.create_agent(profile, name="demo-" + tag)
        home = os.path.join(work, tag)
        config, state, runtime = (os.path.join(home, d) for d in ("etc", "state", "run"))
        os.makedirs(config)
        with open(os.path.join(config, "boarding.json"), "w") as f:
            json.dump(boarding, f)
        say("demo", "created agent %s (%s); its boarding file, as downloaded from Asset Manager:" % (agent_id, profile), colour)
        for line in shorten(boarding).splitlines():
            say("demo", "  " + line, colour)
        proc = subprocess.Popen([args.hubagent, "run", "--config-dir", config, "--state-dir", state,
                                 "--runtime-dir", runtime, "--ca-file", emu.ca],
                                stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        threading.Thread(target=follow, args=(tag, proc, colour), daemon=True).start()
        daemons.append((tag, agent_id, proc))

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait(args.seconds if args.seconds > 0 else None)

    for tag, agent_id, proc in daemons:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        state = emu.state(agent_id)
        say("demo", "%s: onboarded %d time(s), %d rotation(s), %d token(s) issued; daemon exit status %d"
            % (agent_id, state["onboard_count"], state["rotation_count"], state["token_count"], proc.returncode), colour)
    emu.stop()
    say("demo", "files of this run are in %s" % work, colour)


if __name__ == "__main__":
    main()
