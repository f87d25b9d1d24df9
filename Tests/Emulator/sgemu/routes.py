"""Which handler serves which method + path, with its error family and body limit."""

import re

from . import boarding, diagnostics, dsc, mindconnect, register, token
from .errors import IAM, MANAGEMENT

AM = "/api/agentmanagement/v3"
MC = "/api/mindconnect/v3"
DEFAULT_BODY_LIMIT = 1024 * 1024


class Route:
    def __init__(self, method, pattern, handler, family=MANAGEMENT,
                 body_limit=DEFAULT_BODY_LIMIT, holds_delay=False):
        self.method = method
        self.regex = re.compile("^" + pattern + "$")
        self.handler = handler
        self.family = family
        self.body_limit = body_limit
        # the handler applies a `delay` fault itself (inside the registration lock)
        self.holds_delay = holds_delay


_ID = "(?P<agent_id>[^/]+)"
_OTHER = "(?P<activation_id>[^/]+)"

ROUTES = [
    Route("POST", AM + "/register", register.onboard, IAM, holds_delay=True),
    Route("PUT", AM + "/register/" + _ID, register.rotate, IAM, holds_delay=True),
    Route("POST", AM + "/oauth/token", token.issue, IAM),
    Route("GET", AM + "/oauth/token_key", token.token_key, IAM),
    Route("GET", AM + "/oauth/token_keys", token.token_keys, IAM),
    Route("GET", AM + "/agents/" + _ID + "/dataSourceConfiguration", dsc.get),
    Route("PUT", AM + "/agents/" + _ID + "/dataSourceConfiguration", dsc.put),
    Route("GET", AM + "/agents/" + _ID + "/boarding/status", boarding.get_status),
    Route("POST", AM + "/agents/" + _ID + "/boarding/offboard", boarding.offboard),
    Route("GET", AM + "/agents/" + _ID + "/boarding/configuration", boarding.get_configuration),
    Route("POST", MC + "/exchange", mindconnect.exchange,
          body_limit=mindconnect.MAX_EXCHANGE_BYTES),
    Route("POST", MC + "/dataPointMappings", mindconnect.create_mapping),
    Route("GET", MC + "/dataPointMappings", mindconnect.list_mappings),
    Route("POST", MC + "/diagnosticActivations", diagnostics.create_activation),
    Route("GET", MC + "/diagnosticActivations", diagnostics.list_activations),
    Route("GET", MC + "/diagnosticActivations/" + _OTHER, diagnostics.get_activation),
    Route("PUT", MC + "/diagnosticActivations/" + _OTHER, diagnostics.update_activation),
    Route("DELETE", MC + "/diagnosticActivations/" + _OTHER, diagnostics.delete_activation),
    Route("GET", MC + "/diagnosticActivations/" + _OTHER + "/messages",
          diagnostics.activation_messages),
    Route("GET", MC + "/recoverableRecords", diagnostics.list_recoverable),
    Route("DELETE", MC + "/recoverableRecords/(?P<record_id>[^/]+)",
          diagnostics.delete_recoverable),
]


def match(routes, method, path):
    """(route, path parameters, methods allowed on this path)."""
    allowed = []
    for route in routes:
        m = route.regex.match(path)
        if m:
            if route.method == method:
                return route, m.groupdict(), allowed
            allowed.append(route.method)
    return None, {}, allowed


def family_of(path):
    """IAM bodies on /register and /oauth (docs/protocol.md §1), management bodies elsewhere."""
    if path.startswith(AM + "/register") or path.startswith(AM + "/oauth/"):
        return IAM
    return MANAGEMENT
