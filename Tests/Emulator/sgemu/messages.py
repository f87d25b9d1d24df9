"""Request and response values passed between the server and the endpoint handlers."""

import json
import time

from .errors import ApiError


class Request:
    def __init__(self, app, method, path, query, headers, body, client_address, correlation):
        self.app = app
        self.method = method
        self.path = path            # without the query string
        self.query = query          # dict: name -> list of values
        self.headers = headers      # email.message.Message (case-insensitive get)
        self.body = body            # bytes, exactly as received
        self.client_address = client_address
        self.correlation = correlation
        self.pending_delay = 0.0    # a `delay` fault the handler applies itself (see routes)

    @property
    def store(self):
        return self.app.store

    @property
    def settings(self):
        return self.app.settings

    @property
    def base_url(self):
        return self.app.base_url

    def apply_pending_delay(self):
        """Register/rotate sleep here, while holding the per-agent registration lock, so that a
        delayed registration makes a concurrent one hit 429 (docs/protocol.md §4)."""
        if self.pending_delay > 0:
            seconds, self.pending_delay = self.pending_delay, 0.0
            time.sleep(seconds)

    def json_object(self, what="Request body"):
        """The body as a JSON object, or a 400."""
        if not self.body:
            raise ApiError(400, "%s is missing." % what)
        try:
            value = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ApiError(400, "%s is not valid JSON." % what)
        if not isinstance(value, dict):
            raise ApiError(400, "%s must be a JSON object." % what)
        return value


class Response:
    def __init__(self, status, body=None, headers=None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.close = False

    def encode(self):
        """(default content type or None, body bytes)."""
        if self.body is None:
            return None, b""
        if isinstance(self.body, bytes):
            return "application/octet-stream", self.body
        if isinstance(self.body, str):
            return "text/plain; charset=utf-8", self.body.encode("utf-8")
        return "application/json", json.dumps(self.body, separators=(",", ":")).encode("utf-8")
