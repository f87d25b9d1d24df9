"""Everything a request handler can reach: state, settings, faults, the request log."""

import sys
import threading
import time

from .datastore import DataStore
from .faults import FaultTable
from .requestlog import RequestLog


class Outage:
    """An outage window (docs/relay.md §6): while it lasts, nothing but the admin API gets
    through. "refuse": the listening socket is closed (the server does that); "close": every
    new connection is reset as soon as it is accepted; "reset": every request (admin requests
    excepted) is answered with a TCP RST."""


    def __init__(self):
        self._cond = threading.Condition()
        self._until = 0.0
        self.mode = None

    def begin(self, seconds, mode):
        with self._cond:
            self._until = max(self._until, time.monotonic() + seconds)
            self.mode = mode
            self._cond.notify_all()

    def end(self):
        with self._cond:
            self._until = 0.0
            self._cond.notify_all()

    def remaining(self):
        with self._cond:
            return max(0.0, self._until - time.monotonic())

    def active(self):
        return self.remaining() > 0

    def wait_until_over(self):
        with self._cond:
            while True:
                left = self._until - time.monotonic()
                if left <= 0:
                    return
                self._cond.wait(left)

    def describe(self):
        left = self.remaining()
        return {"active": left > 0, "mode": self.mode if left > 0 else None,
                "remaining": round(left, 3)}


class App:
    def __init__(self, store, settings, admin_token, access_log=None):
        self.store = store
        self.settings = settings
        self.admin_token = admin_token
        self.faults = FaultTable()
        self.data = DataStore()  # what the exchange stored
        self.outage = Outage()
        self.server = None  # set once listening (outages close its socket)
        self.log = RequestLog()
        self.base_url = None  # set once the port is known
        self._access_log = access_log  # a text file, or None to stay quiet
        self._access_lock = threading.Lock()

    def access(self, line):
        if self._access_log is not None:
            with self._access_lock:
                self._access_log.write(line + "\n")
                self._access_log.flush()

    def report_crash(self, text):
        """An exception in a handler is a bug in the emulator: always shown."""
        sys.stderr.write("southgate: internal error\n" + text)
        sys.stderr.flush()
        self.access(text.rstrip())
