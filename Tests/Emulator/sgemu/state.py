"""Settings, agents and their credentials, and persistence of all of it.

One re-entrant lock (`Store.lock`) guards every agent; handlers hold it only while they read
or change state. Registration and rotation additionally take a per-agent, non-blocking lock so
that a second concurrent registration is refused with 429 (docs/protocol.md §4).
"""

import json
import os
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from typing import Optional

from . import jose
from .files import write_private

SHARED_SECRET = "SHARED_SECRET"
RSA_3072 = "RSA_3072"
PROFILES = (SHARED_SECRET, RSA_3072)

NOT_ONBOARDED = "NOT_ONBOARDED"
ONBOARDING = "ONBOARDING"
ONBOARDED = "ONBOARDED"

STATE_FORMAT = 1


class SettingsError(ValueError):
    pass


_NUMBER = (int, float)

# name -> (default, type check, description of the accepted values)
_SETTINGS = {
    "secret_lifetime": (604800, lambda v: isinstance(v, int) and v > 0, "a positive integer"),
    "token_lifetime": (3600, lambda v: isinstance(v, int) and v > 0, "a positive integer"),
    "iat_lifetime": (604800, lambda v: isinstance(v, int), "an integer"),  # IAT: 7 days, §2
    "clock_offset": (0, lambda v: isinstance(v, _NUMBER), "a number"),
    "clock_tolerance": (300, lambda v: isinstance(v, _NUMBER) and v >= 0, "a number >= 0"),
    "accept_previous_secret": (False, lambda v: isinstance(v, bool), "a boolean"),
    "accept_any_grant_type": (False, lambda v: isinstance(v, bool), "a boolean"),
    # the contested rules (docs/protocol.md §7, §5.1) and the time series overwrite rule (§14)
    "dsc_unconfigured": ("404", lambda v: v in ("404", "empty"), "404 or empty"),
    "rotation_after_expiry": ("refuse", lambda v: v in ("accept", "refuse"), "accept or refuse"),
    "whole_record": (False, lambda v: isinstance(v, bool), "a boolean"),
}


class Settings:
    """Runtime knobs; changed by command-line flags and POST /_admin/settings."""

    def __init__(self, **values):
        self._lock = threading.Lock()
        self._values = {name: spec[0] for name, spec in _SETTINGS.items()}
        self.update(values)

    def update(self, values):
        for name, value in values.items():
            spec = _SETTINGS.get(name)
            if spec is None:
                raise SettingsError("unknown setting %r" % name)
            numeric = not isinstance(spec[0], bool)
            if (numeric and isinstance(value, bool)) or not spec[1](value):  # True is an int
                raise SettingsError("%s must be %s" % (name, spec[2]))
        with self._lock:
            self._values.update(values)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name)

    def as_dict(self):
        with self._lock:
            return dict(self._values)

    def now(self):
        """The server clock: real time + clock offset (for clock-skew tests)."""
        return time.time() + self._values["clock_offset"]


@dataclass
class Agent:
    id: str
    name: str
    profile: str
    tenant: str
    status: str = NOT_ONBOARDED
    # the boarding configuration currently handed out
    iat: Optional[str] = None
    iat_jti: Optional[str] = None
    iat_exp: Optional[int] = None
    # credentials (current, the one before the last rotation, and every one ever issued)
    client_secret: Optional[str] = None
    previous_secret: Optional[str] = None
    secret_history: list = field(default_factory=list)
    public_key: Optional[dict] = None  # JWK
    previous_key: Optional[dict] = None
    key_history: list = field(default_factory=list)  # PEM strings
    secret_expires_at: Optional[int] = None
    # current RAT, and the RAT used for the last successful rotation (docs/protocol.md §5.2)
    rat: Optional[str] = None
    rat_previous: Optional[str] = None
    access_jtis: dict = field(default_factory=dict)  # jti -> exp of access tokens still honoured
    # data source configuration (docs/protocol.md §7)
    dsc: Optional[dict] = None
    dsc_etag: int = 0
    dsc_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    mappings: list = field(default_factory=list)
    # counters for tests
    onboard_count: int = 0
    rotation_count: int = 0
    token_count: int = 0
    exchange_count: int = 0
    exchange_bytes: int = 0

    def drop_credentials(self):
        """Offboarding: nothing issued before still works (docs/protocol.md §8)."""
        self.client_secret = self.previous_secret = None
        self.public_key = self.previous_key = None
        self.secret_expires_at = None
        self.rat = self.rat_previous = None
        self.access_jtis = {}

    def public_view(self):
        """Everything, for tests (the admin API is a test tool: secrets are shown on purpose)."""
        view = asdict(self)
        view["client_secret_expires_at"] = view.pop("secret_expires_at")
        view["public_keys"] = view.pop("key_history")
        view["client_secrets"] = view.pop("secret_history")
        view["eTag"] = str(view.pop("dsc_etag"))
        view["dataSourceConfiguration"] = view.pop("dsc")
        view["access_tokens_honoured"] = len(view.pop("access_jtis"))
        return view


_AGENT_FIELDS = {f.name for f in fields(Agent)}


class Store:
    def __init__(self, settings, state_path=None):
        self.settings = settings
        self.state_path = state_path
        self.lock = threading.RLock()
        self.agents = {}
        self.consumed_iats = set()
        self.signing_key = None
        self.kid = None
        self._dirty = False
        self._save_lock = threading.Lock()
        self._registration_locks = {}

    # --- signing key ---------------------------------------------------------------------

    def ensure_signing_key(self):
        if self.signing_key is None:
            self.signing_key = jose.generate_rsa_key(2048)
            self.kid = "key-" + jose.fingerprint(self.signing_key.public_key())[:16]
            self._dirty = True

    # --- agents ---------------------------------------------------------------------------

    def get(self, agent_id):
        return self.agents.get(agent_id)

    def registration_lock(self, agent_id):
        with self.lock:
            lock = self._registration_locks.get(agent_id)
            if lock is None:
                lock = self._registration_locks[agent_id] = threading.Lock()
            return lock

    def mark_dirty(self):
        self._dirty = True

    # --- persistence ----------------------------------------------------------------------

    def load(self):
        """Read --state FILE if it exists. Raises ValueError on a corrupt file."""
        if not self.state_path or not os.path.exists(self.state_path):
            return False
        with open(self.state_path, "r", encoding="utf-8") as f:
            data = json.load(f)
        if data.get("format") != STATE_FORMAT:
            raise ValueError("unknown state format %r" % data.get("format"))
        self.signing_key = jose.private_key_from_pem(data["signing_key"])
        self.kid = data["kid"]
        self.consumed_iats = set(data.get("consumed_iats", []))
        self.agents = {}
        for raw in data.get("agents", []):
            agent = Agent(**{k: v for k, v in raw.items() if k in _AGENT_FIELDS})
            self.agents[agent.id] = agent
        self._dirty = False
        return True

    def save_if_dirty(self):
        if not self.state_path or not self._dirty:
            return
        with self._save_lock:
            with self.lock:
                if not self._dirty:
                    return
                text = json.dumps({
                    "format": STATE_FORMAT,
                    "signing_key": jose.private_key_to_pem(self.signing_key),
                    "kid": self.kid,
                    "consumed_iats": sorted(self.consumed_iats),
                    "agents": [asdict(a) for a in self.agents.values()],
                }, indent=1)
                self._dirty = False
            write_private(self.state_path, text)
