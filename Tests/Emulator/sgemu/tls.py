"""The emulator's own CA and RSA server certificate, and the server's TLS context.

Files in the TLS directory are reused when present, so a restart keeps the CA that clients
already trust. Only APIs present in cryptography 38 (Debian 12) are used.
"""

import datetime
import ipaddress
import os
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .files import write_atomic, write_private

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
SERVER_CERT = "server.pem"
SERVER_KEY = "server-key.pem"


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _load(path_cert, path_key):
    try:
        with open(path_cert, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(path_key, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        return cert, key
    except (OSError, ValueError):
        return None, None


def _not_after(cert):
    # not_valid_after_utc appeared in cryptography 42 (and deprecates the naive variant);
    # Debian 12 ships 38, which only has the naive-UTC not_valid_after.
    aware = getattr(cert, "not_valid_after_utc", None)
    if aware is not None:
        return aware
    return cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def _still_valid(cert):
    return _not_after(cert) > _now() + datetime.timedelta(days=1)


def _make_ca():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "southgate emulator CA")])
    now = _now()
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def _make_server(ca_cert, ca_key):
    """RSA key (TLS 1.2 clients offer RSA-authenticated suites only) with SANs
    DNS:localhost and IP:127.0.0.1, which MCL treats as different names (docs/protocol.md §13)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = _now()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=825))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=True, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def ensure_tls_files(tls_dir):
    """Create (or reuse) ca.pem, ca-key.pem, server.pem, server-key.pem in tls_dir.
    Returns (server cert path, server key path)."""
    os.makedirs(tls_dir, exist_ok=True)
    p = lambda name: os.path.join(tls_dir, name)
    ca_cert, ca_key = _load(p(CA_CERT), p(CA_KEY))
    if ca_cert is None or not _still_valid(ca_cert):
        ca_cert, ca_key = _make_ca()
        write_private(p(CA_KEY), _key_pem(ca_key))
        write_atomic(p(CA_CERT), ca_cert.public_bytes(serialization.Encoding.PEM))
        srv_cert = None
    else:
        srv_cert, _ = _load(p(SERVER_CERT), p(SERVER_KEY))
    if srv_cert is None or not _still_valid(srv_cert) or srv_cert.issuer != ca_cert.subject:
        srv_cert, srv_key = _make_server(ca_cert, ca_key)
        write_private(p(SERVER_KEY), _key_pem(srv_key))
        write_atomic(p(SERVER_CERT), srv_cert.public_bytes(serialization.Encoding.PEM))
    return p(SERVER_CERT), p(SERVER_KEY)


def server_context(cert_path, key_path):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2  # docs/protocol.md §1, §13
    ctx.load_cert_chain(cert_path, key_path)
    # curl offers "h2, http/1.1"; advertising h2 would switch MCL to HTTP/2 (docs/protocol.md §13)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx
