"""Excerpts: the passage that answers, cut at sentence ends, never longer than 200 characters."""
import pytest

from index import excerpt
from index.analyzer import Analyzer, normalize

GIL_NOTE = (
    "Pythonは人気のある言語である。\n"
    "CPythonのインタープリターは、一度にひとつのスレッドしかバイトコードを実行できない。"
    "この仕組みをGlobal Interpreter Lock (GIL) という。"
    "そのため、CPUを使う処理をスレッドで並列に走らせても速くならない！"
    "I/O待ちの多い処理なら、スレッドでも効果があるのだろうか？\n"
    "最後に、メモリの話をしておく。"
)


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer()


def answer(text, question, analyzer, **kw):
    weights = {t: 1.0 for t in analyzer(question)}
    return excerpt.best(text, weights, analyzer, normalize(question).lower().split(), **kw)


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
def test_the_excerpt_is_the_passage_that_answers(analyzer, question, must_contain):
    ex = answer(GIL_NOTE, question, analyzer)
    assert must_contain in ex.text
    assert len(ex.text) <= excerpt.MAX_CHARS


@pytest.mark.parametrize("question", ["GILって何？", "メモリ", "スレッド", "関係のない質問"])
def test_excerpts_are_whole_sentences(analyzer, question):
    ex = answer(GIL_NOTE, question, analyzer)
    sents = excerpt.sentences(GIL_NOTE)
    start = sents.index(next(s for s in sents if ex.text.startswith(s)))
    joined = ""
    for s in sents[start:]:
        joined = f"{joined} {s}".strip()
        if joined == ex.text:
            break
    else:
        pytest.fail(f"{ex.text!r} is not a run of whole sentences")


@pytest.mark.parametrize("max_chars", [200, 50, 20])
def test_excerpts_never_exceed_the_limit(analyzer, max_chars):
    text = "長い説明" * 300 + "GILが出てくる。" + "続きの文" * 300 + "。\n短い文。"
    ex = answer(text, "GIL", analyzer, max_chars=max_chars)
    assert len(ex.text) <= max_chars
    assert "GIL" in ex.text


def test_a_sentence_too_long_is_cut_around_the_match_and_marked(analyzer):
    text = "前置き" * 100 + "ここにGILがある" + "後書き" * 100 + "。"
    ex = answer(text, "GIL", analyzer)
    assert len(ex.text) == excerpt.MAX_CHARS
    assert ex.text.startswith(excerpt.ELLIPSIS) and ex.text.endswith(excerpt.ELLIPSIS)
    assert "ここにGILがある" in ex.text


@pytest.mark.parametrize("note, question, words", [
    ("ＧＩＬと（サーバー）とhttp.Clientの話。", "サーバのgilとhttp.client", {"ＧＩＬ", "サーバー", "http.Client"}),
    ("ＧＩＬと（サーバー）とhttp.Clientの話…", "サーバのgilとhttp.client", {"ＧＩＬ", "サーバー", "http.Client"}),
    ("…ﾃﾞｰﾀﾍﾞｰｽの㍻の話。", "データベース", {"ﾃﾞｰﾀﾍﾞｰｽ"}),
])
def test_excerpts_quote_the_note_as_written(analyzer, note, question, words):
    ex = answer(note, question, analyzer)
    assert ex.text == note  # not NFKC-normalised
    assert set(ex.matched) >= words


def test_control_characters_never_reach_an_excerpt(analyzer):
    ex = answer("GILの\x1b[31m説明\x00です。\x07", "GIL", analyzer)
    assert ex.text == "GILの [31m説明 です。"


@pytest.mark.parametrize("text", ["", "\n \n", "。。。", "\x00\x01"])
def test_nothing_to_show(analyzer, text):
    ex = answer(text, "GIL", analyzer)
    assert len(ex.text) <= excerpt.MAX_CHARS and ex.matched == ()


def test_no_match_shows_the_beginning(analyzer):
    assert answer(GIL_NOTE, "関係のない質問", analyzer).text.startswith("Pythonは人気のある言語である。")


def test_a_multi_megabyte_note_still_finds_its_passage(analyzer):
    filler = "サーバーのメモリを増やすと処理が速くなる。\n" * 100_000  # about 3 MB
    text = filler + "ただ一度だけホゲラッタという言葉が出てくる。\n" + filler
    ex = answer(text, "ホゲラッタとは", analyzer)
    assert "ホゲラッタ" in ex.text and len(ex.text) <= excerpt.MAX_CHARS
