"""notebot doctor: what it finds in the notes, the index and the Slack settings, and what it says
to do. Slack is a tiny fake Web API on 127.0.0.1 (auth.test, apps.connections.open)."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import bump_mtime, write_note
from index import store

GOOD_BOT, GOOD_APP = "xoxb-good", "xapp-good"


class FakeSlack(BaseHTTPRequestHandler):
    """auth.test accepts only GOOD_BOT, apps.connections.open only GOOD_APP."""

    calls: list

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        method, token = self.path.rsplit("/", 1)[-1], self.headers.get("Authorization", "")
        self.calls.append(method)
        if method == "auth.test" and token == f"Bearer {GOOD_BOT}":
            body = {"ok": True, "user": "notebot", "team": "ノート部",
                    "url": "https://notes-team.slack.com/", "user_id": "U1", "team_id": "T1"}
        elif method == "apps.connections.open" and token == f"Bearer {GOOD_APP}":
            body = {"ok": True, "url": "wss://127.0.0.1/link"}
        else:
            body = {"ok": False, "error": "invalid_auth"}
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def slack_api(monkeypatch):
    """A fake Slack Web API on 127.0.0.1; SLACK_API_URL points at it. Yields the methods called."""
    calls = []
    handler = type("Handler", (FakeSlack,), {"calls": calls})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("SLACK_API_URL", f"http://127.0.0.1:{server.server_port}/api/")
    yield calls
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def tokens(monkeypatch):
    """Set the Slack environment variables (None removes one)."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)

    def set_tokens(**values):
        for name, value in values.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)

    return set_tokens


def _never_built(corpus, index_dir):
    pass


def _fresh(corpus, index_dir):
    store.build(corpus, index_dir)


def _note_added(corpus, index_dir):
    store.build(corpus, index_dir)
    write_note(corpus, "python/asyncio.md", "# asyncioの使い方\n\nイベントループでコルーチンを動かす。\n")


def _note_edited(corpus, index_dir):
    store.build(corpus, index_dir)
    path = write_note(corpus, "python/gil.md", "# GIL\n\nPython 3.13ではGILを外せるようになった。\n")
    bump_mtime(path)


def _damaged(corpus, index_dir):
    store.build(corpus, index_dir)
    (index_dir / "CURRENT").write_text("壊れた\n", encoding="utf-8")


def _truncated(corpus, index_dir):
    store.build(corpus, index_dir)
    scores = store.current_generation(index_dir) / "scores.data.npy"
    scores.write_bytes(scores.read_bytes()[:-8])


def _binary_note(corpus, index_dir):
    write_note(corpus, "misc/スクリーンショット.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    store.build(corpus, index_dir)


def _empty_corpus(corpus, index_dir):
    for path in sorted(corpus.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()


@pytest.mark.parametrize("setup, rc, expected", [
    (_fresh, 0, ["ok    corpus  8 notes in corpus", "ok    index   8 notes in", "all is well"]),
    (_never_built, 1, ["FAIL  index   no index in", "fix: run 'notebot build'", "1 problem to fix"]),
    (_note_added, 1, ["FAIL  index   out of date with the notes (1 new, 0 changed, 0 removed",
                      "fix: run 'notebot build'"]),
    (_note_edited, 1, ["out of date with the notes (0 new, 1 changed, 0 removed"]),
    (_damaged, 1, ["FAIL  index", "CURRENT is damaged", "fix: run 'notebot build --full'"]),
    (_truncated, 1, ["scores.data.npy has the wrong size", "fix: run 'notebot build --full'"]),
    (_binary_note, 0, ["ok    corpus  9 notes", "warn  index   misc/スクリーンショット.md: not indexed",
                       "all is well"]),
    (_empty_corpus, 1, ["FAIL  corpus  no notes (*.md, *.markdown, *.txt) in corpus",
                        "fix: put the notes there, or point --corpus"]),
], ids=lambda v: getattr(v, "__name__", None))
def test_offline_checks_notes_and_index(run_cli, corpus, index_dir, setup, rc, expected):
    setup(corpus, index_dir)
    result = run_cli(["doctor", "--offline"])
    for line in expected:
        assert line in result.out
    assert "skip  slack   not checked (--offline)" in result.out
    assert result.rc == rc, result.out


def test_offline_needs_no_tokens_and_calls_no_one(run_cli, built, tokens, slack_api):
    assert run_cli(["doctor", "--offline"]).rc == 0
    assert slack_api == []


@pytest.mark.parametrize("env, argv, rc, expected, calls", [
    ({"SLACK_BOT_TOKEN": GOOD_BOT, "SLACK_APP_TOKEN": GOOD_APP}, [], 0,
     ["ok    slack   SLACK_BOT_TOKEN works: @notebot in ノート部 (https://notes-team.slack.com/)",
      "ok    slack   SLACK_APP_TOKEN works: Socket Mode can connect", "all is well"],
     ["auth.test", "apps.connections.open"]),
    ({"SLACK_BOT_TOKEN": "xoxb-revoked", "SLACK_APP_TOKEN": GOOD_APP}, [], 1,
     ["FAIL  slack   Slack refused SLACK_BOT_TOKEN: invalid_auth", "OAuth & Permissions"],
     ["auth.test"]),
    ({"SLACK_BOT_TOKEN": GOOD_BOT, "SLACK_APP_TOKEN": "xapp-other-app"}, [], 1,
     ["SLACK_BOT_TOKEN works", "FAIL  slack   Slack refused SLACK_APP_TOKEN: invalid_auth",
      "connections:write"],
     ["auth.test", "apps.connections.open"]),
    ({"SLACK_BOT_TOKEN": GOOD_BOT, "SLACK_SIGNING_SECRET": "secret"}, ["--http"], 0,
     ["SLACK_BOT_TOKEN works", "all is well"], ["auth.test"]),
    ({"SLACK_BOT_TOKEN": GOOD_BOT}, [], 1,
     ["FAIL  slack   not configured", "SLACK_APP_TOKEN"], []),
    ({"SLACK_APP_TOKEN": GOOD_APP}, [], 1,
     ["FAIL  slack   not configured", "set SLACK_BOT_TOKEN"], []),
], ids=["both tokens work", "bot token revoked", "app token refused", "http mode",
        "no app token", "no bot token"])
def test_slack_tokens(run_cli, built, tokens, slack_api, env, argv, rc, expected, calls):
    tokens(**env)
    result = run_cli(["doctor", *argv])
    for line in expected:
        assert line in result.out
    assert slack_api == calls
    assert result.rc == rc, result.out


def test_unreachable_slack_is_a_clear_failure(run_cli, built, tokens):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    tokens(SLACK_BOT_TOKEN=GOOD_BOT, SLACK_APP_TOKEN=GOOD_APP,
           SLACK_API_URL=f"http://127.0.0.1:{port}/api/")
    result = run_cli(["doctor"])
    assert f"FAIL  slack   cannot reach the Slack Web API at http://127.0.0.1:{port}/api/" in result.out
    assert "Connection refused" in result.out
    assert "fix: check the network and any proxy (HTTPS_PROXY), or SLACK_API_URL" in result.out
    assert result.rc == 1
    assert result.err == ""
