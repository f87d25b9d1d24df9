"""Every non-admin request, in the order received, for tests to assert on
(GET /_admin/requests): method, path, headers, request body, response body, status. Entries appear when a request arrives (status null while it is
being processed), so a test can also see what is in flight. Bodies are kept up to 64 KiB."""

import threading

MAX_LOGGED_BODY = 64 * 1024
MAX_ENTRIES = 10000  # oldest entries are dropped beyond this (a long manual session)


def _headers_dict(headers):
    out = {}
    for name, value in headers.items():
        out[name] = out[name] + ", " + value if name in out else value
    return out


class RequestLog:
    def __init__(self):
        self._lock = threading.Lock()
        self._entries = []
        self._next_seq = 0

    def begin(self, method, raw_path, headers, started):
        entry = {"seq": None, "method": method, "path": raw_path,
                 "headers": _headers_dict(headers), "body": "", "response": "", "status": None,
                 "answered": None, "fault": None, "time": started, "duration": None}
        with self._lock:
            entry["seq"] = self._next_seq
            self._next_seq += 1
            self._entries.append(entry)
            if len(self._entries) > MAX_ENTRIES:
                del self._entries[: len(self._entries) - MAX_ENTRIES]
        return entry

    def set_body(self, entry, body):
        text = body[:MAX_LOGGED_BODY].decode("utf-8", "replace")
        with self._lock:
            entry["body"] = text
            if len(body) > MAX_LOGGED_BODY:
                entry["body_truncated"] = len(body)

    def set_response(self, entry, body):
        """The response body the server produced (also when a fault then withheld it), so
        tests can look for credentials that must not leak elsewhere."""
        text = body[:MAX_LOGGED_BODY].decode("utf-8", "replace")
        with self._lock:
            entry["response"] = text

    def finish(self, entry, status, finished, answered, fault=None):
        """status: what the server produced, 0 when it produced nothing (reset, client gone);
        answered: whether a complete response went out (false for reset, truncate and
        commit_then_drop faults); fault: the kind of fault applied, if any."""
        with self._lock:
            entry.update(status=status, answered=answered, fault=fault,
                         duration=round(finished - entry["time"], 6))

    def since(self, seq=0):
        with self._lock:
            return [dict(e) for e in self._entries if e["seq"] >= seq]

    def clear(self):
        with self._lock:
            n = len(self._entries)
            self._entries = []
            return n
