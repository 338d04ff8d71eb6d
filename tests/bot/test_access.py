"""Who sees which notes: the access settings file (parsing, validation, reloading), the rules,
user groups, the doctor's checks and table, and search restricted to collections (in the index
and on the command line)."""
from __future__ import annotations

import json
import os

import pytest

from bot import access, doctor
from bot.access import AccessError, AccessFile, Groups, Private, Settings
from conftest import bump_mtime, write_note
from index import Searcher, generation, store

GOOD = """
[collections.hr]          # private
private = true
users = ["U012ABCDEF"]
groups = ["S0123ABCD"]

[collections.""]          # the notes at the corpus root

[channels.C0123456]
collections = ["go", "tools"]
"""


def test_a_good_file_parses():
    settings = access.parse(GOOD)
    assert settings.private == {"hr": Private(frozenset({"U012ABCDEF"}),
                                              frozenset({"S0123ABCD"}))}
    assert settings.channels == {"C0123456": frozenset({"go", "tools"})}
    assert settings.warnings == ()
    assert access.parse("") == Settings()


@pytest.mark.parametrize("text, problem", [
    ("[collections.hr\nprivate = true", "not valid TOML"),
    ("private = true", "unknown setting 'private'"),
    ("[collection.hr]\nprivate = true", "unknown setting 'collection'"),
    ("[collections.hr]\nprivat = true\nusers = ['U012ABCDEF']", "unknown key 'privat'"),
    ("[collections.hr]\nprivate = 'yes'", "private must be true or false"),
    ("[collections.hr]\nusers = ['U012ABCDEF']", "add 'private = true'"),
    ("[collections.hr]\nprivate = true\nusers = ['alice']", "'alice' is not a Slack user id"),
    ("[collections.hr]\nprivate = true\nusers = 'U012ABCDEF'", "users must be a list"),
    ("[collections.hr]\nprivate = true\ngroups = ['U012ABCDEF']",
     "'U012ABCDEF' is not a Slack user group id"),
    ("collections = ['hr']", "'collections' must be tables"),
    ("[collections]\nhr = true", "'collections.hr' must be a table"),
    ("[channels.general]\ncollections = ['go']", "'general' is not a Slack channel id"),
    ("[channels.C0123456]\ncollections = 'go'", "needs collections = ["),
    ("[channels.C0123456]", "needs collections = ["),
    ("[channels.C0123456]\ncollections = ['go']\nusers = ['U012ABCDEF']", "unknown key 'users'"),
], ids=lambda v: v[:40] if isinstance(v, str) else v)
def test_problems_are_found_and_say_what_to_fix(text, problem):
    with pytest.raises(AccessError) as caught:
        access.parse(text)
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_every_problem_is_listed_not_only_the_first():
    with pytest.raises(AccessError) as caught:
        access.parse("[collections.hr]\nprivat = true\nusers = ['alice']\n"
                     "[channels.general]\ncollections = ['go']")
    assert len(caught.value.problems) == 3


@pytest.mark.parametrize("text, warning", [
    ("[collections.hr]\nprivate = true", "nobody sees its notes"),
    ("[collections.hr]\nprivate = true\nusers = ['U012ABCDEF']\n"
     "[channels.C0123456]\ncollections = ['hr', 'go']", "lists the private hr"),
])
def test_what_works_but_is_likely_wrong_is_a_warning(text, warning):
    [found] = access.parse(text).warnings
    assert warning in found


KNOWN = frozenset({"", "go", "tools", "hr", "python"})
HR_USER, MEMBER, OTHER = "U012ABCDEF", "U0MEMBER", "U0OTHER"


def members(group):
    return frozenset({MEMBER}) if group == "S0123ABCD" else frozenset()


@pytest.mark.parametrize("channel, user, surface, expected", [
    # a listed channel: its collections only, private or not
    ("C0123456", HR_USER, "channel", {"go", "tools"}),
    ("C0123456", HR_USER, "ephemeral", {"go", "tools"}),
    # any other channel: every public collection; a private one only where the user alone sees
    ("C0999999", HR_USER, "channel", {"", "go", "tools", "python"}),
    ("C0999999", HR_USER, "thread", {"", "go", "tools", "python"}),
    ("C0999999", HR_USER, "ephemeral", {"", "go", "tools", "python", "hr"}),
    ("C0999999", MEMBER, "ephemeral", {"", "go", "tools", "python", "hr"}),
    ("C0999999", OTHER, "ephemeral", {"", "go", "tools", "python"}),
    ("D0001", HR_USER, "dm", {"", "go", "tools", "python", "hr"}),
    ("D0001", MEMBER, "dm", {"", "go", "tools", "python", "hr"}),
    ("D0001", OTHER, "dm", {"", "go", "tools", "python"}),
    (None, HR_USER, "home", {"", "go", "tools", "python", "hr"}),
    (None, OTHER, "home", {"", "go", "tools", "python"}),
    (None, None, "ephemeral", {"", "go", "tools", "python"}),
])
def test_allowed(channel, user, surface, expected):
    assert access.parse(GOOD).allowed(channel, user, surface, KNOWN, members) == expected


def test_groups_are_asked_only_when_they_decide():
    asked = []

    def spy(group):
        asked.append(group)
        return members(group)

    settings = access.parse(GOOD)
    settings.allowed("C0999999", OTHER, "thread", KNOWN, spy)  # (no private collection counts)
    settings.allowed("D0001", HR_USER, "dm", KNOWN, spy)  # (a listed user)
    assert asked == []
    settings.allowed("D0001", OTHER, "dm", KNOWN, spy)
    assert asked == ["S0123ABCD"]


def test_an_unknown_surface_is_an_error():
    with pytest.raises(ValueError):
        access.parse(GOOD).allowed("C0001", HR_USER, "broadcast", KNOWN)


def test_group_members_are_kept_for_a_while_and_a_failure_counts_as_none():
    now, calls, said = [0.0], [], []

    def fetch(group):
        calls.append(group)
        if group == "S0BROKEN":
            raise RuntimeError("missing_scope")
        return [MEMBER]

    groups = Groups(fetch, ttl=300, say=said.append, clock=lambda: now[0])
    assert groups.members("S0123ABCD") == {MEMBER}
    now[0] = 299
    assert groups.members("S0123ABCD") == {MEMBER} and calls == ["S0123ABCD"]
    now[0] = 301
    groups.members("S0123ABCD")
    assert calls == ["S0123ABCD"] * 2
    assert groups.members("S0BROKEN") == frozenset()
    groups.members("S0BROKEN")
    assert len(said) == 1 and "missing_scope" in said[0]


def test_the_file_is_read_again_when_it_changes_and_a_broken_one_keeps_the_last(tmp_path):
    path = tmp_path / "access.toml"
    path.write_text(GOOD, encoding="utf-8")
    said = []
    rules = AccessFile(path, say=said.append)
    assert rules.settings().channels["C0123456"] == {"go", "tools"}
    path.write_text(GOOD.replace('"go", "tools"', '"python"'), encoding="utf-8")
    bump_mtime(path)
    assert rules.settings().channels["C0123456"] == {"python"}
    path.write_text("[collections.hr\n", encoding="utf-8")
    bump_mtime(path, 20)
    for _ in range(3):
        assert rules.settings().channels["C0123456"] == {"python"}
    broken = [line for line in said if "keeping the last good" in line]
    assert len(broken) == 1 and "not valid TOML" in broken[0]
    os.remove(path)
    assert rules.settings().channels["C0123456"] == {"python"}


def test_a_file_unusable_at_start_is_an_error(tmp_path):
    path = tmp_path / "access.toml"
    path.write_text("[collections.hr]\nprivat = true\n", encoding="utf-8")
    with pytest.raises(AccessError, match="privat"):
        AccessFile(path)


# ---------------------------------------------------------------- doctor

@pytest.fixture
def private_corpus(corpus):
    """The tiny corpus with a private-looking collection ``hr`` and a note at the root."""
    write_note(corpus, "hr/salary.md", "# 給与テーブル\n\n給与テーブルの改定は毎年四月、"
               "等級ごとの昇給率はスレッドで相談しない。\n")
    write_note(corpus, "readme.md", "# このノート集について\n\nサーバーとスレッドのメモ集。\n")
    return corpus


@pytest.fixture
def access_file(tmp_path, monkeypatch):
    def write(text: str):
        path = tmp_path / "access.toml"
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("NOTEBOT_ACCESS", str(path))
        return path

    return write


def test_doctor_checks_the_names_against_the_index(private_corpus, index_dir, access_file):
    store.build(private_corpus, index_dir)
    access_file("[collections.hrr]\nprivate = true\nusers = ['U012ABCDEF']\n"
                "[channels.C0123456]\ncollections = ['go', 'goo']\n")
    found, _, _ = doctor.check_access(index_dir)
    assert [f.status for f in found] == ["ok", "FAIL", "warn"]
    assert "[collections.hrr] is not a collection of the index" in found[1].message
    assert "(root), go, hr, misc" in found[1].message
    assert "lists 'goo'" in found[2].message


@pytest.mark.parametrize("setup, status, words", [
    (lambda tmp, mp: None, "ok", "every note answers everywhere"),
    (lambda tmp, mp: mp.setenv("NOTEBOT_ACCESS", str(tmp / "missing.toml")), "FAIL",
     "not a file"),
    (lambda tmp, mp: (tmp / "a.toml").write_bytes(b"\xff[x]") and
     mp.setenv("NOTEBOT_ACCESS", str(tmp / "a.toml")), "FAIL", "not UTF-8"),
], ids=["none", "missing", "not utf-8"])
def test_doctor_without_a_usable_file(tmp_path, monkeypatch, index_dir, setup, status, words):
    setup(tmp_path, monkeypatch)
    found, _, _ = doctor.check_access(index_dir)
    assert found[0].status == status and words in found[0].message + found[0].fix


def test_the_doctor_table(run_cli, private_corpus, index_dir, access_file):
    store.build(private_corpus, index_dir)
    access_file(GOOD.replace('[collections.""]          # the notes at the corpus root\n', ""))
    result = run_cli(["doctor", "--access", "--corpus", private_corpus])
    assert result.rc == 0, result.out
    table = result.out.split("\n\n", 1)[1].splitlines()
    cells = [[c for c in line.split("  ") if c.strip()] for line in table]
    public = "(root), go, misc, openstack, python, tools"
    everything = "(root), go, hr, misc, openstack, python, tools"
    assert [c.strip() for c in cells[0]] == ["channel", "user", "answers posted there",
                                              "answers only they see (DM, /notes)"]
    rows = {(c[0].strip(), c[1].strip()): (c[2].strip(), c[3].strip()) for c in cells[1:]}
    assert rows == {
        ("C0123456", "U012ABCDEF"): ("go, tools", "go, tools"),
        ("C0123456", "member of S0123ABCD"): ("go, tools", "go, tools"),
        ("C0123456", "any other user"): ("go, tools", "go, tools"),
        ("any other channel", "U012ABCDEF"): (public, everything),
        ("any other channel", "member of S0123ABCD"): (public, everything),
        ("any other channel", "any other user"): (public, public),
        ("DM with the bot", "U012ABCDEF"): (everything, everything),
        ("DM with the bot", "member of S0123ABCD"): (everything, everything),
        ("DM with the bot", "any other user"): (public, public),
    }


def test_the_full_doctor_fails_on_a_broken_file(run_cli, private_corpus, index_dir,
                                                access_file):
    store.build(private_corpus, index_dir)
    access_file("[collections.hr]\nprivate = true\nusers = ['alice']\n")
    result = run_cli(["doctor", "--offline", "--corpus", private_corpus])
    assert result.rc == 1
    assert "FAIL  access" in result.out and "'alice' is not a Slack user id" in result.out


# ---------------------------------------------------------------- search

def test_collections_of_paths():
    assert generation.collection_of("hr/policy.md") == "hr"
    assert generation.collection_of("hr/2024/policy.md") == "hr"
    assert generation.collection_of("policy.md") == ""


@pytest.fixture
def searcher(private_corpus, index_dir):
    store.build(private_corpus, index_dir)
    data = generation.load(index_dir)
    yield Searcher(data)
    data.close()


def test_the_generation_knows_its_collections(searcher):
    data = searcher.data
    assert data.collections == {"", "go", "hr", "misc", "openstack", "python", "tools"}
    assert data.count(frozenset({"go", ""})) == 3
    outside = data.outside(frozenset({"hr"}))
    assert [data.doc(int(i))["path"] for i in range(len(data.norm)) if i not in outside] == \
        ["hr/salary.md"]


QUESTION = "サーバーのスレッド"  # matches notes in several collections


def test_a_restricted_search_ranks_only_those_collections(searcher):
    everything = [h.path for h in searcher.search(QUESTION, k=20)]
    assert len({access.collection_of(p) for p in everything}) >= 3
    for wanted in ({"python"}, {"misc", ""}, {"hr", "python", "openstack"}):
        got = [h.path for h in searcher.search(QUESTION, k=20, collections=frozenset(wanted))]
        assert got == [p for p in everything if access.collection_of(p) in wanted]


def test_pages_and_k_count_the_allowed_notes_alone(searcher):
    wanted = frozenset({"misc", "python", ""})
    allowed = [h.path for h in searcher.search(QUESTION, k=20, collections=wanted)]
    assert len(allowed) >= 3
    pages = [h.path for o in range(len(allowed))
             for h in searcher.search(QUESTION, k=1, offset=o, collections=wanted)]
    assert pages == allowed
    assert searcher.search(QUESTION, k=1, offset=len(allowed), collections=wanted) == []
    assert searcher.search(QUESTION, collections=frozenset()) == []


def test_without_a_restriction_the_results_are_the_same(searcher):
    for question in (QUESTION, "給与テーブル", "GILって何？", "何？"):
        before = searcher.search(question, k=5)
        assert searcher.search(question, k=5, collections=None) == before


def test_a_question_made_of_question_words_stays_within_the_collections(searcher):
    # (the search that leaves out notes without a topical term: the restriction holds there)
    for question in ("給与は何？", "給与の改定はいつ？", "どうやって選ぶ？"):
        got = searcher.search(question, k=20, collections=frozenset({"go", "misc"}))
        assert all(access.collection_of(h.path) in {"go", "misc"} for h in got)


# ---------------------------------------------------------------- command line

def test_ask_collection(run_cli, private_corpus):
    result = run_cli(["ask", "--json", "-k", "10", QUESTION, "--corpus", private_corpus])
    everything = [r["path"] for r in json.loads(result.out)["results"]]
    result = run_cli(["ask", "--json", "-k", "10", QUESTION, "--corpus", private_corpus,
                      "--collection", "python", "--collection", "(root)"])
    assert result.rc == 0, result.err
    got = [r["path"] for r in json.loads(result.out)["results"]]
    assert got == [p for p in everything if p.startswith("python/") or "/" not in p]
    assert "readme.md" in got


def test_ask_collection_that_does_not_exist(run_cli, private_corpus):
    result = run_cli(["ask", "GIL", "--corpus", private_corpus, "--collection", "pyhton"])
    assert result.rc == 2 and result.out == ""
    assert "--collection pyhton: no such collection" in result.err
    assert "(root), go, hr" in result.err


def test_eval_collection(run_cli, private_corpus, tmp_path):
    questions = tmp_path / "q.tsv"
    questions.write_text("GILって何？\tpython/gil.md\n", encoding="utf-8")
    assert "Hit@1 1.000" in run_cli(["eval", questions, "--corpus", private_corpus]).out
    result = run_cli(["eval", questions, "--corpus", private_corpus, "--collection", "go"])
    assert "Hit@1 0.000" in result.out


def test_console_collection(private_corpus, index_dir, monkeypatch):
    from bot import cli, console

    seen = {}

    def run(searcher, **kw):
        seen["hits"] = searcher.search(QUESTION, k=10)
        return 0

    monkeypatch.setattr(console, "run", run)
    assert cli.main(["console", "--corpus", str(private_corpus), "--collection", "misc"]) == 0
    assert seen["hits"] and {access.collection_of(h.path) for h in seen["hits"]} == {"misc"}
