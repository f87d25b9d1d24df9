"""The emulator process: start-up files, TLS, command-line flags, SIGTERM, persistence."""

import ipaddress
import json
import os
import re
import socket
import ssl
import stat
import time

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

import client as sgclient
import expect
from harness import Emulator


def test_start_writes_port_and_admin_token_files_and_sigterm_exits_0(spawn):
    # GIVEN no --admin-token WHEN started THEN a random token is printed and written 0600 to
    # the TLS dir, the port file holds the port; SIGTERM THEN exit status 0
    emu = spawn(admin_token=None)
    path = os.path.join(emu.tls_dir, "admin-token")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "admin token: %s" % emu.admin_token in emu.stderr()
    assert len(emu.admin_token) >= 20
    assert emu.admin("GET", "/_admin/agents").status == 200
    with open(emu.port_file) as f:
        assert f.read() == "%d\n" % emu.port
    assert emu.stop() == 0
    assert "stopped (SIGTERM)" in emu.stderr()


def test_server_certificate_and_tls_settings(spawn):
    # GIVEN the generated TLS dir THEN an RSA-2048 server certificate with SANs DNS:localhost and
    # IP:127.0.0.1, signed by ca.pem; ALPN picks http/1.1 even when h2 is offered; both names
    # verify; the CA key is private
    emu = spawn()
    with open(os.path.join(emu.tls_dir, "server.pem"), "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    with open(emu.ca, "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    assert cert.issuer == ca.subject
    for name in ("ca-key.pem", "server-key.pem"):
        assert stat.S_IMODE(os.stat(os.path.join(emu.tls_dir, name)).st_mode) == 0o600
    for host in ("localhost", "127.0.0.1"):
        context = ssl.create_default_context(cafile=emu.ca)
        context.set_alpn_protocols(["h2", "http/1.1"])
        with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as sock:
            with context.wrap_socket(sock, server_hostname=host) as tls:
                assert tls.selected_alpn_protocol() == "http/1.1"
                assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_restart_reuses_the_ca(spawn):
    # GIVEN a TLS dir from a previous run WHEN the emulator starts again THEN the same CA and
    # server certificate, so clients keep trusting it
    first = spawn(name="first")
    with open(first.ca, "rb") as f:
        ca = f.read()
    assert first.stop() == 0
    second = spawn(name="second", tls_dir=first.tls_dir)
    with open(second.ca, "rb") as f:
        assert f.read() == ca
    assert second.get("/api/agentmanagement/v3/oauth/token_key").status == 200


def test_state_survives_a_restart(spawn, tmp_path, keys):
    # GIVEN --state and agents of both profiles that onboarded, rotated, stored a DSC and hold
    # tokens WHEN the emulator is stopped and started again on the same port
    # THEN the same agents work: old access tokens, tokens from the current credentials,
    # rotation with the current RAT; consumed IATs stay consumed
    state = tmp_path / "state.json"
    first = spawn(name="first", state=state)
    shared = first.onboarded("SHARED_SECRET")
    rsa_agent = first.onboarded("RSA_3072", key=keys[0])
    assert shared.rotate().status == 200
    assert rsa_agent.rotate(key=keys[1]).status == 200
    assert shared.token().status == 200 and rsa_agent.token().status == 200
    assert shared.put_dsc({"configurationId": "c1", "dataSources": []}).status == 200
    assert first.stop() == 0
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o600

    second = spawn(name="second", state=state, tls_dir=first.tls_dir, port=first.port,
                   admin_token=first.admin_token)
    assert second.base_url == first.base_url
    assert shared.get_dsc().json()["eTag"] == "1"           # old access token, same key
    assert rsa_agent.get_dsc().status == 404  # the token works; nothing configured yet
    assert shared.token().status == 200 and rsa_agent.token().status == 200
    assert shared.rotate().status == 200 and rsa_agent.rotate(key=keys[2]).status == 200
    assert shared.token().status == 200 and rsa_agent.token().status == 200
    expect.iam_error(sgclient.Agent(shared.boarding, ca_file=second.ca).onboard(), 401,
                     "token_validation_failed")
    assert second.state(shared.client_id)["rotation_count"] == 2


def test_state_is_written_after_each_change(spawn, tmp_path):
    # GIVEN --state WHEN an agent onboards THEN the file already shows it, before any stop
    state = tmp_path / "state.json"
    emu = spawn(state=state)
    agent = emu.onboarded()
    with open(state) as f:
        saved = json.load(f)
    [record] = [a for a in saved["agents"] if a["id"] == agent.client_id]
    assert record["status"] == "ONBOARDED" and record["client_secret"] == agent.client_secret


def test_corrupt_state_stops_the_start(tmp_path):
    state = tmp_path / "state.json"
    state.write_text("{broken")
    emu = Emulator(tmp_path / "emu", state=state)
    try:
        emu.start()
    except RuntimeError as exc:
        assert "cannot load state" in str(exc)
        assert emu.proc.returncode == 1
    else:
        emu.stop()
        raise AssertionError("started with a corrupt state file")


def test_plain_http_mode(spawn):
    # GIVEN --http WHEN an agent onboards THEN it works and the URLs handed out are http://
    emu = spawn(http=True)
    agent = emu.onboarded()
    assert agent.base_url == "http://localhost:%d" % emu.port
    assert agent.registration_uri.startswith("http://localhost:%d/" % emu.port)
    assert agent.rotate().status == 200 and agent.token().status == 200


def test_lifetime_and_clock_flags(spawn):
    # GIVEN --clock-offset 5000 --secret-lifetime 20 --token-lifetime 5 WHEN an agent onboards
    # and gets a token THEN Server-Time is 5000 s ahead, the secret expires 20 s after the
    # server's now and the token after 5 s
    emu = spawn("--clock-offset", "5000", "--secret-lifetime", "20", "--token-lifetime", "5")
    agent = emu.onboarded()
    resp = agent.token(now=time.time() + 5000)
    assert resp.status == 200
    server_time = int(resp.headers["Server-Time"])
    assert abs(server_time - (time.time() + 5000)) < 5
    assert abs(agent.expires_at - (server_time + 20)) <= 2
    assert resp.json()["expires_in"] == 5


def test_public_url_flag(spawn):
    # GIVEN --public-url WHEN a boarding config and a registration are made THEN both use it
    emu = spawn("--public-url", "https://southgate.example.test:8443/")
    _, boarding = emu.create_agent()
    assert boarding["content"]["baseUrl"] == "https://southgate.example.test:8443"
    agent = sgclient.Agent(boarding, ca_file=emu.ca, transport=emu.transport())
    assert agent.onboard().status == 201
    assert agent.registration_uri == ("https://southgate.example.test:8443/api/agentmanagement/"
                                      "v3/register/" + agent.client_id)


def test_log_flag_writes_one_line_per_request(spawn, tmp_path):
    log = tmp_path / "access.log"
    emu = spawn("--log", str(log))
    emu.get("/api/agentmanagement/v3/oauth/token_key")
    assert emu.stop() == 0
    assert re.search(r"GET /api/agentmanagement/v3/oauth/token_key 200 ", log.read_text())
