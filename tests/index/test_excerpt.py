"""Excerpts: the passage that answers, cut at sentence ends, never longer than 200 characters.

Excerpts are looked at as a user gets them: the top hit of a search over an index of one note.
"""
import itertools

import pytest

from conftest import write_note
from index import excerpt, generation, store
from index.search import Searcher

GIL_NOTE = (
    "Pythonは人気のある言語である。\n"
    "CPythonのインタープリターは、一度にひとつのスレッドしかバイトコードを実行できない。"
    "この仕組みをGlobal Interpreter Lock (GIL) という。"
    "そのため、CPUを使う処理をスレッドで並列に走らせても速くならない！"
    "I/O待ちの多い処理なら、スレッドでも効果があるのだろうか？\n"
    "最後に、メモリの話をしておく。"
)
LIMIT = excerpt.MAX_CHARS


@pytest.fixture
def excerpt_of(tmp_path):
    """excerpt_of(note_text, question) -> the top Hit for ``question`` over an index of that one
    note (plain text, so the note reads exactly as written), or None."""
    count = itertools.count()

    def run(text, question, name="note.txt"):
        root = tmp_path / f"corpus{next(count)}"
        index_dir = tmp_path / f"index{next(count)}"
        write_note(root, name, text)
        store.build(root, index_dir)
        data = generation.load(index_dir)
        try:
            hits = Searcher(data).search(question, k=1)
        finally:
            data.close()
        return hits[0] if hits else None

    return run


@pytest.mark.parametrize("text, expected", [
    ("一文目。二文目！三文目？", ["一文目。", "二文目！", "三文目？"]),
    ("改行で\n切れる\n\n空行は消える", ["改行で", "切れる", "空行は消える"]),
    ("Really? Yes! 本当。。", ["Really?", "Yes!", "本当。。"]),
    ("  空白が   たたまれる 。", ["空白が たたまれる 。"]),
    ("句点で終わらない最後の文", ["句点で終わらない最後の文"]),
    ("", []),
    ("\n\n\n", []),
])
def test_sentences(text, expected):
    assert excerpt.sentences(text) == expected


@pytest.mark.parametrize("question, must_contain", [
    ("GILって何？", "Global Interpreter Lock (GIL)"),
    ("スレッドを並列に走らせると速い？", "並列に走らせても速くならない！"),
    ("メモリ", "最後に、メモリの話をしておく。"),
    ("I/O待ちの処理", "I/O待ちの多い処理なら"),
])
def test_the_excerpt_is_the_passage_that_answers(excerpt_of, question, must_contain):
    hit = excerpt_of(GIL_NOTE, question)
    assert must_contain in hit.excerpt
    assert len(hit.excerpt) <= LIMIT


def _is_run_of_sentences(passage: str, text: str) -> bool:
    sents = excerpt.sentences(text)
    for start in range(len(sents)):
        for end in range(start + 1, len(sents) + 1):
            if " ".join(sents[start:end]) == passage:
                return True
    return False


@pytest.mark.parametrize("question", ["GILって何？", "メモリ", "スレッド", "バイトコード", "効果"])
def test_excerpts_are_whole_sentences(excerpt_of, question):
    hit = excerpt_of(GIL_NOTE, question)
    assert _is_run_of_sentences(hit.excerpt, GIL_NOTE), hit.excerpt


@pytest.mark.parametrize("text", [
    "長い説明の文。" * 100 + "GILが出てくる。" + "続きの文。" * 100,
    "長い説明の文\n" * 100 + "GILが出てくる\n" + "続きの文\n" * 100,
    "前置きの長い文" * 50 + "。GILが出てくる。" + "後の長い文" * 50 + "。",
])
def test_excerpts_never_exceed_the_limit_and_keep_the_match(excerpt_of, text):
    hit = excerpt_of(text, "GIL")
    assert len(hit.excerpt) <= LIMIT
    assert "GILが出てくる" in hit.excerpt
    assert _is_run_of_sentences(hit.excerpt, text)


def test_a_sentence_too_long_is_cut_around_the_match_and_marked(excerpt_of):
    text = "前置き" * 100 + "ここにGILがある" + "後書き" * 100 + "。"
    hit = excerpt_of(text, "GIL")
    assert len(hit.excerpt) == LIMIT
    assert hit.excerpt.startswith(excerpt.ELLIPSIS) and hit.excerpt.endswith(excerpt.ELLIPSIS)
    assert "ここにGILがある" in hit.excerpt


@pytest.mark.parametrize("note, question, words", [
    ("ＧＩＬと（サーバー）とhttp.Clientの話。", "サーバのgilとhttp.client", ["ＧＩＬ", "サーバ", "http.Client"]),
    ("ＧＩＬと（サーバー）とhttp.Clientの話…", "サーバのgilとhttp.client", ["ＧＩＬ", "サーバ", "http.Client"]),
    ("…ﾃﾞｰﾀﾍﾞｰｽの㍻の話。", "データベース", ["ﾃﾞｰﾀﾍﾞｰｽ"]),
    ("oslo_serviceでエラー70007が出た。", "oslo_service 70007", ["oslo_service", "70007"]),
])
def test_excerpts_quote_the_note_as_written(excerpt_of, note, question, words):
    hit = excerpt_of(note, question)
    assert hit.excerpt == note  # not NFKC-normalised
    # matched words, for highlighting, are as written in the excerpt
    assert all(m in hit.excerpt for m in hit.matched)
    for word in words:
        assert any(m.startswith(word) for m in hit.matched), (word, hit.matched)


def test_control_characters_never_reach_an_excerpt(excerpt_of):
    hit = excerpt_of("GILの\x1b[31m説明\x7fです。\x07", "GIL")
    assert hit.excerpt == "GILの [31m説明 です。"


def test_a_match_in_the_title_only_shows_the_beginning(excerpt_of):
    hit = excerpt_of("---\ntitle: ガベージコレクション\n---\n" + GIL_NOTE, "ガベージコレクション",
                     name="gc.md")
    assert hit.excerpt.startswith("Pythonは人気のある言語である。")
    assert len(hit.excerpt) <= LIMIT


def test_a_long_note_still_finds_its_passage(excerpt_of):
    filler = "サーバーのメモリを増やすと処理が速くなる。ディスクの速さも大事だ。\n" * 3_000  # 100k chars
    hit = excerpt_of(filler + "ただ一度だけホゲラッタという言葉が出てくる。\n" + filler, "ホゲラッタとは")
    assert "ホゲラッタ" in hit.excerpt and len(hit.excerpt) <= LIMIT


@pytest.mark.parametrize("needle, inside", [("20", "2014"), ("api", "rapid"), ("http", "https")])
def test_a_word_of_letters_or_digits_is_not_found_inside_a_longer_one(needle, inside):
    filler = "ここには関係のない説明の文が続いていて、探している言葉は出てこない。" * 8
    text = f"{filler}\n{inside}の話。\n{filler}\n{needle}の話。\n{filler}"
    found = excerpt.best(text, [excerpt.Needle(needle, needle, 1.0)])
    assert f"{needle}の話。" in found.text and inside not in found.text


@pytest.mark.parametrize("question", ["本部ビルが建てられたのはいつ？", "本部ビルは何年に建てられた？"])
def test_a_question_asking_when_gets_the_passage_with_a_number(excerpt_of, question):
    filler = "ここには関係のない説明の文が続いていて、探している言葉は出てこない。" * 8
    text = (f"{filler}\n本部ビルは駅の近くの丘の上に建てられた。\n{filler}\n"
            f"現在の本部ビルは2005年に建てられた。\n{filler}")
    hit = excerpt_of(text, question)
    assert "2005年" in hit.excerpt


def test_other_questions_get_the_passage_that_matches_best(excerpt_of):
    filler = "ここには関係のない説明の文が続いていて、探している言葉は出てこない。" * 8
    text = (f"{filler}\n本部ビルは駅の近くの丘の上に建てられた。\n{filler}\n"
            f"現在の本部ビルは2005年に建てられた。\n{filler}")
    assert "丘の上" in excerpt_of(text, "本部ビルは丘の上に建てられた？").excerpt


def test_searching_the_whole_note_finds_what_searching_each_sentence_finds():
    """best() looks for each needle once in the whole normalised note and maps what it finds
    back to sentences; that must be what looking in each sentence alone finds, and what it
    quotes must be where it was found (℃ → °C and ｶﾞ → ガ in one sentence used to shift it)."""
    import random

    from index.analyzer import normalize

    rnd = random.Random(7)
    pieces = ["サーバ", "ー", "設定", "の", "ｶﾞ", "ﾃﾞｰﾀ", "ＧＩＬ", "gil", "Api", "rapid", "2014",
              "20", "…", "℃", "。", "！", "?", "\n", " ", "\t", "\x01", "（", "）", "ガ", "\u3099",
              "İ", "ﬁ"]
    for _ in range(2000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 30)))
        low = normalize(text).lower()
        needles = []
        for _ in range(rnd.randint(1, 4)):  # pieces of the note itself, and some that are not
            a = rnd.randint(0, len(low))
            piece = low[a:a + rnd.randint(1, 4)] if rnd.random() < 0.8 else rnd.choice(pieces)
            piece = "".join(piece.split())  # (a question's terms hold no white space)
            if piece:
                needles.append(excerpt.Needle(piece, piece, 1.0))
        spans = list(excerpt._spans(text))
        found = excerpt._all_matches(text, spans, needles)
        assert found == [excerpt._matches(s, needles) for _, _, s in spans], (text, needles)
        for needle, written in itertools.chain.from_iterable(found):  # quoted from its place
            # ("": a sentence that lower() lengthens, İ → i̇, has no offsets to quote from)
            assert not written or needle.text in normalize(written).lower(), (text, written)


def test_the_quick_ways_give_what_the_careful_ways_give():
    """Most notes are normalised a character at a time with offsets kept as they are, and cut
    into sentences with str methods; that must be what the unit by unit normalisation (with
    its offsets) and the plain regular expressions give."""
    import random

    def sentences_by_regex(text):
        folded = ((m, excerpt._SPACES.sub(" ", m.group()).strip())
                  for m in excerpt._SENTENCE.finditer(text))
        return [(m.start(), m.end(), s) for m, s in folded if s]

    rnd = random.Random(11)
    pieces = ["設定", "カナ", "ab", " ", "  ", "。", "！", "?", "\n", "\t", "\r", "\u3000", "\xa0",
              "\x85", "\x00", "\x1f", "\x9f", "\ud800", "\u2028", "\u200b", "\ufeff", "（", "「",
              "・", "ＧＩＬ", "…", "℃", "ﬁ", "ｶ", "\uff9e", "\u3099", "\u1100\u1161", "㈱", "İ"]
    quick = 0
    for _ in range(5000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 12)))
        norm, origin = excerpt._normalize_with_origin(text)
        quick += isinstance(origin, range)
        assert (norm, list(origin)) == excerpt._normalize_by_units(text), repr(text)
        assert list(excerpt._spans(text)) == sentences_by_regex(text), repr(text)
    assert 1000 < quick < 4000  # (both ways were taken)
