"""Everything a request handler can reach: state, settings, faults, the request log."""

import sys
import threading

from .datastore import DataStore
from .faults import FaultTable
from .requestlog import RequestLog


class App:
    def __init__(self, store, settings, admin_token, access_log=None):
        self.store = store
        self.settings = settings
        self.admin_token = admin_token
        self.faults = FaultTable()
        self.data = DataStore()  # what the exchange stored
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
