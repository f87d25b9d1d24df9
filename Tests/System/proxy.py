"""A small HTTP CONNECT proxy for the system tests: it records every CONNECT (target, the
Proxy-Authorization it carried, the status it got) and tunnels the bytes, TLS untouched.

    proxy = ConnectProxy(credentials=("user", "pass")).start()   # credentials=None: no auth
    ... hubagent.conf: proxy = http://user:pass@127.0.0.1:<proxy.port>
    assert proxy.targets() == ["localhost:8443", ...]
    proxy.stop()

With credentials it answers 407 (`Proxy-Authenticate: Basic`, connection kept open) to a CONNECT
without the right `Proxy-Authorization: Basic …`, as corporate proxies do. Anything but CONNECT
gets 405."""

import base64
import select
import socket
import socketserver
import threading

HEAD_LIMIT = 64 * 1024


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        proxy = self.server.proxy
        client = self.request
        client.settimeout(30)
        buffered = b""
        while True:                      # several requests on one connection (after a 407)
            head, buffered = _read_head(client, buffered)
            if head is None:
                return
            lines = head.decode("iso-8859-1").split("\r\n")
            try:
                method, target, _ = lines[0].split(" ", 2)
            except ValueError:
                client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            record = {"method": method, "target": target,
                      "proxy_authorization": headers.get("proxy-authorization"), "status": None}
            with proxy.lock:
                proxy.records.append(record)
            if method != "CONNECT":
                record["status"] = 405
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            if proxy.expected_authorization and record["proxy_authorization"] != proxy.expected_authorization:
                record["status"] = 407
                client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                               b"Proxy-Authenticate: Basic realm=\"test proxy\"\r\n"
                               b"Content-Length: 0\r\n\r\n")
                continue
            host, _, port = target.rpartition(":")
            try:
                upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
            except (OSError, ValueError):
                record["status"] = 502
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            record["status"] = 200
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if buffered:
                upstream.sendall(buffered)
            _relay(client, upstream)
            return


def _read_head(sock, buffered):
    """(request head without the final CRLFCRLF, bytes after it), or (None, b"") at EOF."""
    while b"\r\n\r\n" not in buffered:
        if len(buffered) > HEAD_LIMIT:
            return None, b""
        try:
            chunk = sock.recv(4096)
        except OSError:
            return None, b""
        if not chunk:
            return None, b""
        buffered += chunk
    head, rest = buffered.split(b"\r\n\r\n", 1)
    return head, rest


def _relay(a, b):
    sockets = [a, b]
    try:
        while True:
            readable, _, _ = select.select(sockets, [], [], 60)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (b if sock is a else a).sendall(data)
    except OSError:
        return
    finally:
        b.close()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ConnectProxy:
    def __init__(self, credentials=None, host="127.0.0.1"):
        self.host = host
        self.credentials = credentials
        self.expected_authorization = None
        if credentials:
            token = base64.b64encode(("%s:%s" % credentials).encode()).decode()
            self.expected_authorization = "Basic " + token
        self.records = []
        self.lock = threading.Lock()
        self._server = None
        self._thread = None
        self.port = None

    def start(self):
        self._server = _Server((self.host, 0), _Handler)
        self._server.proxy = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self):
        if self.credentials:
            return "http://%s:%s@%s:%d" % (self.credentials[0], self.credentials[1], self.host, self.port)
        return "http://%s:%d" % (self.host, self.port)

    def connects(self):
        with self.lock:
            return [dict(r) for r in self.records]

    def targets(self, status=200):
        """The CONNECT targets that were tunnelled (status 200), in order."""
        return [r["target"] for r in self.connects() if r["method"] == "CONNECT" and r["status"] == status]
