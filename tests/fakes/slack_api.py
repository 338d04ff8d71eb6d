"""A local stand-in for Slack's Web API and ``response_url`` hooks, as Bolt's own tests use.

Point a ``WebClient`` (or ``SLACK_API_URL``) at ``FakeSlack().api_url``. Every call is recorded
with the time it arrived; ``fail()`` queues error answers (``not_in_channel``, HTTP 429 with
``Retry-After``, ...) for the next calls to a method. Threads (``threads``), users (``users``)
and channels the bot cannot read (``unreadable``) are what ``conversations.replies``,
``users.info`` and the like answer from; user groups (``groups``: id -> member ids) are what
``usergroups.users.list`` answers from. Listens on 127.0.0.1 only.
"""
from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"


@dataclass
class Call:
    """One request the fake received: ``method`` is the API method, or ``response/<name>``."""

    method: str
    params: dict
    headers: dict
    at: float = field(default_factory=time.perf_counter)


@dataclass
class Failure:
    status: int = 200
    body: dict | None = None
    headers: dict = field(default_factory=dict)


class FakeSlack:
    """The fake server; use as a context manager."""

    def __init__(self):
        self.calls: list[Call] = []
        self.ws_url: str | None = None  # what apps.connections.open hands out
        self._failures: dict[str, list[Failure]] = {}
        self._cond = threading.Condition()
        self._ts = itertools.count(1)
        self._views = itertools.count(1)
        # (channel, thread ts) -> the thread's messages, the parent first
        self.threads: dict[tuple[str, str], list[dict]] = {}
        self.users: dict[str, dict] = {}  # user id -> users.info's "user"
        self.unreadable: set[str] = set()  # channels the bot is not in
        self.groups: dict[str, list[str]] = {}  # user group id -> its members' ids
        self.page_size = 200  # conversations.replies returns at most this many at a time
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake._handle(self, raw)

            def do_GET(self):  # slack_sdk reads with GET: conversations.replies, users.info ...
                fake._handle(self, urlsplit(self.path).query.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.api_url = f"{self.url}/api/"

    def __enter__(self) -> "FakeSlack":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def response_url(self, name: str) -> str:
        """A ``response_url`` whose calls are recorded as method ``response/<name>``."""
        return f"{self.url}/response/{name}"

    def fail(self, method: str, error: str | None = None, status: int = 200,
             headers: dict | None = None, times: int = 1):
        """Answer the next ``times`` calls to ``method`` with ``{"ok": false, "error": error}``
        or with HTTP ``status`` (429 comes with ``Retry-After: 0`` unless ``headers`` say)."""
        body = {"ok": False, "error": error} if error else None
        if status == 429 and headers is None:
            headers = {"Retry-After": "0"}
        with self._cond:
            self._failures.setdefault(method, []).extend(
                Failure(status, body, headers or {}) for _ in range(times))

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 30) -> list[Call]:
        """The calls to ``method`` once there are at least ``count`` (AssertionError after
        ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self.calls if c.method == method]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(found)} calls to {method}, expected {count}; "
                                         f"calls: {[c.method for c in self.calls]}")
                self._cond.wait(left)

    # ------------------------------------------------------------ serving

    def _handle(self, request: BaseHTTPRequestHandler, raw: bytes):
        path = request.path.split("?", 1)[0]
        method = path[len("/api/"):] if path.startswith("/api/") else path.lstrip("/")
        if "json" in (request.headers.get("Content-Type") or "") and request.command == "POST":
            params = json.loads(raw or b"{}")
        else:
            params = {k: v[0] for k, v in parse_qs(raw.decode("utf-8")).items()}
        with self._cond:
            self.calls.append(Call(method, params, dict(request.headers)))
            queued = self._failures.get(method)
            failure = queued.pop(0) if queued else None
            self._cond.notify_all()
        if failure is not None:
            self._send(request, failure.status, failure.body or {"ok": False, "error": "fake"},
                       failure.headers)
        elif method.startswith("response/"):
            self._send(request, 200, "ok")
        else:
            self._send(request, 200, self._answer(method, params))

    def _answer(self, method: str, params: dict) -> dict:
        if method == "auth.test":
            return {"ok": True, "url": "https://fake.slack.test/", "team": "Fake",
                    "user": "notebot", "team_id": "T0001", "user_id": BOT_USER_ID,
                    "bot_id": BOT_ID}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.ws_url}
        if method == "chat.postMessage":
            ts = f"{1700000000 + next(self._ts)}.000100"
            return {"ok": True, "channel": params.get("channel"), "ts": ts,
                    "message": {"text": params.get("text"), "ts": ts, "bot_id": BOT_ID}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{1700000000 + next(self._ts)}.000100"}
        if method == "conversations.replies":
            return self._replies(params)
        if method == "users.info":
            user = self.users.get(params.get("user"))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "usergroups.users.list":
            members = self.groups.get(params.get("usergroup"))
            return {"ok": True, "users": members} if members is not None else \
                {"ok": False, "error": "no_such_subteam"}
        if method == "chat.getPermalink":
            channel, ts = params.get("channel"), params.get("message_ts", "")
            return {"ok": True, "channel": channel, "permalink":
                    f"https://fake.slack.test/archives/{channel}/p{ts.replace('.', '')}"}
        if method in ("views.open", "views.update", "views.push"):
            view = params.get("view")
            view = json.loads(view) if isinstance(view, str) else view
            return {"ok": True, "view": dict(view or {}, id=params.get("view_id")
                                             or f"V{next(self._views):08d}")}
        return {"ok": True}

    def _replies(self, params: dict) -> dict:
        """A page of a thread as Slack may give it: at most ``limit`` messages (``page_size`` at
        most), the parent first on every page, an opaque ``next_cursor`` while more remain."""
        channel = params.get("channel")
        if channel in self.unreadable:
            return {"ok": False, "error": "not_in_channel"}
        thread = self.threads.get((channel, params.get("ts")))
        if thread is None:
            return {"ok": False, "error": "thread_not_found"}
        limit = min(int(params.get("limit") or 1000), self.page_size)
        start = int(base64.b64decode(params["cursor"]).decode().split(":")[1]) \
            if params.get("cursor") else 0  # (a cursor is "next:<index of the next reply>")
        replies = thread[1:]
        page = replies[start:start + max(limit - 1, 1)]
        end = start + len(page)
        more = end < len(replies)
        return {"ok": True, "messages": [thread[0], *page], "has_more": more,
                "response_metadata": {"next_cursor": base64.b64encode(
                    f"next:{end}".encode()).decode() if more else ""}}

    @staticmethod
    def _send(request, status: int, body, headers: dict | None = None):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "text/plain" if isinstance(body, str)
                            else "application/json; charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            request.send_header(k, v)
        request.end_headers()
        request.wfile.write(data)
