#!/usr/bin/env python3
"""southgate emulator: a local Insights Hub Agent Management API for tests and offline work.

    python3 Tests/Emulator/southgate.py --port 0 --port-file PATH --tls-dir DIR [options]

See README.md beside this file for the endpoints, the admin API and fault injection.
"""

import argparse
import os
import secrets
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sgemu import tls  # noqa: E402
from sgemu.app import App  # noqa: E402
from sgemu.files import write_atomic, write_private  # noqa: E402
from sgemu.server import POLL_INTERVAL, EmulatorServer  # noqa: E402
from sgemu.state import Settings, SettingsError, Store  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(prog="southgate.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=0, help="TCP port (0 = any free port)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port-file", help="write the bound port here once connections are accepted")
    p.add_argument("--tls-dir", required=True,
                   help="CA + server certificate (created if missing; ca.pem is what clients "
                        "trust) and the admin-token file")
    p.add_argument("--http", action="store_true", help="plain HTTP instead of HTTPS (debugging)")
    p.add_argument("--public-url",
                   help="base URL put in boarding configs and registration_client_uri "
                        "(default http(s)://localhost:PORT)")
    p.add_argument("--secret-lifetime", type=int, default=604800, metavar="SECONDS",
                   help="client secret lifetime (default 604800 = 7 days)")
    p.add_argument("--token-lifetime", type=int, default=3600, metavar="SECONDS",
                   help="access token lifetime (default 3600)")
    p.add_argument("--iat-lifetime", type=int, default=604800, metavar="SECONDS",
                   help="lifetime of the IATs in new boarding configs (default 7 days)")
    p.add_argument("--clock-offset", type=float, default=0, metavar="SECONDS",
                   help="server clock = real time + offset (default 0)")
    p.add_argument("--clock-tolerance", type=float, default=300, metavar="SECONDS",
                   help="accepted skew of client assertion iat/nbf/exp (default 300)")
    p.add_argument("--accept-previous-secret", action="store_true",
                   help="the secret/key before the last rotation still gets tokens")
    p.add_argument("--accept-any-grant-type", action="store_true",
                   help="accept grant_type values other than client_credentials")
    p.add_argument("--dsc-unconfigured", choices=("404", "empty"), default="404",
                   help="GET dataSourceConfiguration of a never-configured agent: 404 (default) "
                        "or 200 without configurationId (docs/protocol.md §7, contested)")
    p.add_argument("--rotation-after-expiry", choices=("accept", "refuse"), default="refuse",
                   help="rotation with the RAT after the client secret expired: refuse with 401 "
                        "(default) or accept (docs/protocol.md §5.1, contested)")
    p.add_argument("--whole-record", action="store_true",
                   help="a time series write replaces every value of its configuration at that "
                        "timestamp (default: per data point, last write wins)")
    p.add_argument("--state", metavar="FILE",
                   help="persist agents, credentials and the signing key here (JSON)")
    p.add_argument("--admin-token", help="admin API token (default: random)")
    p.add_argument("--log", metavar="FILE", help="append one line per request to FILE")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = Settings(secret_lifetime=args.secret_lifetime,
                            token_lifetime=args.token_lifetime,
                            iat_lifetime=args.iat_lifetime,
                            clock_offset=args.clock_offset,
                            clock_tolerance=args.clock_tolerance,
                            accept_previous_secret=args.accept_previous_secret,
                            accept_any_grant_type=args.accept_any_grant_type,
                            dsc_unconfigured=args.dsc_unconfigured,
                            rotation_after_expiry=args.rotation_after_expiry,
                            whole_record=args.whole_record)
    except SettingsError as exc:
        print("southgate: %s" % exc, file=sys.stderr)
        return 64
    store = Store(settings, args.state)
    try:
        store.load()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print("southgate: cannot load state %s: %s" % (args.state, exc), file=sys.stderr)
        return 1
    store.ensure_signing_key()

    os.makedirs(args.tls_dir, exist_ok=True)
    context = None
    if not args.http:
        context = tls.server_context(*tls.ensure_tls_files(args.tls_dir))
    admin_token = args.admin_token or secrets.token_urlsafe(24)
    write_private(os.path.join(args.tls_dir, "admin-token"), admin_token + "\n")

    access_log = open(args.log, "a", encoding="utf-8") if args.log else None
    app = App(store, settings, admin_token, access_log)
    data_path = args.state + ".data" if args.state else None
    if data_path:
        try:
            app.data.load(data_path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print("southgate: cannot load %s: %s" % (data_path, exc), file=sys.stderr)
            return 1

    # Block the stop signals before any thread starts, so that all of them inherit the mask
    # and the main thread alone receives them through sigwait.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)

    server = EmulatorServer((args.host, args.port), app, context)
    app.server = server
    port = server.server_address[1]
    scheme = "http" if args.http else "https"
    app.base_url = (args.public_url or "%s://localhost:%d" % (scheme, port)).rstrip("/")
    threading.Thread(target=server.serve_forever, args=(POLL_INTERVAL,), name="accept",
                     daemon=True).start()
    store.save_if_dirty()  # a new signing key is durable before the first IAT is handed out

    if args.port_file:
        write_atomic(args.port_file, "%d\n" % port)  # the socket is listening already
    print("southgate: listening on %s (tls dir %s)" % (app.base_url, args.tls_dir),
          file=sys.stderr)
    print("southgate: admin token: %s" % admin_token, file=sys.stderr, flush=True)

    signum = signal.sigwait(stop_signals)
    server.shutdown()
    server.server_close()
    store.mark_dirty()
    store.save_if_dirty()
    if data_path:
        app.data.save(data_path)
    print("southgate: stopped (%s)" % signal.Signals(signum).name, file=sys.stderr)
    sys.stderr.flush()
    if access_log is not None:
        access_log.close()
    # Connection threads are daemons that may sit in a blocking read; leave without waiting.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
