"""The votes database as answers learn from it: ``notebot feedback import/export/stats/forget``,
``ask`` with votes, note hashes, and the bot's cache of the votes."""
from __future__ import annotations

import json
import sqlite3

from bot.feedback import Votes, import_lines
from index import notes as notes_mod

QUESTION = "タイムアウトの設定"


def first(run_cli, question, *extra):
    result = run_cli(["ask", "--json", question, *extra])
    assert result.rc == 0, result.err
    return json.loads(result.out)["results"][0]


def test_import_then_export_gives_the_same_lines(run_cli, corpus, tmp_path):
    db = tmp_path / "votes.sqlite3"
    lines = (" #見出しの書き方\tmisc/markup.md\n"  # (imported at once: in the order of questions)
             f"{QUESTION}\ttools/apache-70007.md\n"
             f"{QUESTION}\tgo/http-client.md\tdown\n")
    (tmp_path / "votes.tsv").write_text(lines, encoding="utf-8")
    result = run_cli(["feedback", "import", tmp_path / "votes.tsv", "--db", db])
    assert result.rc == 0, result.err
    assert "2 👍 and 1 👎" in result.out
    assert run_cli(["feedback", "export", "--db", db, "--down"]).out == lines
    # without --down: 👍 only, as 'notebot eval' reads them
    assert run_cli(["feedback", "export", "--db", db]).out == "".join(lines.splitlines(True)[:2])
    rows = Votes(db).rows()
    assert {v.user for v in rows} == {"import"}
    digest = notes_mod.content_hash((corpus / "tools/apache-70007.md").read_bytes())
    assert {v.path: v.hash for v in rows}["tools/apache-70007.md"] == digest


def test_import_reports_bad_lines_and_keeps_votes_on_missing_notes(run_cli, corpus, tmp_path):
    db = tmp_path / "votes.sqlite3"
    (tmp_path / "votes.tsv").write_text("質問だけ\nGILって何？\tgone/note.md\nQ\tP\tmaybe\n",
                                        encoding="utf-8")
    result = run_cli(["feedback", "import", tmp_path / "votes.tsv", "--db", db])
    assert result.rc == 0
    assert "line 1" in result.err and "line 3" in result.err
    assert "gone/note.md" in result.err
    assert [(v.question, v.path, v.hash) for v in Votes(db).rows()] == [
        ("GILって何？", "gone/note.md", None)]
    (tmp_path / "empty.tsv").write_text("# nothing\n", encoding="utf-8")
    assert run_cli(["feedback", "import", tmp_path / "empty.tsv", "--db", db]).rc == 2


def test_ask_learns_from_the_votes_and_says_so(run_cli, corpus, tmp_path, monkeypatch):
    plain = run_cli(["ask", "--json", QUESTION]).out
    assert '"votes"' not in plain
    assert json.loads(plain)["results"][0]["path"] == "go/http-client.md"
    db = tmp_path / "votes.sqlite3"
    Votes(db).record("U1", QUESTION, "tools/apache-70007.md", 1)
    top = first(run_cli, QUESTION, "--db", db)
    assert (top["path"], top["votes"]) == ("tools/apache-70007.md", 1)
    monkeypatch.setenv("NOTEBOT_FEEDBACK_DB", str(db))
    assert first(run_cli, QUESTION)["path"] == "tools/apache-70007.md"
    # a question the votes have nothing to do with: the very same output
    assert run_cli(["ask", "--json", "GILって何？"]).out == run_cli(
        ["ask", "--json", "GILって何？", "--db", tmp_path / "none.sqlite3"]).out


def test_a_renamed_note_keeps_its_imported_votes(run_cli, corpus, tmp_path):
    db = tmp_path / "votes.sqlite3"
    (tmp_path / "votes.tsv").write_text(f"{QUESTION}\ttools/apache-70007.md\n", encoding="utf-8")
    assert run_cli(["feedback", "import", tmp_path / "votes.tsv", "--db", db]).rc == 0
    (corpus / "tools/apache-70007.md").rename(corpus / "tools/apr-timeup.md")
    top = first(run_cli, QUESTION, "--db", db)
    assert (top["path"], top["votes"]) == ("tools/apr-timeup.md", 1)


def test_forget_a_users_votes_or_a_notes(run_cli, tmp_path):
    db = tmp_path / "votes.sqlite3"
    votes = Votes(db)
    votes.record("U1", "GILって何？", "python/gil.md", 1)
    votes.record("U1", QUESTION, "go/http-client.md", -1)
    votes.record("U2", "GILって何？", "python/gil.md", 1)
    result = run_cli(["feedback", "forget", "--user", "U1", "--db", db])
    assert (result.rc, result.out.split()[0]) == (0, "2")
    assert [(v.user, v.path) for v in votes.rows()] == [("U2", "python/gil.md")]
    assert run_cli(["feedback", "forget", "--note", "python/gil.md", "--db", db]).rc == 0
    assert votes.rows() == []
    assert run_cli(["feedback", "forget", "--db", db]).rc == 2  # whose?


def test_stats_list_the_most_voted_notes_and_recent_down_votes(run_cli, tmp_path):
    db = tmp_path / "votes.sqlite3"
    votes = Votes(db)
    for user in ("U1", "U2", "U3"):
        votes.record(user, "GILって何？", "python/gil.md", 1)
    votes.record("U4", QUESTION, "go/http-client.md", -1)
    out = run_cli(["feedback", "stats", "--db", db]).out.splitlines()
    assert out[1].split() == ["3", "0", "3", "python/gil.md"]
    assert out[2].split() == ["0", "1", "1", "go/http-client.md"]
    assert "U4" in out[4] and QUESTION in out[4] and "go/http-client.md" in out[4]


def test_an_older_database_gets_the_hash_column(tmp_path):
    db = tmp_path / "votes.sqlite3"
    with sqlite3.connect(db) as old:
        old.execute("CREATE TABLE votes (user TEXT NOT NULL, question TEXT NOT NULL, "
                    "path TEXT NOT NULL, vote INTEGER NOT NULL CHECK (vote IN (-1, 1)), "
                    "channel TEXT, at TEXT NOT NULL, PRIMARY KEY (user, question, path))")
        old.execute("INSERT INTO votes VALUES ('U1', 'GILって何？', 'python/gil.md', 1, 'C1', "
                    "'2024-01-01T00:00:00+0000')")
    old.close()
    [vote] = Votes(db).rows()
    assert (vote.user, vote.path, vote.hash) == ("U1", "python/gil.md", None)
    Votes(db).record("U2", "GILって何？", "python/gil.md", 1, note_hash="abc")
    assert {v.user: v.hash for v in Votes(db).rows()} == {"U1": None, "U2": "abc"}


def test_the_votes_are_read_again_only_when_the_file_changes(tmp_path, corpus, built):
    from index import store
    from index.search import Searcher

    votes = Votes(tmp_path / "votes.sqlite3")
    assert votes.ballots() is None  # no database yet
    votes.record("U1", QUESTION, "tools/apache-70007.md", 1)
    ballots = votes.ballots()
    assert votes.ballots() is ballots
    searcher = Searcher(store.load_fresh(corpus, built, say=lambda _: None))
    assert searcher.search(QUESTION, votes=ballots)[0].path == "tools/apache-70007.md"
    votes.keep_hashes(ballots)
    # the hash the search found is stored with the vote: the file changed, so read again
    digest = notes_mod.content_hash((corpus / "tools/apache-70007.md").read_bytes())
    assert votes.ballots() is not ballots
    assert [v.hash for v in votes.ballots().rows] == [digest]


def test_import_lines_read_what_export_writes():
    votes, problems = import_lines("a\tb\n#c\td\n\n e  f \tg\\th\tdown\nx\ty\tdown\tmore\n")
    assert votes == [("a", "b", 1), ("e f", "g\th", -1)]
    assert problems == ["line 5: expected 'question<TAB>note path', optionally followed by "
                        "'<TAB>down'"]
