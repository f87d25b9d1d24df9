#!/usr/bin/env python3
"""Reference agent-side client for the Agent Management API, independent of the emulator's
code: http.client + cryptography, TLS verified against a CA file.

It onboards (SHARED_SECRET and RSA_3072), gets access tokens (HS256 / RS256 / RS384 / RS512
client assertions, MCL-style padded or unpadded), rotates credentials, and uses the data source
configuration and exchange endpoints. The emulator's tests drive it; it also runs a demo:

    python3 client.py --demo --boarding agent.json --ca TLS_DIR/ca.pem
    python3 client.py --create-agent SHARED_SECRET --base-url https://localhost:PORT \\
        --ca TLS_DIR/ca.pem --admin-token-file TLS_DIR/admin-token --out agent.json

The demo never prints a secret or token in full: only its first 6 characters.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import secrets
import ssl
import sys
import time
import uuid
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

AM = "/api/agentmanagement/v3"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLIENT_SCHEMA = "urn:siemens:mindsphere:v1"
RSA_HASHES = {"RS256": hashes.SHA256, "RS384": hashes.SHA384, "RS512": hashes.SHA512}


# --- encoding ------------------------------------------------------------------------------

def b64url(data, padded=False):
    """base64url; `padded` keeps the '=' padding as MCL does."""
    text = base64.urlsafe_b64encode(data).decode("ascii")
    return text if padded else text.rstrip("=")


def b64url_decode(text):
    text = text.rstrip("=").replace("+", "-").replace("/", "_")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact_json(obj):
    return json.dumps(obj, separators=(",", ":"))


def redact(text):
    """First 6 characters and an ellipsis: enough to tell values apart, never the secret."""
    return "-" if not text else str(text)[:6] + "…"


# --- keys and JWTs -------------------------------------------------------------------------

def generate_rsa_key(bits=3072):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def public_jwk(private_key, kid=None, padded=False):
    """The JWK MCL sends: member order e, n, kty, kid; `padded` adds '=' where the byte length
    calls for it."""
    numbers = private_key.public_key().public_numbers()

    def encode(value):
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"), padded)
    return {"e": encode(numbers.e), "n": encode(numbers.n), "kty": "RSA",
            "kid": kid or str(uuid.uuid4())}


def sign_jwt(header, claims, secret=None, private_key=None, padded=False):
    """Compact JWS over the segments exactly as they are written (padded or not)."""
    signing_input = (b64url(compact_json(header).encode(), padded) + "." +
                     b64url(compact_json(claims).encode(), padded))
    alg = header["alg"]
    if alg == "HS256":
        signature = hmac.new(secret.encode("utf-8"), signing_input.encode("ascii"),
                             hashlib.sha256).digest()
    else:
        signature = private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(),
                                     RSA_HASHES[alg]())
    return signing_input + "." + b64url(signature, padded)


def assertion_claims(client_id, tenant, now, lifetime=86400, aud="southgate"):
    """Claims in MCL's order: iss, sub, aud, iat, nbf, exp, schemas, ten, jti
    (docs/protocol.md §6.2)."""
    now = int(now)
    return {"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "nbf": now,
            "exp": now + lifetime, "schemas": [CLIENT_SCHEMA], "ten": tenant,
            "jti": str(uuid.uuid4())}


def token_form(assertion, encode=True):
    """The three form fields; encode=False writes them raw as MCL does (':' and '=' as is)."""
    fields = [("grant_type", "client_credentials"), ("client_assertion_type", ASSERTION_TYPE),
              ("client_assertion", assertion)]
    if encode:
        return "&".join("%s=%s" % (k, quote(v, safe="")) for k, v in fields)
    return "&".join("%s=%s" % kv for kv in fields)


def load_token_key(body):
    """The public key of a token_key response; `value` is a single-line PEM, so the line breaks
    are put back first, as the Node SDK does."""
    value = body["value"]
    value = value.replace("-----BEGIN PUBLIC KEY-----", "-----BEGIN PUBLIC KEY-----\n")
    value = value.replace("-----END PUBLIC KEY-----", "\n-----END PUBLIC KEY-----")
    return serialization.load_pem_public_key(value.encode("ascii"))


def verify_rs256(token, public_key):
    """Verify an RS256 JWT; returns (header, claims). Raises on a bad signature."""
    head, body, sig = token.split(".")
    public_key.verify(b64url_decode(sig), (head + "." + body).encode("ascii"),
                      padding.PKCS1v15(), hashes.SHA256())
    return json.loads(b64url_decode(head)), json.loads(b64url_decode(body))


def jwt_claims(token):
    """The claims of a JWT, not verified."""
    return json.loads(b64url_decode(token.split(".")[1]))


# --- exchange bodies (docs/protocol.md §14) -------------------------------------------------

META_TYPE = "application/vnd.siemens.mindsphere.meta+json"
_BOUNDARY_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def random_boundary():
    """20 random [0-9A-Za-z], as MCL makes them."""
    return "".join(secrets.choice(_BOUNDARY_CHARS) for _ in range(20))


def item(kind, payload, version="1.0", details=None, payload_type=None):
    """One exchange item: (meta JSON bytes, payload Content-Type, payload bytes). `payload` may
    be bytes or a JSON value."""
    meta = {"type": "item", "version": "1.0",
            "payload": {"type": kind, "version": version, "details": details or {}}}
    if not isinstance(payload, bytes):
        payload = compact_json(payload).encode("utf-8")
    default = "application/octet-stream" if kind == "file" else "application/json"
    return compact_json(meta).encode("utf-8"), payload_type or default, payload


def timeseries_item(configuration_id, entries):
    """entries: [{"timestamp", "values": [{"dataPointId", "value", "qualityCode"}]}]"""
    return item("standardTimeSeries", entries, details={"configurationId": configuration_id})


def event_item(event, version="1.0"):
    return item("businessEvent", [event], version=version)


def file_item(name, content, creation_date="2026-01-01T00:00:00.000Z", file_type=None):
    details = {"fileName": name, "creationDate": creation_date}
    if file_type is not None:
        details["fileType"] = file_type
    return item("file", content, details=details)


def dsc_item(config):
    return item("dataSourceConfiguration", config)


def mcl_body(items, boundary=None, sub_boundaries=None):
    """(Content-Type, body) in MCL's framing: CRLF, random boundaries, `;charset=utf-8`, the
    closing delimiter without a final CRLF."""
    boundary = boundary or random_boundary()
    out = b""
    for i, (meta, payload_type, payload) in enumerate(items):
        sub = (sub_boundaries[i] if sub_boundaries else random_boundary()).encode()
        out += (b"--" + boundary.encode() + b"\r\nContent-Type: multipart/related;boundary=" +
                sub + b"\r\n\r\n--" + sub + b"\r\nContent-Type: " + META_TYPE.encode() +
                b"\r\n\r\n" + meta + b"\r\n--" + sub + b"\r\nContent-Type: " +
                payload_type.encode() + b"\r\n\r\n" + payload + b"\r\n--" + sub + b"--\r\n")
    out += b"--" + boundary.encode() + b"--"
    return "multipart/mixed;boundary=%s;charset=utf-8" % boundary, out


def node_body(items):
    """(Content-Type, body) in the Node SDK's framing: LF lines, fixed boundaries, no space
    after `Content-Type:`, a CRLF before the closing inner boundary, a final LF."""
    out = b""
    for meta, payload_type, payload in items:
        # JSON payloads are followed by an empty line; file bytes are not (fileTemplateFooter)
        gap = b"" if payload_type == "application/octet-stream" else b"\n\n"
        out += (b"--mindspheremessage\nContent-Type:multipart/related;boundary=mindspherepart\n"
                b"\n--mindspherepart\nContent-Type:" + META_TYPE.encode() + b"\n\n" + meta +
                b"\n\n--mindspherepart\nContent-Type:" + payload_type.encode() + b"\n\n" +
                payload + gap + b"\r\n--mindspherepart--\n")
    out += b"--mindspheremessage--\n"
    return "multipart/mixed; boundary=mindspheremessage", out


def sample_event(event_id=None, severity=20, timestamp="2026-01-01T00:00:00.000Z"):
    return {"id": event_id or str(uuid.uuid4()), "timestamp": timestamp, "severity": severity,
            "description": "sample", "type": "MindSphereStandardEvent", "version": "1.0",
            "details": {}}


# --- HTTP ----------------------------------------------------------------------------------

class HttpResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<HttpResponse %d %r>" % (self.status, self.body[:200])


class Transport:
    """One origin. keep_alive=False opens a new connection per request, as MCL does."""

    def __init__(self, base_url, ca_file=None, keep_alive=False, timeout=30):
        parts = urlsplit(base_url)
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.keep_alive = keep_alive
        self.timeout = timeout
        self.context = None
        if self.scheme == "https":
            self.context = ssl.create_default_context(cafile=ca_file)
            self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._conn = None

    def _connect(self):
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, context=self.context,
                                               timeout=self.timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def request(self, method, target, body=None, headers=None):
        """target: a path, or an absolute URL of this origin (registration_client_uri)."""
        if target.startswith("http://") or target.startswith("https://"):
            parts = urlsplit(target)
            if (parts.scheme, parts.hostname, parts.port) != (self.scheme, self.host, self.port):
                raise ValueError("%s is not on %s://%s:%s" % (target, self.scheme, self.host,
                                                              self.port))
            target = parts.path + ("?" + parts.query if parts.query else "")
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = compact_json(body)
            headers.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode("utf-8")
        reused = self.keep_alive and self._conn is not None
        conn = self._conn if reused else self._connect()
        self._conn = None
        try:
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except (ConnectionError, ssl.SSLError, http.client.RemoteDisconnected) if reused else () :
            # A kept-alive connection the server has closed meanwhile: once more, on a new one
            # (what every HTTP client does; the request never reached the application).
            conn.close()
            conn = self._connect()
            try:
                conn.request(method, target, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except BaseException:
                conn.close()
                raise
        except BaseException:
            conn.close()
            raise
        if self.keep_alive and not resp.will_close:
            self._conn = conn
        else:
            conn.close()
        return HttpResponse(resp.status, resp.headers, data)

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# --- the agent -----------------------------------------------------------------------------

class Agent:
    """Agent-side state after a boarding config: what MCL or the Node SDK would keep."""

    def __init__(self, boarding, ca_file=None, transport=None):
        content = boarding["content"]
        self.boarding = boarding
        self.base_url = content["baseUrl"]
        self.iat = content["iat"]
        self.profile = content["clientCredentialProfile"][0]
        self.client_id = content["clientId"]
        self.tenant = content["tenant"]
        self.transport = transport or Transport(self.base_url, ca_file)
        self.identifier = None      # last ClientIdentifier received
        self.client_secret = None
        self.rat = None
        self.registration_uri = None
        self.expires_at = None
        self.private_key = None     # RSA_3072: the key registered last
        self.access_token = None
        self.server_time = None

    @property
    def is_rsa(self):
        return self.profile == "RSA_3072"

    def _keep(self, identifier, key):
        self.identifier = identifier
        self.rat = identifier["registration_access_token"]
        self.registration_uri = identifier["registration_client_uri"]
        self.expires_at = identifier.get("client_secret_expires_at")
        if self.is_rsa:
            self.private_key = key
        else:
            self.client_secret = identifier["client_secret"]

    def _key_body(self, key, padded, extra=None):
        body = dict(extra or {})
        if self.is_rsa:
            body["jwks"] = {"keys": [public_jwk(key, padded=padded)]}
        return body

    def onboard(self, key=None, padded_jwk=False, body=None, headers=None, iat=None):
        """POST /register with the IAT; RSA agents send a new 3072-bit key (or `key`)."""
        if self.is_rsa and key is None:
            key = generate_rsa_key()
        if body is None:
            body = self._key_body(key, padded_jwk)
        hdrs = {"Authorization": "Bearer " + (iat or self.iat), "Accept": "application/json",
                "Content-Type": "application/json", "Correlation-ID": uuid.uuid4().hex}
        hdrs.update(headers or {})
        resp = self.transport.request("POST", AM + "/register", body, hdrs)
        if resp.status == 201:
            self._keep(resp.json(), key)
        return resp

    def rotate(self, key=None, new_key=True, rat=None, body=None, headers=None):
        """PUT to registration_client_uri verbatim. RSA: a new key (MCL) unless new_key=False
        (the Node SDK re-sends the same one)."""
        if self.is_rsa and key is None:
            key = generate_rsa_key() if new_key else self.private_key
        if body is None:
            body = self._key_body(key, False, {"client_id": self.client_id})
        hdrs = {"Authorization": "Bearer " + (rat or self.rat), "Accept": "application/json",
                "Content-Type": "application/json", "Correlation-ID": uuid.uuid4().hex}
        hdrs.update(headers or {})
        resp = self.transport.request("PUT", self.registration_uri, body, hdrs)
        if resp.status == 200:
            self._keep(resp.json(), key)
        return resp

    def assertion(self, now=None, lifetime=86400, alg=None, aud="southgate", padded=False,
                  claims=None, drop=(), header=None, secret=None, key=None):
        """A client assertion; `claims` overrides, `drop` removes claims."""
        alg = alg or ("RS256" if self.is_rsa else "HS256")
        body = assertion_claims(self.client_id, self.tenant,
                                time.time() if now is None else now, lifetime, aud)
        body.update(claims or {})
        for name in drop:
            body.pop(name, None)
        return sign_jwt(header or {"typ": "JWT", "alg": alg}, body,
                        secret=secret or self.client_secret, private_key=key or self.private_key,
                        padded=padded)

    def token(self, assertion=None, encode=True, form=None, **assertion_args):
        """POST /oauth/token with the three form fields."""
        if form is None:
            form = token_form(assertion or self.assertion(**assertion_args), encode)
        resp = self.transport.request("POST", AM + "/oauth/token", form, {
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "*/*",
            "Correlation-ID": uuid.uuid4().hex})
        if resp.headers.get("Server-Time"):
            self.server_time = int(resp.headers["Server-Time"])
        if resp.status == 200:
            self.access_token = resp.json()["access_token"]
        return resp

    def _bearer(self, token=None):
        return {"Authorization": "Bearer " + (token or self.access_token),
                "Accept": "application/json"}

    def get_dsc(self, token=None, agent_id=None):
        return self.transport.request(
            "GET", "%s/agents/%s/dataSourceConfiguration" % (AM, agent_id or self.client_id),
            None, self._bearer(token))

    def put_dsc(self, config, if_match="0", token=None, agent_id=None):
        headers = self._bearer(token)
        if if_match is not None:
            headers["If-Match"] = str(if_match)
        return self.transport.request(
            "PUT", "%s/agents/%s/dataSourceConfiguration" % (AM, agent_id or self.client_id),
            config, headers)

    def exchange(self, payload=None, token=None, content_type=None, correlation_id=None,
                 items=None, framing="mcl"):
        """POST /exchange. Without a payload: `items` (default one businessEvent 2.0) framed as
        MCL (default) or Node does; a payload is sent as is, under `content_type`."""
        if payload is None:
            items = items or [event_item(sample_event(), "2.0")]
            content_type, payload = (mcl_body if framing == "mcl" else node_body)(items)
        headers = self._bearer(token)
        headers["Content-Type"] = content_type or "multipart/mixed;boundary=b;charset=utf-8"
        headers["Correlation-ID"] = correlation_id or uuid.uuid4().hex
        return self.transport.request("POST", "/api/mindconnect/v3/exchange", payload, headers)


# --- command line --------------------------------------------------------------------------

def _check(resp, status, what):
    if resp.status != status:
        raise SystemExit("%s failed: HTTP %d %s" % (what, resp.status,
                                                    resp.body.decode("utf-8", "replace")[:300]))
    return resp


def _when(epoch):
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(epoch)) if epoch else "-"


def _credential(agent):
    if agent.is_rsa:
        der = agent.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return "public key sha256:" + hashlib.sha256(der).hexdigest()[:12]
    return "client secret " + redact(agent.client_secret)


def demo(args):
    with open(args.boarding, encoding="utf-8") as f:
        boarding = json.load(f)
    if args.base_url:
        boarding["content"]["baseUrl"] = args.base_url.rstrip("/")
    agent = Agent(boarding, ca_file=args.ca)
    say = lambda text: print(text, flush=True)
    say("agent %s (%s) at %s" % (agent.client_id, agent.profile, agent.base_url))
    resp = _check(agent.onboard(), 201, "onboarding")
    say("onboarded: HTTP %d, %s, RAT %s, secret expires %s"
        % (resp.status, _credential(agent), redact(agent.rat), _when(agent.expires_at)))
    key_resp = _check(agent.transport.request("GET", AM + "/oauth/token_key"), 200, "token_key")
    token_key = load_token_key(key_resp.json())

    def get_token(label):
        resp = _check(agent.token(), 200, "token")
        header, claims = verify_rs256(agent.access_token, token_key)
        say("%s: HTTP %d, access token %s, expires in %s s, signature verified (kid %s), "
            "server time %s" % (label, resp.status, redact(agent.access_token),
                                resp.json()["expires_in"], header.get("kid"),
                                _when(agent.server_time)))
    get_token("token")
    for i in range(1, args.rotations + 1):
        resp = _check(agent.rotate(), 200, "rotation")
        say("rotated (%d/%d): HTTP %d, %s, RAT %s, secret expires %s"
            % (i, args.rotations, resp.status, _credential(agent), redact(agent.rat),
               _when(agent.expires_at)))
    get_token("token with the rotated credentials")
    resp = _check(agent.get_dsc(), 200, "data source configuration")
    say("data source configuration: HTTP %d, eTag %s" % (resp.status, resp.json().get("eTag")))
    say("done")


def create_agent(args):
    token = args.admin_token
    if args.admin_token_file:
        with open(args.admin_token_file, encoding="utf-8") as f:
            token = f.read().strip()
    if not args.base_url or not token:
        raise SystemExit("--create-agent needs --base-url and --admin-token(-file)")
    transport = Transport(args.base_url, args.ca)
    body = {"profile": args.create_agent, "name": args.name}
    if args.tenant:
        body["tenant"] = args.tenant
    resp = _check(transport.request("POST", "/_admin/agents", body,
                                    {"Authorization": "Bearer " + token}), 201, "create agent")
    text = json.dumps(resp.json()["boarding"], indent=2) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
        print("created agent %s (%s); boarding configuration in %s"
              % (resp.json()["id"], args.create_agent, args.out))
    else:
        sys.stdout.write(text)


def main(argv=None):
    p = argparse.ArgumentParser(description="Reference client for the southgate emulator.")
    p.add_argument("--base-url", help="emulator URL (default: baseUrl of the boarding file)")
    p.add_argument("--ca", help="CA file to trust (the emulator's ca.pem)")
    p.add_argument("--demo", action="store_true",
                   help="onboard, get a token, rotate, get a token again")
    p.add_argument("--boarding", metavar="FILE", help="boarding configuration JSON (--demo)")
    p.add_argument("--rotations", type=int, default=3, help="rotations in the demo (default 3)")
    p.add_argument("--create-agent", choices=("SHARED_SECRET", "RSA_3072"),
                   help="create an agent through the admin API and print its boarding JSON")
    p.add_argument("--name", default="demo-agent", help="agent name (--create-agent)")
    p.add_argument("--tenant", help="tenant (--create-agent)")
    p.add_argument("--admin-token")
    p.add_argument("--admin-token-file")
    p.add_argument("--out", metavar="FILE", help="write the boarding JSON here")
    args = p.parse_args(argv)
    if args.create_agent:
        create_agent(args)
    elif args.demo:
        if not args.boarding:
            p.error("--demo needs --boarding FILE")
        demo(args)
    else:
        p.print_help()
        return 64
    return 0


if __name__ == "__main__":
    sys.exit(main())
