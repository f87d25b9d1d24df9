"""Independent checks of what hubagent sent: JWS verification with Python's `cryptography`."""

import base64
import hashlib
import hmac
import json

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def b64url_decode(text):
    text = text.replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parts(token):
    header, payload, signature = token.split(".")
    return (json.loads(b64url_decode(header)), json.loads(b64url_decode(payload)),
            b64url_decode(signature), (header + "." + payload).encode())


def verifies_hs256(token, secret):
    header, _, signature, signing_input = parts(token)
    expected = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return header.get("alg") == "HS256" and hmac.compare_digest(expected, signature)


def verifies_rs256(token, public_pem):
    header, _, signature, signing_input = parts(token)
    if header.get("alg") != "RS256":
        return False
    key = serialization.load_pem_public_key(public_pem.encode())
    try:
        key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        return True
    except Exception:
        return False


def private_key_body(pem):
    """The base64 body of a PEM, without armour or line breaks: what a leak would contain."""
    return "".join(line for line in pem.splitlines() if line and not line.startswith("-----"))
