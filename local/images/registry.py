"""Questions to the local registry that the docker CLI cannot answer without pulling, over its HTTP API.

    python3 registry.py CREDENTIALS_ENV ADDR probe
        exit 0 when GET /v2/ answers 401 without credentials and 200 with them
    python3 registry.py CREDENTIALS_ENV ADDR has REPO TAG [LABEL=VALUE]
        exit 0 when REPO:TAG is in the registry (and its image config carries that label)

Credentials are read from the env file (REGISTRY_USERNAME=..., REGISTRY_PASSWORD=...), never from
the command line. Standard library only: it runs on the host's python3 before anything is installed.
"""
import base64
import json
import sys
import urllib.error
import urllib.request

MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
])


def read_credentials(path):
    values = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, sep, value = line.strip().partition("=")
            if sep:
                values[key] = value
    return values["REGISTRY_USERNAME"], values["REGISTRY_PASSWORD"]


def get(url, auth=None, accept=None):
    """Returns (status, body bytes); HTTP errors are answers here, not exceptions."""
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    if accept:
        req.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def probe(addr, auth):
    anon, _ = get(f"http://{addr}/v2/")
    authed, _ = get(f"http://{addr}/v2/", auth)
    if anon == 401 and authed == 200:
        return 0
    print(f"GET /v2/ answered {anon} without credentials and {authed} with them (want 401 and 200)", file=sys.stderr)
    return 1


def has(addr, auth, repo, tag, label=None):
    status, body = get(f"http://{addr}/v2/{repo}/manifests/{tag}", auth, MANIFEST_TYPES)
    if status != 200:
        return 1
    if not label:
        return 0
    key, _, want = label.partition("=")
    digest = json.loads(body)["config"]["digest"]
    status, body = get(f"http://{addr}/v2/{repo}/blobs/{digest}", auth)
    if status != 200:
        return 1
    labels = (json.loads(body).get("config") or {}).get("Labels") or {}
    return 0 if labels.get(key) == want else 1


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    auth = read_credentials(argv[0])
    addr, cmd, rest = argv[1], argv[2], argv[3:]
    try:
        if cmd == "probe":
            return probe(addr, auth)
        if cmd == "has" and len(rest) in (2, 3):
            return has(addr, auth, *rest)
    except (OSError, ValueError, KeyError) as e:
        print(f"registry at {addr}: {e}", file=sys.stderr)
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
