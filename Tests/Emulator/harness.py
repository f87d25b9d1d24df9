"""The southgate emulator as a subprocess, with helpers around its admin API; used by the
emulator's own tests, the system tests and the demo.

    emu = Emulator(workdir, ["--secret-lifetime", "20"]).start()
    agent_id, boarding = emu.create_agent("RSA_3072")
    ...
    assert emu.stop() == 0

Set SOUTHGATE_PYTHON to run the emulator under another interpreter (e.g. Debian's
/usr/bin/python3 with cryptography 38) than the caller's.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from urllib.parse import urlencode

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import client as sgclient  # noqa: E402

SOUTHGATE = os.path.join(HERE, "southgate.py")
PYTHON = os.environ.get("SOUTHGATE_PYTHON", sys.executable)
START_TIMEOUT = 30
STOP_TIMEOUT = 20


class Emulator:
    """A running emulator and helpers around its admin API."""

    def __init__(self, workdir, extra_args=(), tls_dir=None, state=None, port=0,
                 admin_token=True, http=False, dsc_unconfigured=None,
                 rotation_after_expiry=None, whole_record=False):
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.tls_dir = tls_dir or os.path.join(self.workdir, "tls")
        self.port_file = os.path.join(self.workdir, "port")
        self.stderr_path = os.path.join(self.workdir, "stderr.log")
        self.admin_token = secrets.token_hex(16) if admin_token is True else admin_token
        self.http = http
        self.args = [PYTHON, SOUTHGATE, "--port", str(port), "--port-file", self.port_file,
                     "--tls-dir", self.tls_dir] + list(extra_args)
        if self.admin_token:
            self.args += ["--admin-token", self.admin_token]
        if state:
            self.args += ["--state", str(state)]
        if http:
            self.args.append("--http")
        if dsc_unconfigured is not None:  # "404" (default) or "empty"
            self.args += ["--dsc-unconfigured", str(dsc_unconfigured)]
        if rotation_after_expiry is not None:  # "refuse" (default) or "accept"
            self.args += ["--rotation-after-expiry", rotation_after_expiry]
        if whole_record:
            self.args.append("--whole-record")
        self.proc = None
        self._admin_transport = None

    # --- process ---------------------------------------------------------------------------

    def start(self):
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err)
        # The port file appears (atomically) once the socket listens; a short bounded poll is
        # the only way to see a file appear without inotify.
        deadline = time.monotonic() + START_TIMEOUT
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None:
                raise RuntimeError("emulator exited with %s:\n%s" % (self.proc.returncode,
                                                                     self.stderr()))
            if time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError("emulator did not start:\n" + self.stderr())
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read().strip())
        self.base_url = "%s://localhost:%d" % ("http" if self.http else "https", self.port)
        self.ca = os.path.join(self.tls_dir, "ca.pem")
        if not self.admin_token:
            with open(os.path.join(self.tls_dir, "admin-token")) as f:
                self.admin_token = f.read().strip()
        self._admin_transport = None
        return self

    def stop(self):
        """SIGTERM; returns the exit status."""
        if self._admin_transport is not None:
            self._admin_transport.close()
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def stderr(self):
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    # --- clients ---------------------------------------------------------------------------

    def transport(self, keep_alive=False):
        return sgclient.Transport(self.base_url, self.ca, keep_alive=keep_alive)

    def admin(self, method, path, body=None, token=None, headers=None):
        if self._admin_transport is None:
            self._admin_transport = self.transport(keep_alive=True)
        hdrs = {"Authorization": "Bearer " + (self.admin_token if token is None else token)}
        hdrs.update(headers or {})
        return self._admin_transport.request(method, path, body, hdrs)

    def admin_json(self, method, path, body=None, status=200):
        resp = self.admin(method, path, body)
        assert resp.status == status, resp
        return resp.json()

    def create_agent(self, profile="SHARED_SECRET", **fields):
        """(agent id, boarding JSON)."""
        body = {"profile": profile, "name": fields.pop("name", "test-agent")}
        body.update(fields)
        data = self.admin_json("POST", "/_admin/agents", body, status=201)
        return data["id"], data["boarding"]

    def agent(self, profile="SHARED_SECRET", transport=None, **fields):
        """A reference-client agent with a fresh boarding config, not onboarded yet."""
        _, boarding = self.create_agent(profile, **fields)
        return sgclient.Agent(boarding, ca_file=self.ca, transport=transport)

    def onboarded(self, profile="SHARED_SECRET", key=None, **fields):
        agent = self.agent(profile, **fields)
        resp = agent.onboard(key=key)
        assert resp.status == 201, resp
        return agent

    def state(self, agent_id):
        return self.admin_json("GET", "/_admin/agents/" + agent_id)

    def settings(self, **values):
        return self.admin_json("POST", "/_admin/settings", values)

    def server_now(self):
        return time.time() + self.admin_json("GET", "/_admin/settings")["clock_offset"]

    def fault(self, **spec):
        return self.admin_json("POST", "/_admin/faults", spec, status=201)

    def outage(self, seconds, mode="refuse"):
        """Begin an outage window: "refuse" closes the listening socket (ECONNREFUSED; the
        admin API too, except on a connection opened before), "close" resets each new
        connection at once, "reset" resets every non-admin request."""
        return self.admin_json("POST", "/_admin/outage", {"seconds": seconds, "mode": mode})

    def end_outage(self):
        return self.admin_json("DELETE", "/_admin/outage")

    def requests(self, since=0):
        return self.admin_json("GET", "/_admin/requests?since=%d" % since)

    def next_seq(self):
        """The sequence number the next logged request will get."""
        entries = self.admin_json("GET", "/_admin/requests")
        return entries[-1]["seq"] + 1 if entries else 0

    # --- what the exchange stored (README: "Admin API") ------------------------------------

    def timeseries(self, agent_id, data_point=None, start=None, end=None):
        """Stored values [{dataPointId, timestamp, value, qualityCode, configurationId,
        correlationId}] ordered by timestamp, then data point; start inclusive, end
        exclusive (exchange timestamp form)."""
        query = {"dataPointId": data_point, "from": start, "to": end}
        return self.admin_json("GET", "/_admin/agents/%s/timeseries%s"
                               % (agent_id, _query(query)))["values"]

    def events(self, agent_id):
        """Stored events, each with `_duplicates`, `_version` and `_correlationId`."""
        return self.admin_json("GET", "/_admin/agents/%s/events" % agent_id)

    def files(self, agent_id):
        return self.admin_json("GET", "/_admin/agents/%s/files" % agent_id)

    def exchanges(self, agent_id=None, correlation_id=None, since=0):
        """One record per exchange request: seq, correlationId, agentId, time, bytes, status,
        framing, itemCount, items [{index, type, version, outcome, stored, dropped, drops}]."""
        path = "/_admin/agents/%s/exchanges" % agent_id if agent_id else "/_admin/exchanges"
        return self.admin_json("GET", path + _query({"correlationId": correlation_id,
                                                     "since": since or None}))

    def counts(self, agent_id):
        """{"values", "events", "files", "exchanges", "duplicates", "reached"}"""
        return self.admin_json("GET", "/_admin/agents/%s/counts" % agent_id)

    def await_counts(self, agent_id, timeout=30, **minimum):
        """Long-poll until every count given reaches its value (values=, events=, files=,
        exchanges=); returns the counts, raises TimeoutError with them otherwise."""
        query = {"wait_for_" + name: n for name, n in minimum.items()}
        query["timeout"] = timeout
        transport = sgclient.Transport(self.base_url, self.ca, timeout=timeout + 30)
        try:
            resp = transport.request("GET", "/_admin/agents/%s/counts%s"
                                     % (agent_id, _query(query)),
                                     None, {"Authorization": "Bearer " + self.admin_token})
        finally:
            transport.close()
        assert resp.status == 200, resp
        counts = resp.json()
        if not counts["reached"]:
            raise TimeoutError("after %s s: %r, wanted %r" % (timeout, counts, minimum))
        return counts

    def await_values(self, agent_id, n, timeout=30):
        return self.await_counts(agent_id, timeout, values=n)

    def await_events(self, agent_id, n, timeout=30):
        return self.await_counts(agent_id, timeout, events=n)

    def await_exchanges(self, agent_id, n, timeout=30):
        return self.await_counts(agent_id, timeout, exchanges=n)

    def clear_data(self, agent_id):
        return self.admin_json("DELETE", "/_admin/agents/%s/data" % agent_id)

    def get(self, path, headers=None):
        return self.transport().request("GET", path, None, headers)

    def post(self, path, body=None, headers=None):
        return self.transport().request("POST", path, body, headers)


def _query(params):
    present = [(k, str(v)) for k, v in params.items() if v is not None]
    return "?" + urlencode(present) if present else ""


def spawner(directory, default_name="emu"):
    """For fixtures: (start, stop_all). start(*extra_args, name=..., **Emulator kwargs) runs a
    dedicated emulator under `directory`; stop_all() stops every one still running, and each
    must exit 0."""
    started = []

    def start(*extra_args, name=default_name, **kwargs):
        emu = Emulator(directory / name, extra_args, **kwargs)
        started.append(emu)
        return emu.start()

    def stop_all():
        for emu in started:
            if emu.proc is not None and emu.proc.poll() is None:
                assert emu.stop() == 0, emu.stderr()
    return start, stop_all
