"""Fault injection: each fault applies to the next `count` requests whose method and path
match (or to every one with `"always": true`, until cleared); the first matching fault
(oldest first) wins. `throttle` faults are the exception: they shape the body of a request
in addition to whatever other fault applies to it.

Kinds:
  status            answer with the given status, headers and body; state is not touched
                    (429 with or without Retry-After, 401, 403, 500, 502, 503, ...)
  delay             sleep `seconds`, then process normally (register/rotate sleep while holding
                    the per-agent registration lock)
  reset             close the connection with a TCP RST, without answering
  reset_mid_body    read `bytes` of the request body (default: half of it), then TCP RST;
                    nothing is processed
  truncate          process normally, declare the full Content-Length, send part of the body,
                    close
  commit_then_drop  process normally (state committed), close without sending a response
  max_body          a proxy's cap: a request whose Content-Length exceeds `bytes` gets 413
                    (the body read and discarded, then the connection closed); smaller
                    requests do not match and pass
  throttle          read the request body at `bytes_per_second`
  outage            the matching request is reset, then an outage of `seconds` begins
                    (`mode` "refuse": the listening socket is closed; "close": every
                    connection is closed with a RST as soon as it is accepted; "reset": every
                    non-admin request is reset); see also POST /_admin/outage
"""

import itertools
import re
import threading

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_HEADER_VALUE = re.compile(r"^[\x20-\x7e\t]*$")

KINDS = ("status", "delay", "reset", "reset_mid_body", "truncate", "commit_then_drop",
         "max_body", "throttle", "outage")
MODIFIERS = ("throttle",)  # applied on top of the request's other fault, if any
OUTAGE_MODES = ("refuse", "close", "reset")
MAX_OUTAGE = 3600


def _positive_int(value):
    return not isinstance(value, bool) and isinstance(value, int) and value > 0


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
        if not _positive_int(self.count):
            raise FaultError("count must be a positive integer")
        self.always = spec.get("always", False)
        if not isinstance(self.always, bool):
            raise FaultError("always must be a boolean")
        self.bytes = spec.get("bytes")
        if self.kind == "max_body" and (not _positive_int(self.bytes) and self.bytes != 0):
            raise FaultError("max_body needs bytes, a non-negative integer")
        if self.kind == "reset_mid_body" and self.bytes is not None and \
                not _positive_int(self.bytes):
            raise FaultError("bytes must be a positive integer")
        self.rate = spec.get("bytes_per_second")
        if self.kind == "throttle" and not _positive_int(self.rate):
            raise FaultError("throttle needs bytes_per_second, a positive integer")
        self.mode = spec.get("mode", "refuse")
        if self.kind == "outage" and self.mode not in OUTAGE_MODES:
            raise FaultError("mode must be one of " + ", ".join(OUTAGE_MODES))
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
        limit = MAX_OUTAGE if self.kind == "outage" else 600
        if self.kind in ("delay", "outage") and (isinstance(self.seconds, bool)
                                                 or not isinstance(self.seconds, (int, float))
                                                 or not 0 <= self.seconds <= limit):
            raise FaultError("seconds must be a number between 0 and %d" % limit)
        self.id = next(self._ids)

    def matches(self, method, path, content_length=None):
        if self.method is not None and self.method != method:
            return False
        if not self.path_re.search(path):
            return False
        if self.kind == "max_body":
            return content_length is not None and content_length > self.bytes
        return True

    def describe(self):
        out = {"id": self.id, "kind": self.kind, "method": self.method, "path": self.path,
               "count": self.count, "always": self.always}
        if self.kind in ("status", "max_body"):
            out.update(status=self.status if self.kind == "status" else 413,
                       headers=self.headers, body=self.body)
        if self.kind in ("delay", "outage"):
            out["seconds"] = self.seconds
        if self.kind in ("max_body", "reset_mid_body"):
            out["bytes"] = self.bytes
        if self.kind == "throttle":
            out["bytes_per_second"] = self.rate
        if self.kind == "outage":
            out["mode"] = self.mode
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

    def _use(self, fault):
        if not fault.always:
            fault.count -= 1
            if fault.count == 0:
                self._faults.remove(fault)

    def take(self, method, path, content_length=None):
        """(the fault for this request or None, the throttle fault or None); uses up one of
        the count of each."""
        primary = throttle = None
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(method, path, content_length):
                    continue
                if fault.kind in MODIFIERS:
                    if throttle is None:
                        throttle = fault
                        self._use(fault)
                elif primary is None:
                    primary = fault
                    self._use(fault)
        return primary, throttle

    def list(self):
        with self._lock:
            return [f.describe() for f in self._faults]

    def clear(self):
        with self._lock:
            n = len(self._faults)
            self._faults = []
            return n
