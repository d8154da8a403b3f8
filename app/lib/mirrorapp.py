"""What the three sample services share: AWS clients that honour the mirror's endpoint, and a
tiny JSON HTTP server. Standard library plus boto3 only, so the images need nothing from PyPI."""
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3


def aws_client(service):
    # Debian's boto3 (1.26) predates AWS_ENDPOINT_URL support, so the endpoint the mirror wires in
    # (the in-namespace emulator, or unset for real AWS) is passed explicitly.
    kwargs = {"region_name": os.environ.get("AWS_REGION", "us-east-1")}
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    return boto3.client(service, **kwargs)


def require_env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"environment variable {name} is not set; the mirror's service description must wire it")
    return value


class JsonHandler(BaseHTTPRequestHandler):
    """Routes are (method, path prefix) -> fn(handler, rest_of_path, body) returning (status, object)."""

    routes = {}

    def _dispatch(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        for (route_method, prefix), fn in self.routes.items():
            if route_method == method and (self.path == prefix or self.path.startswith(prefix.rstrip("/") + "/")):
                try:
                    body = json.loads(raw) if raw else None
                    status, payload = fn(self, self.path[len(prefix):].lstrip("/"), body)
                except json.JSONDecodeError:
                    status, payload = 400, {"error": "request body is not JSON"}
                except Exception as err:  # the e2e test reads this text when a dependency is down
                    status, payload = 502, {"error": f"{type(err).__name__}: {err}"}
                return self.send_json(status, payload)
        self.send_json(404, {"error": f"no route for {method} {self.path}"})

    def send_json(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


def serve(routes, port):
    handler = type("Handler", (JsonHandler,), {"routes": routes})
    server = ThreadingHTTPServer(("0.0.0.0", port), handler)
    # PID 1 in its pod: without a handler SIGTERM is ignored and every rollout or namespace
    # deletion waits out the grace period.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"listening on :{port}", flush=True)
    server.serve_forever()


def start_daemon(fn):
    threading.Thread(target=fn, daemon=True).start()
