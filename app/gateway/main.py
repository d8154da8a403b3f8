"""shop gateway: the one entry point e2e tests talk to; fronts the deals API and the receipts."""
import json
import os
import urllib.error
import urllib.request

from mirrorapp import require_env, serve

API_URL = require_env("API_URL").rstrip("/")
WORKER_URL = require_env("WORKER_URL").rstrip("/")


def forward(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def api_post(_handler, rest, body):
    return forward("POST", f"{API_URL}/{rest}", body)


def api_get(_handler, rest, _body):
    return forward("GET", f"{API_URL}/{rest}")


def receipts(_handler, rest, _body):
    return forward("GET", f"{WORKER_URL}/receipts/{rest}")


def healthz(_handler, _rest, _body):
    status, _ = forward("GET", f"{API_URL}/healthz")
    return (200, {"status": "ok"}) if status == 200 else (503, {"status": f"api answered {status}"})


if __name__ == "__main__":
    serve({("POST", "/api"): api_post, ("GET", "/api"): api_get, ("GET", "/receipts"): receipts,
           ("GET", "/healthz"): healthz}, int(os.environ.get("PORT", "8000")))
