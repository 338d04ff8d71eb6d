"""What 👍/👎 votes teach the search (index/votes.py), on the tiny corpus."""
from __future__ import annotations

import random

import pytest

from conftest import write_note
from index import notes as notes_mod, store, votes
from index.search import DEFAULT_MIN_CONFIDENCE, Searcher
from index.votes import Ballots, Vote

QUESTIONS = ["GILって何？", "Goのクロスコンパイル", "oslo_serviceとeventlet", "Apacheの70007エラー",
             "サーバーの選び方", "http.Clientのタイムアウト", "Markdownの書き方", "Dockerの全角メモ",
             "スレッドでCPUを使う処理", "GOOSとGOARCH"]


@pytest.fixture
def searcher(corpus, index_dir):
    data = store.load_fresh(corpus, index_dir, say=lambda _: None)
    yield Searcher(data)
    data.close()


def paths(searcher, question, ballots=None, k=5):
    searcher.votes = ballots
    return [h.path for h in searcher.search(question, k=k)]


def up(question, path, user="U1", **kw):
    return Vote(user, question, path, 1, **kw)


def test_without_votes_the_results_are_the_same_to_the_byte(searcher):
    for question in QUESTIONS:
        searcher.votes = None
        plain = [h.to_json() for h in searcher.search(question, k=5)]
        searcher.votes = Ballots(())
        assert [h.to_json() for h in searcher.search(question, k=5)] == plain
        # votes on another question leave this one alone
        searcher.votes = Ballots((up("全く別の話", "misc/markup.md"),))
        assert [h.to_json() for h in searcher.search(question, k=5)] == plain
        assert all("votes" not in h for h in plain)


def test_a_voted_question_lends_its_words_to_a_paraphrase(searcher):
    voted = "仮想マシンからのHTTPリクエストがタイムアウトで失敗する"
    paraphrase = "仮想マシンのタイムアウト"
    assert paths(searcher, paraphrase)[0] != "go/http-client.md"
    ballots = Ballots((up(voted, "go/http-client.md"),))
    assert paths(searcher, paraphrase, ballots)[0] == "go/http-client.md"
    [first] = searcher.search(paraphrase, k=1)
    assert first.votes == 1 and first.to_json()["votes"] == 1
    # (it is the words that count: the paraphrase is not nearly the same question)
    assert votes.jaccard(searcher._asked(voted).words,
                         searcher._asked(paraphrase).words) < votes.SAME_QUESTION


def test_a_question_voted_up_comes_back_first_and_answered(searcher):
    question = "タイムアウトの設定"
    searcher.votes = None
    before = {h.path: h.confidence for h in searcher.search(question, k=5)}
    assert next(iter(before)) != "tools/apache-70007.md"
    searcher.votes = Ballots((up(question, "tools/apache-70007.md"),))
    [first, *_] = searcher.search(question, k=5)
    assert first.path == "tools/apache-70007.md"
    assert first.confidence > before["tools/apache-70007.md"]
    assert first.confidence >= DEFAULT_MIN_CONFIDENCE


def test_a_down_vote_moves_the_note_down_for_that_question_only(searcher):
    question = "タイムアウトの設定"
    first = paths(searcher, question)[0]
    ballots = Ballots((Vote("U1", question, first, -1),))
    assert paths(searcher, question, ballots)[0] != first
    # nearly the same question (other particles, other spacing): moved down too
    assert paths(searcher, "タイムアウト を 設定", ballots)[0] != first
    # unrelated questions, and ones that share only some words: as before
    for other in QUESTIONS + ["Goのクライアントのタイムアウト"]:
        assert paths(searcher, other, ballots) == paths(searcher, other)


def test_up_and_down_on_the_same_question_count_by_users(searcher):
    question = "タイムアウトの設定"
    first = paths(searcher, question)[0]
    down = Vote("U1", question, first, -1)
    assert paths(searcher, question, Ballots((down, up(question, first, "U2"))))[0] == first
    assert paths(searcher, question, Ballots((down, Vote("U2", question, first, -1),
                                              up(question, first, "U3"))))[0] != first


def test_one_user_voting_one_note_for_a_thousand_questions_does_not_take_over(searcher):
    rng = random.Random(7)
    words = "GIL Go Apache サーバー タイムアウト スレッド クライアント Markdown メモリ CPU".split()
    attack = Ballots(tuple(up(" ".join(rng.sample(words, 3)) + f" {n}", "misc/markup.md",
                              "U0MALLORY", at=f"{n:04d}") for n in range(1000)))
    before = {q: paths(searcher, q, k=1) for q in QUESTIONS}
    assert {q: paths(searcher, q, attack, k=1) for q in QUESTIONS} == before
    # the note keeps the attacker's latest few questions; 1,000 users: the note's cap
    [lent] = searcher._evidence[1].asked.values()
    assert [q for _, q in lent] == [searcher._asked(v.question) for v in attack.rows[:-4:-1]]
    many = Ballots(tuple(up(v.question, v.path, f"U{n}", at=v.at)
                         for n, v in enumerate(attack.rows)))
    assert {q: paths(searcher, q, many, k=1) for q in QUESTIONS} == before
    [lent] = searcher._evidence[1].asked.values()
    assert len(lent) == votes.QUESTIONS_PER_NOTE


def test_a_renamed_note_keeps_its_votes_and_a_gone_one_is_ignored(corpus, index_dir):
    digest = notes_mod.content_hash((corpus / "tools/apache-70007.md").read_bytes())
    (corpus / "tools/apache-70007.md").rename(corpus / "tools/apr-timeup.md")
    write_note(corpus, "misc/other.md", "関係のないメモ。\n")
    data = store.load_fresh(corpus, index_dir, say=lambda _: None)
    searcher = Searcher(data)
    question = "タイムアウトの設定"
    renamed = Ballots((up(question, "tools/apache-70007.md", hash=digest),))
    assert paths(searcher, question, renamed)[0] == "tools/apr-timeup.md"
    gone = Ballots((up(question, "tools/apache-70007.md", hash="0" * 32),
                    up(question, "misc/nothing.md")))
    assert paths(searcher, question, gone) == paths(searcher, question)
    data.close()


def test_votes_without_a_hash_learn_it_from_the_index(searcher, corpus):
    ballots = Ballots((up("タイムアウトの設定", "tools/apache-70007.md"),
                       up("タイムアウトの設定", "misc/gone.md")))
    searcher.votes = ballots
    searcher.search("タイムアウトの設定")
    digest = notes_mod.content_hash((corpus / "tools/apache-70007.md").read_bytes())
    assert ballots.learned == {"tools/apache-70007.md": digest}


def test_votes_given_to_a_search_are_used_for_it_alone(searcher):
    question = "タイムアウトの設定"
    ballots = Ballots((up(question, "tools/apache-70007.md"),))
    assert searcher.search(question, votes=ballots)[0].path == "tools/apache-70007.md"
    assert paths(searcher, question)[0] != "tools/apache-70007.md"


def test_a_live_searcher_learns_from_the_votes_across_generations(corpus, built):
    from conftest import write_note
    from index import LiveSearcher, build

    question = "タイムアウトの設定"
    with LiveSearcher(built, say=lambda _: None) as live:
        live.votes = Ballots((up(question, "tools/apache-70007.md"),))
        assert live.search(question)[0].path == "tools/apache-70007.md"
        write_note(corpus, "misc/new.md", "# 新しいメモ\n追加した。\n")
        build(corpus, built)
        assert live.search(question)[0].path == "tools/apache-70007.md"
        assert live.search(question, votes=Ballots(()))[0].path != "tools/apache-70007.md"
