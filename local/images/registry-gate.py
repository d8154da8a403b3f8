"""The local registry's front door: a pull-only user next to the push user.

    python3 registry-gate.py LISTEN_ADDR BACKEND_SOCKET PUSH_USERNAME

Debian's docker-registry authenticates htpasswd users but gives every one of them every right, so
it listens on a unix socket in a directory only its owner can enter, and this gate listens on
LISTEN_ADDR and forwards to it. The registry still checks every password; the gate only decides
which requests may be forwarded: GET and HEAD from anyone (the registry refuses anonymous ones
itself), any other method only without credentials (the registry answers 401 so that a client
logs in) or as PUSH_USERNAME. Anything else, the pull-only user above all, gets 403 DENIED here.
That is an allow-list on purpose: an Authorization header this gate reads differently from the
registry (a lower-case scheme, bad base64, two headers) is refused, never forwarded for writing.

Bodies are streamed both ways with explicit framing (Content-Length or chunked), never buffered.
Standard library only: it runs on the host's python3.
"""
import base64
import binascii
import http.client
import http.server
import json
import socket
import sys

READ_ONLY = {"GET", "HEAD"}
# Hop-by-hop headers (RFC 9110 7.6.1) and the framing the gate sets itself.
HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "expect", "content-length"}
CHUNK = 256 * 1024
# A refused body larger than this is not read to its end: the connection is closed instead.
DRAIN_LIMIT = 16 * 1024 * 1024


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, socket_path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


def basic_username(values):
    """The user named by the only Authorization header, None without one, "" when unreadable."""
    if not values:
        return None
    if len(values) > 1:
        return ""
    scheme, _, token = values[0].strip().partition(" ")
    # Exactly "Basic": docker, containerd and kubelet send it so; other spellings are not guessed at.
    if scheme != "Basic":
        return ""
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    user, sep, _ = decoded.partition(":")
    return user if sep else ""


def may_forward(method, authorization_values, push_user):
    if method in READ_ONLY:
        return True
    user = basic_username(authorization_values)
    return user is None or user == push_user


class Gate(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "prod-mirror-registry-gate"
    backend = ""
    push_user = ""

    def log_message(self, fmt, *args):
        # Only refusals and failures: every pull would otherwise be a line.
        pass

    def _answer(self, status, code, message):
        body = json.dumps({"errors": [{"code": code, "message": message, "detail": None}]}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _drain(self):
        """Reads a refused request's body (up to DRAIN_LIMIT), so the client gets to read the refusal."""
        try:
            body, _ = self._request_body()
            read = 0
            for data in body or ():
                read += len(data)
                if read > DRAIN_LIMIT:
                    break
            else:
                return
        except (OSError, ValueError):
            pass
        self.close_connection = True

    def _request_body(self):
        """The request body as an iterator of bytes and the framing header to forward it with."""
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        length = self.headers.get("Content-Length")
        if chunked and length is not None:
            raise ValueError("both Transfer-Encoding and Content-Length")
        if chunked:
            return self._read_chunked(), {"Transfer-Encoding": "chunked"}
        if length is None:
            return None, {}
        if not length.isdigit():
            raise ValueError("bad Content-Length")
        return self._read_exactly(int(length)), {"Content-Length": length}

    def _read_exactly(self, n):
        while n > 0:
            data = self.rfile.read(min(CHUNK, n))
            if not data:
                raise ConnectionError("the client closed the body early")
            n -= len(data)
            yield data

    def _read_chunked(self):
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                    pass
                return
            yield from self._read_exactly(size)
            self.rfile.readline(8)

    def _forward(self):
        authorization = self.headers.get_all("Authorization") or []
        if not may_forward(self.command, authorization, self.push_user):
            print(f"refused {self.command} {self.path.split('?')[0]} for {basic_username(authorization)!r}: pull-only", file=sys.stderr, flush=True)
            self._drain()
            self._answer(403, "DENIED", "this user may only pull (GET, HEAD)")
            return
        try:
            body, framing = self._request_body()
        except ValueError as e:
            self.close_connection = True
            self._answer(400, "UNSUPPORTED", f"bad request framing: {e}")
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        headers.update(framing)
        conn = UnixConnection(self.backend, timeout=600)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in headers.items():
                conn.putheader(k, v)
            conn.endheaders()
            if body is not None:
                for data in body:
                    conn.send(b"%x\r\n%s\r\n" % (len(data), data) if "Transfer-Encoding" in framing else data)
                if "Transfer-Encoding" in framing:
                    conn.send(b"0\r\n\r\n")
            resp = conn.getresponse()
        except (OSError, ValueError) as e:
            # ValueError: a malformed chunk from the client, met while streaming it through.
            print(f"backend {self.backend}: {e}", file=sys.stderr, flush=True)
            self.close_connection = True
            self._answer(502, "UNAVAILABLE", "the registry behind the gate does not answer")
            conn.close()
            return
        try:
            self._relay(resp)
        finally:
            conn.close()

    def _relay(self, resp):
        # The registry's own Date and Server go through; send_response would add a second pair.
        self.send_response_only(resp.status, resp.reason)
        length = resp.getheader("Content-Length")
        no_body = self.command == "HEAD" or resp.status in (204, 304) or 100 <= resp.status < 200
        for k, v in resp.getheaders():
            if k.lower() not in HOP:
                self.send_header(k, v)
        if no_body:
            if length is not None:
                self.send_header("Content-Length", length)
            self.end_headers()
            return
        if length is not None:
            self.send_header("Content-Length", length)
            self.end_headers()
            while data := resp.read(CHUNK):
                self.wfile.write(data)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        while data := resp.read(CHUNK):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.write(b"0\r\n\r\n")

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = do_OPTIONS = _forward


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    addr, backend, push_user = argv
    host, _, port = addr.rpartition(":")
    Gate.backend = backend
    Gate.push_user = push_user
    server = http.server.ThreadingHTTPServer((host, int(port)), Gate)
    server.daemon_threads = True
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
