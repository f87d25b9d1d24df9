"""Fault injection: each fault applies to the next `count` requests whose method and path
match; the first matching fault (oldest first) wins.

Kinds:
  status            answer with the given status, headers and body; state is not touched
  delay             sleep `seconds`, then process normally (register/rotate sleep while holding
                    the per-agent registration lock)
  reset             close the connection with a TCP RST, without answering
  truncate          process normally, declare the full Content-Length, send part of the body,
                    close
  commit_then_drop  process normally (state committed), close without sending a response
"""

import itertools
import re
import threading

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_HEADER_VALUE = re.compile(r"^[\x20-\x7e\t]*$")

KINDS = ("status", "delay", "reset", "truncate", "commit_then_drop")


class FaultError(ValueError):
    pass


class Fault:
    _ids = itertools.count(1)

    def __init__(self, spec):
        if not isinstance(spec, dict):
            raise FaultError("a fault is a JSON object")
        self.kind = spec.get("kind")
        if self.kind not in KINDS:
            raise FaultError("kind must be one of " + ", ".join(KINDS))
        method = spec.get("method")
        if method is not None and not isinstance(method, str):
            raise FaultError("method must be a string")
        self.method = method.upper() if method else None
        self.path = spec.get("path", ".*")
        try:
            self.path_re = re.compile(self.path)
        except (re.error, TypeError) as exc:
            raise FaultError("path is not a regular expression: %s" % exc)
        self.count = spec.get("count", 1)
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise FaultError("count must be a positive integer")
        self.status = spec.get("status", 500)
        valid_status = (isinstance(self.status, int) and not isinstance(self.status, bool)
                        and 100 <= self.status <= 599)
        if self.kind == "status" and not valid_status:
            raise FaultError("status must be an HTTP status code")
        self.headers = spec.get("headers", {})
        if not isinstance(self.headers, dict) or not all(
                isinstance(k, str) and isinstance(v, (str, int)) for k, v in self.headers.items()):
            raise FaultError("headers must be an object of strings")
        self.headers = {k: str(v) for k, v in self.headers.items()}
        for name, value in self.headers.items():
            if not _HEADER_NAME.match(name) or not _HEADER_VALUE.match(value):
                raise FaultError("header %r is not a valid single-line HTTP header" % name)
        self.body = spec.get("body")
        self.seconds = spec.get("seconds", 1.0)
        if self.kind == "delay" and (isinstance(self.seconds, bool)
                                     or not isinstance(self.seconds, (int, float))
                                     or not 0 <= self.seconds <= 600):
            raise FaultError("seconds must be a number between 0 and 600")
        self.id = next(self._ids)

    def matches(self, method, path):
        return (self.method is None or self.method == method) and self.path_re.search(path)

    def describe(self):
        out = {"id": self.id, "kind": self.kind, "method": self.method, "path": self.path,
               "count": self.count}
        if self.kind == "status":
            out.update(status=self.status, headers=self.headers, body=self.body)
        if self.kind == "delay":
            out["seconds"] = self.seconds
        return out


class FaultTable:
    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []

    def add(self, spec):
        fault = Fault(spec)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method, path):
        """The fault for this request, if any; uses up one of its count."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def list(self):
        with self._lock:
            return [f.describe() for f in self._faults]

    def clear(self):
        with self._lock:
            n = len(self._faults)
            self._faults = []
            return n
