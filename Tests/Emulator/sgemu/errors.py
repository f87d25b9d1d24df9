"""The two error-body families of the Agent Management API (docs/protocol.md §1).

IAM family (/register, /register/{id}, /oauth/token):
    {"id": "<uuid>", "error": "<code>", "error_description": "[<correlation id>] <text>"}
Management family (everything else):
    {"id": "<uuid>", "message": "<text>"}
"""

import re
import uuid

IAM = "iam"
MANAGEMENT = "management"

_CORRELATION = re.compile(r"^[A-Za-z0-9-]{1,64}$")

# Default IAM error codes for statuses raised without an explicit code.
_IAM_CODES = {400: "invalid_request", 401: "token_validation_failed", 403: "forbidden",
              404: "not_found", 405: "method_not_allowed", 411: "invalid_request",
              413: "invalid_request", 429: "too_many_requests", 500: "server_error",
              502: "bad_gateway", 503: "service_unavailable", 504: "gateway_timeout"}


class ApiError(Exception):
    """An error reply. `code` is the IAM error code; management bodies ignore it."""

    def __init__(self, status, message, code=None, headers=None, close=False):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})
        self.close = close  # the connection cannot be reused (e.g. unread body)


def correlation_id(request_headers):
    """The caller's Correlation-ID when it looks like one (MCL sends 32 hex), else a new one;
    the real service writes it as 32 hex without dashes (docs/protocol.md §1, ISS-106)."""
    value = request_headers.get("Correlation-ID") if request_headers is not None else None
    if value and _CORRELATION.match(value.strip()):
        return value.strip()
    return uuid.uuid4().hex


def body_for(family, status, message, code=None, correlation=None):
    if family == IAM:
        return {"id": str(uuid.uuid4()),
                "error": code or _IAM_CODES.get(status, "error"),
                "error_description": "[%s] %s" % (correlation or uuid.uuid4().hex, message)}
    return {"id": str(uuid.uuid4()), "message": message}
