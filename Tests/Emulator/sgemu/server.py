"""HTTP/1.1 (keep-alive, Content-Length on every response, CRLF header lines) over TLS,
one thread per connection; dispatch to the endpoint handlers; fault application."""

import ipaddress
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import admin, auth, errors, routes
from .errors import MANAGEMENT, ApiError
from .messages import Request, Response

HANDSHAKE_TIMEOUT = 30
IDLE_TIMEOUT = 60
# A too-large body is read and discarded up to this size so the client still sees the 413;
# beyond it the connection is closed unread.
DRAIN_LIMIT = 64 * 1024 * 1024
POLL_INTERVAL = 0.05  # how fast the accept loop notices a shutdown (an outage beginning)


def _is_loopback(host):
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # 200 agents connect at once in the load test

    def __init__(self, address, app, ssl_context=None):
        self.app = app
        self.ssl_context = ssl_context
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self._outage_lock = threading.Lock()
        self._refusing = False
        self._closing = False

    # --- outage windows ----------------------------------------------------------------------

    def start_outage(self, seconds, mode):
        """Begin (or extend) an outage. "refuse" closes the listening socket before returning,
        so connecting fails with ECONNREFUSED, and opens it again on the same port when the
        outage ends. Open connections stay; their requests are reset (Handler._serve)."""
        self.app.outage.begin(seconds, mode)
        if mode != "refuse":
            return
        with self._outage_lock:
            if self._refusing:
                return
            self._refusing = True
            self.shutdown()  # the accept loop ends (within POLL_INTERVAL)
            self.socket.close()
        threading.Thread(target=self._reopen, name="outage", daemon=True).start()

    def _reopen(self):
        try:
            self.app.outage.wait_until_over()
            if self._closing:
                return
            self.socket = self._listen()
            threading.Thread(target=self.serve_forever, args=(POLL_INTERVAL,), name="accept",
                             daemon=True).start()
        finally:
            with self._outage_lock:
                self._refusing = False

    def _listen(self):
        sock = socket.socket(self.address_family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for _ in range(200):
            try:
                sock.bind(self.server_address)
                break
            except OSError:
                time.sleep(0.05)
        else:
            sock.bind(self.server_address)  # give up with the error
        sock.listen(self.request_queue_size)
        return sock

    def server_close(self):
        self._closing = True
        super().server_close()

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, so a slow client never
        # stalls the accept loop.
        conn = request
        if self.app.outage.active() and self.app.outage.mode == "close":
            # an outage that accepts and closes at once, before TLS (an overloaded balancer)
            try:
                request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            return
        # Without TCP_NODELAY, TLS 1.3 session tickets written after the handshake wait for the
        # client's delayed ACK: ~40 ms added to every new connection.
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if self.ssl_context is not None:
            request.settimeout(HANDSHAKE_TIMEOUT)
            try:
                conn = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            if conn is not request:
                self.shutdown_request(conn)

    def handle_error(self, request, client_address):
        # Clients that go away mid-request are normal; anything else is a bug worth showing.
        if isinstance(sys.exc_info()[1], OSError):
            return
        self.app.report_crash(traceback.format_exc())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "southgate-emulator"
    sys_version = ""
    timeout = IDLE_TIMEOUT

    def log_message(self, format, *args):
        pass  # quiet by default; --log writes one line per request (App.access)

    def do_GET(self):
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    # --- dispatch --------------------------------------------------------------------------

    def _serve(self):
        app = self.server.app
        started = time.time()
        split = urlsplit(self.path)
        path, query = split.path, parse_qs(split.query)
        if path == "/_admin" or path.startswith("/_admin/"):
            self._serve_admin(path, query)
            return
        entry = app.log.begin(self.command, self.path, self.headers, started)
        if app.outage.active():
            # a connection opened before the outage began: nothing gets through either
            app.log.finish(entry, 0, time.time(), False, "outage")
            self._abort(rst=True)
            return
        fault, throttle = app.faults.take(self.command, path, self._content_length())
        kind = fault.kind if fault is not None else None

        def logged(status, answered):
            # recorded before the answer goes out, so a client that got its answer finds it
            # in the log
            finished = time.time()
            app.log.finish(entry, status, finished, answered, kind)
            app.access("%s %s %s %d %.1fms%s" % (
                self.client_address[0], self.command, self.path, status,
                (finished - started) * 1000, " fault=" + kind if kind else ""))

        if kind in ("reset", "outage"):
            logged(0, False)
            if kind == "outage":
                self.server.start_outage(fault.seconds, fault.mode)
            self._abort(rst=True)
            return
        if kind == "reset_mid_body":
            length = self._content_length() or 0
            try:
                self._read_exactly(min(length, fault.bytes or length // 2), throttle)
            finally:
                logged(0, False)
                self._abort(rst=True)
            return
        try:
            response = self._respond(path, query, entry, fault, throttle)
        except BaseException:
            logged(0, False)  # the client went away mid-request
            raise
        app.log.set_response(entry, response.encode()[1])
        if kind == "commit_then_drop":
            logged(response.status, False)
            self._abort(rst=False)
            return
        logged(response.status, kind != "truncate")
        self._send(response, truncate=kind == "truncate")

    def _respond(self, path, query, entry, fault, throttle=None):
        """Read the body and produce the response (or the fault's)."""
        app = self.server.app
        route, params, allowed = routes.match(routes.ROUTES, self.command, path)
        family = routes.family_of(path)
        correlation = errors.correlation_id(self.headers)
        limit = route.body_limit if route else routes.DEFAULT_BODY_LIMIT
        if fault is not None and fault.kind == "max_body":
            limit = fault.bytes  # a proxy in front: it answers 413, the service never sees it
        try:
            body = self._read_body(limit, throttle)
        except ApiError as exc:
            if fault is not None and fault.kind == "max_body":
                exc.close = True  # a proxy ends the connection after its 413
                if fault.body is not None or fault.headers:
                    response = self._fault_response(fault, family, correlation, 413)
                    response.close = True
                    return response
            return self._error_response(family, exc, correlation)
        app.log.set_body(entry, body)
        if fault is not None and fault.kind == "status":
            return self._fault_response(fault, family, correlation)
        req = Request(app, self.command, path, query, self.headers, body,
                      self.client_address, correlation)
        if fault is not None and fault.kind == "delay":
            if route is not None and route.holds_delay:
                req.pending_delay = fault.seconds
            else:
                time.sleep(fault.seconds)
        response = self._call(route, params, allowed, req, family)
        req.apply_pending_delay()  # a request rejected before taking the lock is delayed too
        app.store.save_if_dirty()  # durable before the client hears of it
        return response

    def _serve_admin(self, path, query):
        app = self.server.app
        correlation = errors.correlation_id(self.headers)
        try:
            if not _is_loopback(self.client_address[0]):
                raise ApiError(403, "The admin API answers on loopback only.")
            route, params, allowed = routes.match(admin.ADMIN_ROUTES, self.command, path)
            body = self._read_body(route.body_limit if route else routes.DEFAULT_BODY_LIMIT)
            req = Request(app, self.command, path, query, self.headers, body,
                          self.client_address, correlation)
            auth.require_admin(req)
            response = self._call(route, params, allowed, req, MANAGEMENT)
            app.store.save_if_dirty()
        except ApiError as exc:
            response = self._error_response(MANAGEMENT, exc, correlation)
        self._send(response)

    def _call(self, route, params, allowed, req, family):
        try:
            if route is None:
                if allowed:
                    raise ApiError(405, "Request method '%s' is not supported." % req.method,
                                   headers={"Allow": ", ".join(allowed)})
                raise ApiError(404, "Resource not found.")
            return route.handler(req, **params)
        except ApiError as exc:
            return self._error_response(family, exc, req.correlation)
        except Exception:
            self.server.app.report_crash(traceback.format_exc())
            return self._error_response(family, ApiError(500, "Internal error."), req.correlation)

    # --- request body ----------------------------------------------------------------------

    def _content_length(self):
        try:
            value = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return None
        return value if value >= 0 else None

    def _read_exactly(self, length, throttle=None):
        """Read `length` bytes, at throttle.rate bytes/s when throttled."""
        if throttle is None:
            return self.rfile.read(length)
        rate, chunks, got = throttle.rate, [], 0
        started = time.monotonic()
        step = max(1, min(rate // 20, 1 << 16))  # about 20 reads a second
        while got < length:
            chunk = self.rfile.read(min(step, length - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
            wait = started + got / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        return b"".join(chunks)

    def _read_body(self, limit, throttle=None):
        if self.headers.get("Transfer-Encoding"):
            # every known client sends Content-Length (docs/protocol.md §13)
            raise ApiError(411, "Transfer-Encoding is not supported; send Content-Length.",
                           close=True)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            length = int(length)
            if length < 0:
                raise ValueError
        except ValueError:
            raise ApiError(400, "Invalid Content-Length header.", close=True)
        if length > limit:
            message = "Request body of %d bytes exceeds the limit of %d bytes." % (length, limit)
            if length <= DRAIN_LIMIT and self._discard(length):
                raise ApiError(413, message)
            raise ApiError(413, message, close=True)
        body = self._read_exactly(length, throttle)
        if len(body) != length:
            raise ConnectionError("client closed the connection mid-body")
        return body

    def _discard(self, length):
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 20))
            if not chunk:
                return False
            length -= len(chunk)
        return True

    # --- responses -------------------------------------------------------------------------

    @staticmethod
    def _error_response(family, exc, correlation):
        response = Response(exc.status,
                            errors.body_for(family, exc.status, exc.message, exc.code, correlation),
                            exc.headers)
        response.close = exc.close
        return response

    @staticmethod
    def _fault_response(fault, family, correlation, status=None):
        status = status or fault.status
        body = fault.body
        if body is None:
            body = errors.body_for(family, status, "Injected fault.", None, correlation)
        return Response(status, body, fault.headers)

    def _send(self, response, truncate=False):
        """Write status line, headers and body in one go. `truncate` declares the full
        Content-Length, sends half of the body and closes."""
        default_type, body = response.encode()
        headers = dict(response.headers)
        content_type = headers.pop("Content-Type", None) or default_type
        status = response.status
        bodiless = status in (204, 304) or status < 200
        declared, payload = len(body), body
        if truncate:
            if len(body) >= 2:
                payload = body[: len(body) // 2]
            else:
                declared = len(body) + 16
        close = truncate or response.close or self.close_connection
        reason = self.responses.get(status, ("Unknown",))[0]
        lines = ["HTTP/1.1 %d %s" % (status, reason),
                 # the server clock, like Server-Time: --clock-offset moves both
                 "Date: " + self.date_time_string(self.server.app.settings.now()),
                 "Server: " + self.server_version]
        if not bodiless:
            if content_type:
                lines.append("Content-Type: " + content_type)
            lines.append("Content-Length: %d" % declared)
        lines.extend("%s: %s" % (name, value) for name, value in headers.items())
        if close:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        if bodiless or getattr(self, "command", None) == "HEAD":
            payload = b""
        self.wfile.write(head + payload)
        if truncate:
            self._abort(rst=False)
        elif close:
            self.close_connection = True

    def _abort(self, rst):
        """Close without (more of) an answer: with a TCP RST (SO_LINGER 0) or a plain FIN."""
        self.close_connection = True
        conn = self.connection
        try:
            if rst:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.rfile.close()  # the reader holds a reference that would keep the fd open
        except OSError:
            pass
        conn.close()

    def send_error(self, code, message=None, explain=None):
        """Malformed requests caught by the base class get a management-family JSON body
        instead of its HTML page."""
        text = message or self.responses.get(code, ("Error",))[0]
        response = Response(code, errors.body_for(MANAGEMENT, code, text))
        response.close = True
        try:
            self._send(response)
        except OSError:
            self.close_connection = True
