#!/usr/bin/env python3
"""The demo behind `make demo`: the southgate emulator on loopback and two hubagent daemons, one
per credential profile, onboarding and rotating their credentials while you watch. The first one
also relays data: a producer hands it a boiler temperature and pressure every second with
`hubagent send`; halfway through, Insights Hub is unreachable for 10 s, and nothing is lost.

Secrets are short-lived so that rotations come every few seconds (the real service: days)."""

import argparse
import json
import math
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


def produce(binary, runtime, stop, sent, colour):
    """A collector: every second a temperature and a pressure, handed to the relay."""
    tick = 0
    while not stop.wait(1.0):
        tick += 1
        now = int(time.time() * 1000)
        lines = [json.dumps({"dataPointId": "dp-boiler-temp", "value": round(80 + 5 * math.sin(tick / 10), 2),
                             "timestamp": now}),
                 json.dumps({"dataPointId": "Boiler/Pressure", "value": round(2 + 0.1 * math.cos(tick / 7), 3),
                             "timestamp": now})]
        result = subprocess.run([binary, "send", "--runtime-dir", runtime, "--wait", "0"],
                                input="\n".join(lines) + "\n", capture_output=True, text=True)
        if result.returncode == 0:
            sent[0] += 2
            if tick % 10 == 0:
                say("demo", "producer: %d values handed to the relay so far" % sent[0], colour)
        elif result.returncode != 69 or tick > 10:
            say("demo", "producer: hubagent send exited %d: %s" % (result.returncode, result.stderr.strip()), colour)


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
        if tag == "shared":
            with open(os.path.join(os.path.dirname(HERE), "..", "etc", "datasources.yaml")) as f:
                datasources = f.read()
            with open(os.path.join(config, "datasources.yaml"), "w") as f:
                f.write(datasources)
            with open(os.path.join(config, "hubagent.conf"), "w") as f:
                f.write("relay = on\nrelay_flush_interval = 2s\n")
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
    shared_id = daemons[0][1]
    runtime = os.path.join(work, "shared", "run")
    sent = [0]
    threading.Thread(target=produce, args=(args.hubagent, runtime, stop, sent, colour), daemon=True).start()
    seconds = args.seconds if args.seconds > 0 else None
    if seconds is None or seconds >= 30:
        stop.wait(min(15, seconds or 15))
        if not stop.is_set():
            say("demo", "Insights Hub unreachable for 10 s: the relay keeps the values on disk and retries", colour)
            emu.outage(10, mode="close")
    stop.wait(None if seconds is None else max(0, seconds - 15))
    stop.set()

    # What the producer was told is on disk must all be in Insights Hub.
    try:
        counts = emu.await_values(shared_id, sent[0], timeout=60)
        say("demo", "relay: %d values acknowledged by hubagent, %d stored by Insights Hub in %d exchange requests"
            % (sent[0], counts["values"], counts["exchanges"]), colour)
    except TimeoutError as error:
        say("demo", "relay: not everything arrived: %s" % error, colour)

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
