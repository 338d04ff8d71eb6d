"""Confidence: every result says how well it answers, and a question the notes do not answer is
told so — in JSON, on the terminal, in eval, in doctor and in Slack."""
from __future__ import annotations

import json

import pytest

from conftest import NOTES, SHIPPED_CORPUS, write_note
from fakes import payloads as P
from fakes.bot import running
from index import generation, store
from index.search import DEFAULT_MIN_CONFIDENCE, Searcher

WEAK = "サーバーの再起動の手順"  # server.md shares サーバー, nothing else: a weak match


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Searcher:
    root = tmp_path_factory.mktemp("tiny")
    for rel, text in NOTES.items():
        write_note(root / "corpus", rel, text)
    store.build(root / "corpus", root / "index")
    return Searcher(generation.load(root / "index"))


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> Searcher:
    index_dir = tmp_path_factory.mktemp("shipped") / "index"
    store.build(SHIPPED_CORPUS, index_dir)
    return Searcher(generation.load(index_dir))


def first(searcher: Searcher, question: str):
    hits = searcher.search(question, k=3)
    return (hits[0].path, hits[0].confidence) if hits else (None, 0.0)


# ---------------------------------------------------------------- the number

@pytest.mark.parametrize("question, path", [
    ("GILって何？", "python/gil.md"),
    ("What is the GIL?", "python/gil.md"),
    ("Goのhttp.Clientのタイムアウト", "go/http-client.md"),
    ("70007エラー", "tools/apache-70007.md"),
])
def test_a_right_answer_is_confident(tiny, question, path):
    assert first(tiny, question)[0] == path
    assert DEFAULT_MIN_CONFIDENCE <= first(tiny, question)[1] <= 1


@pytest.mark.parametrize("question", [WEAK, "timeout settings for Kafka consumers",
                                      "Javaのスレッドのチューニング"])
def test_a_question_the_notes_do_not_answer_is_not_confident(tiny, question):
    path, confidence = first(tiny, question)
    assert path is not None  # the closest notes are still listed
    assert 0 < confidence < DEFAULT_MIN_CONFIDENCE


def test_confidence_does_not_grow_with_a_pasted_question(tiny):
    once = first(tiny, "GILとスレッド")[1]
    assert first(tiny, "GILとスレッド " * 120)[1] == pytest.approx(once, rel=1e-4)


def test_a_perfect_match_in_a_one_note_archive_is_confident(tmp_path):
    write_note(tmp_path / "corpus", "gil.md", NOTES["python/gil.md"])
    store.build(tmp_path / "corpus", tmp_path / "index")
    [hit] = Searcher(generation.load(tmp_path / "index")).search("GILって何？")
    assert hit.score < 1 and hit.confidence >= DEFAULT_MIN_CONFIDENCE


def test_confidence_falls_with_each_word_no_note_has(tiny):
    assert first(tiny, "GILの仕組み")[1] > first(tiny, "GILの仕組みと量子計算")[1] \
        > first(tiny, "GILの仕組みと量子計算とブロックチェーン")[1]


# ---------------------------------------------------------------- weak matches that are no match

@pytest.mark.parametrize("question", ["何？", "a", "What is it?"])
def test_a_note_sharing_nothing_but_filler_is_not_listed(shipped, question):
    # question words, English function words
    assert shipped.search(question, k=3) == []


@pytest.mark.parametrize("question", ["新しいメンバーのオンボーディング", "チューニング",
                                      "ディープラーニング"])
def test_bigrams_of_an_unknown_loanword_alone_do_not_make_an_answer(shipped, question):
    # ング, ーニ ... of a loanword no note has are in コーディング, ラーニング ...
    listed = [h.path for h in shipped.search(question, k=10)]
    assert "openstack/coding-style-check.md" not in listed


def test_letters_and_digits_written_together_find_them_written_apart(shipped):
    assert first(shipped, "PEP8")[0] == "python/documents.md"  # the note writes "PEP 8"


def test_english_function_words_do_not_pick_the_note(shipped):
    assert first(shipped, "How to set up DevStack on AWS")[0] == "openstack/devstack-aws.md"


def test_english_function_words_count_only_in_an_english_question(tiny):
    # in a Japanese question an English word is a name ("Made in Abyss", "I/O")
    assert "i" in tiny.question_terms("I/O待ちの処理")
    assert "i" not in tiny.question_terms("waiting on I/O")


# ---------------------------------------------------------------- ask, console, eval, doctor

def test_json_says_whether_the_question_was_answered(run_cli, corpus):
    result = run_cli(["ask", "--json", "--corpus", corpus], stdin=f"GILって何？\n{WEAK}\n")
    good, weak = map(json.loads, result.out.splitlines())
    assert good["answered"] is True and good["results"][0]["confidence"] >= 0.3
    assert weak["answered"] is False and weak["results"]  # listed all the same
    assert all(0 < r["confidence"] < 0.3 for r in weak["results"])


@pytest.mark.parametrize("setting, answered", [("0", True), ("1", False), ("0.2", True)])
def test_the_threshold_is_a_setting(run_cli, corpus, monkeypatch, setting, answered):
    monkeypatch.setenv("NOTEBOT_MIN_CONFIDENCE", setting)
    result = run_cli(["ask", "--json", WEAK if setting != "1" else "GILって何？",
                      "--corpus", corpus])
    assert json.loads(result.out)["answered"] is answered


def test_the_flag_wins_over_the_environment(run_cli, corpus, monkeypatch):
    monkeypatch.setenv("NOTEBOT_MIN_CONFIDENCE", "1")
    result = run_cli(["ask", "--json", "GILって何？", "--min-confidence", "0.1",
                      "--corpus", corpus])
    assert json.loads(result.out)["answered"] is True


@pytest.mark.parametrize("value", ["high", "1.5", "-0.1", "nan"])
def test_a_bad_threshold_is_one_line_and_exit_2(run_cli, corpus, monkeypatch, value):
    monkeypatch.setenv("NOTEBOT_MIN_CONFIDENCE", value)
    result = run_cli(["ask", "GIL", "--corpus", corpus])
    assert result.rc == 2
    assert result.err.count("\n") == 1 and "NOTEBOT_MIN_CONFIDENCE" in result.err


@pytest.mark.parametrize("question, says", [
    (WEAK, "確信を持って答えられるノートはありません"),
    ("timeout settings for Kafka consumers", "No note answers this confidently"),
])
def test_the_terminal_says_first_when_no_note_answers(run_cli, corpus, question, says):
    lines = run_cli(["ask", question, "--corpus", corpus]).out.splitlines()
    assert says in lines[0]
    numbered = [line for line in lines if line[:1].isdigit()]
    assert numbered and all("弱い一致" in n or "weak match" in n for n in numbered)


def test_a_confident_answer_looks_as_before(run_cli, corpus):
    lines = run_cli(["ask", "GILって何？", "--corpus", corpus]).out.splitlines()
    assert lines[0].startswith("1. PythonのGlobal Interpreter Lock (GIL) について  [python/gil.md")
    assert "弱い一致" not in lines[0] and "confidence" in lines[0]


def test_the_console_marks_weak_matches_and_their_next_page(tiny):
    import io

    from bot.console import Console

    out = io.StringIO()
    con = Console(tiny, k=1, out=out)
    con.handle(WEAK)
    con.handle("m")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("確信を持って答えられるノートはありません")
    numbered = [line for line in lines if line[:1].isdigit()]
    assert [n[:2] for n in numbered] == ["1.", "2."]
    assert all("（弱い一致）" in n for n in numbered)


def test_eval_counts_the_answered_and_the_right_among_them(run_cli, corpus, tmp_path):
    questions = tmp_path / "q.tsv"
    questions.write_text(f"GILって何？\tpython/gil.md\n{WEAK}\tmisc/server.md\n", encoding="utf-8")
    out = run_cli(["eval", questions, "--corpus", corpus]).out
    assert "answered 1 of 2 (confidence ≥ 0.3); of those, right first 1.000" in out


def test_doctor_shows_the_threshold(run_cli, corpus, monkeypatch):
    monkeypatch.setenv("NOTEBOT_MIN_CONFIDENCE", "0.45")
    out = run_cli(["doctor", "--offline", "--corpus", corpus]).out
    assert "ok    answers minimum confidence 0.45 (NOTEBOT_MIN_CONFIDENCE)" in out


# ---------------------------------------------------------------- Slack

@pytest.fixture
def slack(corpus, index_dir, tmp_path):
    with running(corpus, index_dir, tmp_path / "votes.sqlite3") as r:
        yield r


def test_slack_says_no_confident_answer_in_a_short_reply(slack):
    P.deliver(slack.url, P.event(P.mention(WEAK)))
    [post] = slack.fake.wait_for("chat.postMessage")
    blocks = post.params["blocks"]
    assert "確信を持って答えられるノートはありません" in post.params["text"]
    assert "サーバーの選び方" in blocks[0]["text"]["text"]  # the closest note, by title
    assert [b["type"] for b in blocks] == ["section", "actions"]  # no excerpts, no votes
    show = P.button(blocks, "show")
    P.deliver(slack.url, P.click(show, slack.fake.response_url("show")), kind="action")
    [full] = slack.fake.wait_for("response/show")
    assert full.params["response_type"] == "ephemeral"  # for whoever asked to see them
    assert full.params["replace_original"] is False
    assert "弱い一致" in full.params["blocks"][0]["text"]["text"]
    assert "misc/server.md" in json.dumps(full.params["blocks"], ensure_ascii=False)
    assert P.button(full.params["blocks"], "vote_up")


def test_slack_answers_a_confident_question_as_always(slack):
    P.deliver(slack.url, P.event(P.mention("What is the GIL?")))
    [post] = slack.fake.wait_for("chat.postMessage")
    assert post.params["text"].startswith("Notes for “What is the GIL?”")
    assert P.button(post.params["blocks"], "vote_up")


def test_slash_command_without_a_confident_answer_opens_in_place(slack):
    P.deliver(slack.url, P.slash("timeout settings for Kafka consumers",
                                 slack.fake.response_url("cmd")), kind="command")
    [short] = slack.fake.wait_for("response/cmd")
    assert short.params["text"].startswith(
        "No note answers “timeout settings for Kafka consumers” confidently")
    show = P.button(short.params["blocks"], "show")
    P.deliver(slack.url, P.click(show, slack.fake.response_url("show"), ephemeral=True),
              kind="action")
    [full] = slack.fake.wait_for("response/show")
    assert full.params["replace_original"] is True
    assert P.button(full.params["blocks"], "share")


def test_a_note_of_question_words_is_left_out_even_when_it_ranks_first(tmp_path):
    # 何 is weighted down, but a note full of 何 can still outscore one mention of 量子 in a
    # note far longer than the others: that note is the answer, the other is not listed at all
    write_note(tmp_path / "c", "what.md", "---\ntitle: 何 何 何\n---\n何が何でも何とかする。\n")
    write_note(tmp_path / "c", "long.md", "量子の話。" + "計算機と暗号と通信について。" * 300)
    for n in range(30):
        write_note(tmp_path / "c", f"other{n}.md", f"天気の話{n}。\n")
    store.build(tmp_path / "c", tmp_path / "i")
    searcher = Searcher(generation.load(tmp_path / "i"))
    data = searcher.data
    terms = searcher.question_terms("量子って何？")
    whole = data.score([data.vocab[t] for t in terms], list(terms.values()))
    assert data.doc(int(whole.argmax()))["path"] == "what.md"  # the trap is set
    assert [h.path for h in searcher.search("量子って何？", k=3)] == ["long.md"]
