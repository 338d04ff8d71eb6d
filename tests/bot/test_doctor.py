"""notebot doctor: what it finds in the notes, the index and the Slack settings, and what it says
to do. Slack is the local fake Web API of tests/fakes (auth.test, apps.connections.open)."""
from __future__ import annotations

import json
import socket

import pytest

from conftest import bump_mtime, write_note
from fakes.slack_api import FakeSlack
from index import generation, store

BOT_TOKEN, APP_TOKEN = "xoxb-1-notebot", "xapp-1-notebot"


@pytest.fixture
def slack(monkeypatch):
    """The fake Slack Web API, with SLACK_API_URL pointing at it and no tokens set."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with FakeSlack() as fake:
        monkeypatch.setenv("SLACK_API_URL", fake.api_url)
        yield fake


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
    idf = generation.current(index_dir) / "idf.npy"
    idf.write_bytes(idf.read_bytes()[:-8])


def _other_analyzer(corpus, index_dir):
    store.build(corpus, index_dir)
    path = generation.current(index_dir) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["analyzer"]["version"] -= 1
    path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def _binary_note(corpus, index_dir):
    write_note(corpus, "misc/スクリーンショット.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    store.build(corpus, index_dir)


def _array_garbled_in_place(corpus, index_dir):
    store.build(corpus, index_dir)
    [path] = generation.current(index_dir).glob("*.notes.npy")
    data = path.read_bytes()
    path.write_bytes(data[:-8] + bytes(8))  # the last note number: still a note, the wrong one


def _stored_note_damaged(corpus, index_dir):
    store.build(corpus, index_dir)
    [path] = generation.current(index_dir).glob("*.docs.jsonl")
    path.write_bytes(path.read_bytes().replace(b"Global", b"Glocal", 1))


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
    (_truncated, 1, ["idf.npy has the wrong size", "fix: run 'notebot build --full'"]),
    (_other_analyzer, 1, ["FAIL  index   made with another analyzer",
                          "fix: run 'notebot build --full'"]),
    (_array_garbled_in_place, 1, ["FAIL  index   damaged in", ".notes.npy (not what the build",
                                  "fix: run 'notebot build --full'"]),
    (_stored_note_damaged, 1, ["FAIL  index   damaged in", ".docs.jsonl (not what the build"]),
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


def test_offline_needs_no_tokens_and_calls_no_one(run_cli, built, slack):
    assert run_cli(["doctor", "--offline"]).rc == 0
    assert slack.calls == []


@pytest.mark.parametrize("env, argv, refused, rc, expected, calls", [
    ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}, [], None, 0,
     ["ok    slack   SLACK_BOT_TOKEN works: @notebot in Fake (https://fake.slack.test/)",
      "ok    slack   SLACK_APP_TOKEN works: Socket Mode can connect", "all is well"],
     ["auth.test", "apps.connections.open"]),
    ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}, [], "auth.test", 1,
     ["FAIL  slack   Slack refused SLACK_BOT_TOKEN: invalid_auth", "OAuth & Permissions"],
     ["auth.test"]),
    ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}, [], "apps.connections.open", 1,
     ["SLACK_BOT_TOKEN works", "FAIL  slack   Slack refused SLACK_APP_TOKEN: invalid_auth",
      "connections:write"],
     ["auth.test", "apps.connections.open"]),
    ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "秘密"}, ["--http"], None, 0,
     ["SLACK_BOT_TOKEN works", "all is well"], ["auth.test"]),
    ({"SLACK_BOT_TOKEN": BOT_TOKEN}, [], None, 1,
     ["FAIL  slack   not configured", "SLACK_APP_TOKEN"], []),
    ({"SLACK_APP_TOKEN": APP_TOKEN}, [], None, 1,
     ["FAIL  slack   not configured", "set SLACK_BOT_TOKEN"], []),
], ids=["both tokens work", "bot token refused", "app token refused", "http mode",
        "no app token", "no bot token"])
def test_slack_tokens(run_cli, built, slack, monkeypatch, env, argv, refused, rc, expected,
                      calls):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if refused:
        slack.fail(refused, "invalid_auth")
    result = run_cli(["doctor", *argv])
    for line in expected:
        assert line in result.out
    assert [c.method for c in slack.calls] == calls
    for call in slack.calls:
        token = BOT_TOKEN if call.method == "auth.test" else APP_TOKEN
        assert call.headers["Authorization"] == f"Bearer {token}"
    assert result.rc == rc, result.out


def test_unreachable_slack_is_a_clear_failure(run_cli, built, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", f"http://127.0.0.1:{port}/api/")
    result = run_cli(["doctor"])
    assert f"FAIL  slack   cannot reach the Slack Web API at http://127.0.0.1:{port}/api/" in result.out
    assert "Connection refused" in result.out
    assert "fix: check the network and any proxy (HTTPS_PROXY), or SLACK_API_URL" in result.out
    assert result.rc == 1
    assert result.err == ""
