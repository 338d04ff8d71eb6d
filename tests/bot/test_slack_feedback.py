"""Votes from Slack's 👍/👎 buttons, and ``notebot feedback export`` for ``notebot eval``."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from bot.feedback import Votes, export_lines
from bot.watch import Watcher
from conftest import write_note
from index import store
from index.evaluation import parse


def test_a_user_who_changes_their_mind_replaces_their_vote(tmp_path):
    votes = Votes(tmp_path / "data" / "votes.sqlite3")
    votes.record("U1", "GILって何？", "python/gil.md", 1, channel="C1")
    votes.record("U1", "GILって何？", "python/gil.md", -1, channel="C1")
    assert votes.helpful() == []
    rows = sqlite3.connect(tmp_path / "data" / "votes.sqlite3").execute(
        "SELECT user, question, path, vote, channel FROM votes").fetchall()
    assert rows == [("U1", "GILって何？", "python/gil.md", -1, "C1")]


def test_helpful_pairs_have_more_up_than_down_votes(tmp_path):
    votes = Votes(tmp_path / "votes.sqlite3")
    for user, question, path, vote in [
        ("U1", "GILって何？", "python/gil.md", 1),
        ("U2", "GILって何？", "python/gil.md", 1),
        ("U3", "GILって何？", "python/gil.md", -1),
        ("U1", "GILって何？", "openstack/statistics.md", -1),
        ("U1", "Goのクロスコンパイル", "go/cross-compile.md", 1),
        ("U2", "Goのクロスコンパイル", "go/compiler-structure.md", 1),
        ("U3", "Goのクロスコンパイル", "go/compiler-structure.md", -1),
    ]:
        votes.record(user, question, path, vote)
    assert votes.helpful() == [("GILって何？", "python/gil.md"),
                               ("Goのクロスコンパイル", "go/cross-compile.md")]


def test_export_lines_are_one_question_and_note_per_line():
    pairs = [("GILって\tなに？\n", "python/gil.md"), ("   ", "x.md"), ("サーバー", "misc/server.md")]
    assert export_lines(pairs) == ["GILって なに？\tpython/gil.md", "サーバー\tmisc/server.md"]


def test_exported_questions_are_read_back_by_eval_whole(run_cli, tmp_path):
    db = tmp_path / "votes.sqlite3"
    for question in ["#GILって何？", "\ufeffGoのクロスコンパイル", "  # 70007"]:
        Votes(db).record("U1", question, "python/gil.md", 1)
    result = run_cli(["feedback", "export", "--db", db])
    cases, problems = parse(result.out)
    assert problems == []
    assert sorted(c.question for c in cases) == ["# 70007", "#GILって何？", "Goのクロスコンパイル"]


@pytest.mark.parametrize("use_env", [False, True])
def test_feedback_export_command(run_cli, tmp_path, monkeypatch, use_env):
    db = tmp_path / "votes.sqlite3"
    Votes(db).record("U1", "GILって何？", "python/gil.md", 1)
    if use_env:
        monkeypatch.setenv("NOTEBOT_FEEDBACK_DB", str(db))
    result = run_cli(["feedback", "export"] + ([] if use_env else ["--db", db]))
    assert (result.rc, result.out) == (0, "GILって何？\tpython/gil.md\n")
    assert "1 question-note pairs" in result.err


def test_feedback_export_without_votes_prints_nothing(run_cli, tmp_path):
    result = run_cli(["feedback", "export"])  # default database under $HOME, not there yet
    assert (result.rc, result.out) == (0, "")


@pytest.mark.parametrize("make", [lambda db: db.mkdir(),
                                  lambda db: db.write_bytes(b"garbage" * 100)],
                         ids=["a directory", "not a database"])
def test_feedback_export_from_an_unusable_database_says_which_file(run_cli, tmp_path, make):
    db = tmp_path / "votes.sqlite3"
    make(db)
    result = run_cli(["feedback", "export", "--db", db])
    assert (result.rc, result.out) == (1, "")
    [line] = result.err.splitlines()
    assert line.startswith(f"notebot: cannot use the votes database {db} (")


@pytest.mark.slow
def test_watch_rebuilds_once_after_a_burst_of_changes(corpus, built):
    rebuilds = []
    done = threading.Event()

    def rebuild():
        rebuilds.append(store.build(corpus, built).summary())  # reads the notes: not a change
        done.set()

    watcher = Watcher(corpus, rebuild, quiet=1.0).start()
    try:
        for n in range(3):
            write_note(corpus, f"new/note{n}.md", f"# メモ{n}\nポッドの話。\n")
        assert done.wait(30), "no rebuild after the notes changed"
        time.sleep(1)  # a rebuild that retriggered itself would show up by now
    finally:
        watcher.stop()
    assert len(rebuilds) == 1 and "3 added" in rebuilds[0]


@pytest.mark.slow
def test_watch_settles_when_the_index_lives_inside_the_corpus(corpus):
    index_dir = corpus / ".notebot-index"
    store.build(corpus, index_dir)
    rebuilds, done = [], threading.Event()

    def rebuild():
        rebuilds.append(store.build(corpus, index_dir).summary())  # writes under the corpus
        done.set()

    watcher = Watcher(corpus, rebuild, quiet=0.3, ignore=index_dir).start()
    try:
        write_note(corpus, "new/note.md", "# メモ\nポッドの話。\n")
        assert done.wait(30), "no rebuild after a note changed"
        time.sleep(1.5)  # a rebuild set off by its own writes would have come by now
    finally:
        watcher.stop()
    assert len(rebuilds) == 1 and "1 added" in rebuilds[0]


def test_a_path_with_a_line_break_survives_export_and_eval(corpus, tmp_path, run_cli):
    odd = "memo/line\nbreak\tand\\n.md"
    write_note(corpus, odd, "# 改行のメモ\nファイル名に改行があるメモ。\n")
    votes = Votes(tmp_path / "votes.sqlite3")
    votes.record("U1", "改行のメモ", odd, 1)
    lines = export_lines(votes.helpful())
    assert len(lines) == 1 and "\n" not in lines[0]
    cases, problems = parse("\n".join(lines))
    assert problems == [] and [c.expected for c in cases] == [odd]
    (tmp_path / "q.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = run_cli(["eval", tmp_path / "q.tsv", "--corpus", corpus]).out
    assert out.startswith("1 questions: Hit@1 1.000")
