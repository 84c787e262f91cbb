"""A loopback GitHub: the REST endpoints `iacfix pr` calls through PyGithub, served on 127.0.0.1.

Pull requests live in memory; tests close or merge them as a user would, make endpoints fail on
demand (status, body, headers), and read every request that was made. Like GitHub, it checks the
token, refuses a pull request from a branch the remote does not have, and refuses a second open
pull request from the same branch.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes
    time: float

    def json(self):
        return json.loads(self.body) if self.body else None


@dataclass
class Fault:
    method: str
    path: re.Pattern
    status: int
    body: dict
    headers: dict[str, str]
    times: int


@dataclass
class FakeGitHub:
    token: str
    remote: Path  # the bare repository pushes go to: a pull request's head must exist there
    owner: str = "acme"
    name: str = "infra"
    pulls: dict[int, dict] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake._handle(self)

            do_POST = do_PATCH = do_GET

            def log_message(self, *args):  # keep test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- what tests do -----------------------------------------------------------------------

    def fail(self, method: str, path: str, status: int, message: str, headers: dict | None = None,
             times: int = 1) -> None:
        """Answer the next `times` requests matching `method` and the `path` regex with an error."""
        self.faults.append(Fault(method, re.compile(path), status, {"message": message}, headers or {}, times))

    def close(self, number: int, *, merged: bool = False) -> None:
        with self._lock:
            self.pulls[number]["state"] = "closed"
            self.pulls[number]["merged"] = merged
            self.pulls[number]["merged_at"] = "2026-01-01T00:00:00Z" if merged else None

    def open_pulls(self) -> list[dict]:
        return [p for p in self.pulls.values() if p["state"] == "open"]

    def sent(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and re.fullmatch(path, urlsplit(r.path).path)]

    # -- the server --------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = Request(handler.command, handler.path, dict(handler.headers.items()), body, time.time())
        with self._lock:
            self.requests.append(request)
            status, payload, headers = self._route(request)
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        defaults = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999",
                    "X-RateLimit-Reset": str(int(time.time()) + 3600)}
        for key, value in {**defaults, **headers}.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _route(self, request: Request) -> tuple[int, object, dict]:
        path = urlsplit(request.path).path
        for fault in self.faults:
            if fault.times and fault.method == request.method and fault.path.fullmatch(path):
                fault.times -= 1
                return fault.status, fault.body, fault.headers
        if request.headers.get("Authorization") != f"token {self.token}":
            return 401, {"message": "Bad credentials"}, {}
        repo = f"/repos/{self.owner}/{self.name}"
        if not path.startswith(repo):
            return 404, {"message": "Not Found"}, {}
        rest = path[len(repo):]
        query = parse_qs(urlsplit(request.path).query)
        if request.method == "GET" and rest == "":
            return 200, self._repo_json(), {}
        if request.method == "GET" and rest == "/pulls":
            return 200, self._list(query), {}
        if request.method == "POST" and rest == "/pulls":
            return self._create(request.json())
        match = re.fullmatch(r"/pulls/(\d+)", rest)
        if match and int(match[1]) in self.pulls:
            pull = self.pulls[int(match[1])]
            if request.method == "PATCH":
                pull.update({k: v for k, v in request.json().items() if k in ("title", "body", "state")})
            return 200, pull, {}
        match = re.fullmatch(r"/issues/(\d+)/labels", rest)
        if match and request.method == "POST" and int(match[1]) in self.pulls:
            pull = self.pulls[int(match[1])]
            for label in request.json():
                if label not in [existing["name"] for existing in pull["labels"]]:
                    pull["labels"].append({"name": label, "color": "ededed", "url": f"{self.url}{repo}/labels/{label}"})
            return 200, pull["labels"], {}
        return 404, {"message": "Not Found"}, {}

    def _repo_json(self) -> dict:
        return {
            "id": 1, "name": self.name, "full_name": f"{self.owner}/{self.name}",
            "owner": {"login": self.owner, "id": 1, "type": "Organization"},
            "url": f"{self.url}/repos/{self.owner}/{self.name}",
            "html_url": f"https://github.example/{self.owner}/{self.name}",
            "default_branch": "main", "private": True,
        }

    def _list(self, query: dict) -> list[dict]:
        state = query.get("state", ["open"])[0]
        head = query.get("head", [None])[0]
        pulls = sorted(self.pulls.values(), key=lambda p: -p["number"])  # newest first, as GitHub
        return [p for p in pulls
                if (state == "all" or p["state"] == state) and (head is None or p["head"]["label"] == head)]

    def _create(self, data: dict) -> tuple[int, object, dict]:
        head, base = data.get("head"), data.get("base")
        exists = subprocess.run(["git", "--git-dir", str(self.remote), "rev-parse", "--verify", "--quiet",
                                 f"refs/heads/{head}"], capture_output=True, check=False).returncode == 0
        if not exists:
            return 422, {"message": "Validation Failed", "errors": [{"field": "head", "code": "invalid"}]}, {}
        if any(p["head"]["ref"] == head for p in self.open_pulls()):
            return 422, {"message": "Validation Failed",
                         "errors": [{"message": f"A pull request already exists for {self.owner}:{head}."}]}, {}
        number = len(self.pulls) + 1
        repo = f"{self.url}/repos/{self.owner}/{self.name}"
        self.pulls[number] = {
            "id": number, "number": number, "state": "open", "merged": False, "merged_at": None,
            "title": data.get("title"), "body": data.get("body"), "draft": bool(data.get("draft")),
            "head": {"ref": head, "label": f"{self.owner}:{head}"},
            "base": {"ref": base, "label": f"{self.owner}:{base}"},
            "labels": [], "user": {"login": "iacfix-bot"},
            "url": f"{repo}/pulls/{number}", "issue_url": f"{repo}/issues/{number}",
            "html_url": f"https://github.example/{self.owner}/{self.name}/pull/{number}",
        }
        return 201, self.pulls[number], {}
