"""base64url, JWS (HS256 / RS256 / RS384 / RS512) and JWK helpers.

Verification works on the token text exactly as received: the signing input is everything
before the last '.', never a re-encoding (docs/protocol.md §6.2, §13: MCL keeps '=' padding and
its MAC covers the padded text).
"""

import base64
import binascii
import hashlib
import hmac
import json
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class JoseError(ValueError):
    """A token or key that cannot be decoded or does not verify."""


_B64_CHARS = re.compile(r"^[A-Za-z0-9_-]*$")

RSA_HASHES = {"RS256": hashes.SHA256, "RS384": hashes.SHA384, "RS512": hashes.SHA512}


def b64url_encode(data):
    """Unpadded base64url (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    """Tolerant decoder: '=' padding optional, standard-alphabet '+' and '/' accepted
    (MCL pads, the DOC-TOK sample uses '+' and '/'; docs/protocol.md §6.2)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise JoseError("not base64url")
    text = text.rstrip("=").replace("+", "-").replace("/", "_")
    if not _B64_CHARS.match(text) or len(text) % 4 == 1:
        raise JoseError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise JoseError("not base64url")


def int_to_b64url(value):
    length = max(1, (value.bit_length() + 7) // 8)
    return b64url_encode(value.to_bytes(length, "big"))


def b64url_to_int(text):
    data = b64url_decode(text)
    if not data:
        raise JoseError("empty integer")
    return int.from_bytes(data, "big")


def _json_segment(obj):
    return b64url_encode(json.dumps(obj, separators=(",", ":")).encode("utf-8"))


# --- parsing -------------------------------------------------------------------------------

class ParsedJWT:
    """A compact JWS split into its parts; nothing is verified yet."""

    def __init__(self, token):
        if not isinstance(token, str) or token.count(".") != 2:
            raise JoseError("a JWT has exactly three segments")
        head, body, sig = token.split(".")
        if not head or not body or not sig:
            raise JoseError("a JWT segment is empty")
        self.signing_input = token[: token.rindex(".")].encode("ascii", "replace")
        self.signature = b64url_decode(sig)
        self.header = _decode_json_object(head, "header")
        self.claims = _decode_json_object(body, "payload")
        alg = self.header.get("alg")
        if not isinstance(alg, str):
            raise JoseError("header has no alg")
        self.alg = alg

    def verify_hs256(self, secret_text):
        """HMAC key = the UTF-8 bytes of the client_secret string (docs/protocol.md §4)."""
        if self.alg != "HS256":
            raise JoseError("alg must be HS256")
        mac = hmac.new(secret_text.encode("utf-8"), self.signing_input, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, self.signature):
            raise JoseError("signature does not verify")

    def verify_rsa(self, public_key, allowed=("RS256", "RS384", "RS512")):
        if self.alg not in allowed:
            raise JoseError("alg must be one of " + ", ".join(allowed))
        try:
            public_key.verify(self.signature, self.signing_input, padding.PKCS1v15(),
                              RSA_HASHES[self.alg]())
        except InvalidSignature:
            raise JoseError("signature does not verify")


def _decode_json_object(segment, what):
    try:
        value = json.loads(b64url_decode(segment).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise JoseError(what + " is not base64url JSON")
    if not isinstance(value, dict):
        raise JoseError(what + " is not a JSON object")
    return value


# --- signing -------------------------------------------------------------------------------

def sign_rs256(private_key, claims, kid):
    """The emulator's own tokens: header order kid, alg, typ as in the real fixture
    (docs/protocol.md §6.4)."""
    header = {"kid": kid, "alg": "RS256", "typ": "JWT"}
    signing_input = _json_segment(header) + "." + _json_segment(claims)
    signature = private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url_encode(signature)


# --- keys ----------------------------------------------------------------------------------

def generate_rsa_key(bits=2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_key_to_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def private_key_from_pem(text):
    return serialization.load_pem_private_key(text.encode("ascii"), password=None)


def public_key_to_pem(public_key):
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def single_line_pem(public_key):
    """`-----BEGIN PUBLIC KEY-----MIIB…-----END PUBLIC KEY-----`: Node re-inserts the line
    breaks itself (docs/protocol.md §6.5)."""
    return "".join(public_key_to_pem(public_key).split("\n"))


def jwk_of(public_key, kid):
    numbers = public_key.public_numbers()
    return {"e": int_to_b64url(numbers.e), "n": int_to_b64url(numbers.n), "kty": "RSA", "kid": kid}


def public_key_from_jwk(jwk):
    """RSA public key from a JWK with e and n (padded or unpadded base64url)."""
    try:
        n = b64url_to_int(jwk["n"])
        e = b64url_to_int(jwk["e"])
        return rsa.RSAPublicNumbers(e, n).public_key()
    except (KeyError, TypeError, ValueError) as exc:
        raise JoseError("not an RSA JWK: %s" % exc)


def fingerprint(public_key):
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()
