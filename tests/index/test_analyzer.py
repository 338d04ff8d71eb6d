"""The analyzer: what a user types and what a note says must meet on the same terms."""
import pytest

from index.analyzer import Analyzer, dictionary_version, from_settings, is_bigram, normalize
from conftest import SHIPPED_CORPUS


@pytest.fixture(scope="module")
def analyze():
    """Words only: character bigrams are tested on their own below."""
    return Analyzer(bigrams=False)


def bigrams(text):
    return {t[1:] for t in Analyzer()(text) if is_bigram(t)}


@pytest.mark.parametrize("note, question", [
    ("東京都の人口", "京都"),          # a word inside another word
    ("量子化学計算を試した", "化学計算"),  # an unknown compound split differently
    ("サーバー管理の手順", "サーバ管理"),  # long vowel folded in bigrams too
])
def test_bigrams_find_what_the_word_split_misses(note, question):
    assert bigrams(question) <= bigrams(note)


def test_bigrams_never_collide_with_words():
    terms = Analyzer()("首都")
    assert "首都" in terms and "\x02首都" in terms
    assert not any(is_bigram(t) for t in Analyzer(bigrams=False)("首都"))


@pytest.mark.parametrize("a, b", [
    ("サーバー", "サーバ"),
    ("サーバーを再起動した", "サーバを再起動する"),
    ("ユーザーの設定", "ユーザの設定"),
    ("コンピューターが壊れた", "コンピュータが壊れる"),
    ("インタープリター", "インタープリタ"),
    ("スレッドを走らせた", "スレッドを走らせる"),
    ("コードを書きました", "コードを書く"),
    ("動かない", "動く"),
    ("ＧＩＬとは", "GILとは"),
    ("ＨＴＴＰ．Ｃｌｉｅｎｔ", "http.Client"),
    ("１２３４５番", "12345番"),
    ("ﾃﾞｰﾀﾍﾞｰｽ", "データベース"),
    ("Python", "PYTHON"),
])
def test_variants_give_the_same_terms(analyze, a, b):
    assert analyze(a) == analyze(b)


@pytest.mark.parametrize("text, expected", [
    ("http.Clientを使う", ["http.client", "使う"]),
    ("oslo_serviceの問題", ["oslo_service", "問題"]),
    ("エラー70007が出た", ["70007", "出る"]),
    ("Go 1.5でクロスコンパイル", ["go", "1.5", "コンパイル"]),
    ("GILって何？", ["gil", "何"]),
    ("PythonのGlobal Interpreter Lock", ["python", "global", "interpreter", "lock"]),
    ("サーバーを走らせた", ["サーバ", "走る"]),
])
def test_terms_a_user_searches_for_are_kept(analyze, text, expected):
    terms = analyze(text)
    for term in expected:
        assert term in terms, (text, terms)


@pytest.mark.parametrize("identifier, parts", [
    ("http.Client", ["http", "client"]),
    ("oslo_service", ["oslo", "service"]),
])
def test_identifiers_are_found_by_their_parts_too(analyze, identifier, parts):
    terms = analyze(f"{identifier}について")
    assert identifier.lower() in terms
    assert all(p in terms for p in parts)


@pytest.mark.parametrize("text, kept, dropped", [
    ("私はコーヒーを飲みました", ["私", "コーヒ", "飲む"], ["は", "を", "ます", "た"]),
    ("今日はよい天気でした。", ["今日", "良い", "天気"], ["は", "です", "た", "。"]),
    ("本当ですか？！", ["本当"], ["です", "か", "？", "！", "?", "!"]),
    ("「設定」・（メモ）…", ["設定", "メモ"], ["「", "」", "・", "(", ")", "…", "..."]),
])
def test_particles_auxiliaries_and_symbols_are_dropped(analyze, text, kept, dropped):
    terms = analyze(text)
    assert all(t in terms for t in kept), terms
    assert not set(dropped) & set(terms), terms


@pytest.mark.parametrize("text, dropped", [
    ("することがある", ["為る", "事", "有る", "する", "ある"]),
    ("そのようなものがある", ["其の", "様", "物", "有る"]),
    ("このためにこれとそれを使う", ["此の", "為", "此れ", "其れ"]),
    ("サーバーになっている", ["成る", "居る"]),
])
def test_stop_words_are_dropped(analyze, text, dropped):
    assert not set(dropped) & set(analyze(text))


@pytest.mark.parametrize("text", [
    "",
    "\x00\x01\x1b[31m\x7f",
    "😀🐍🔥" * 100,
    "<!channel> <@U012ABCDEF> <https://example.com|リンク>",
    "ア" * 50_000,
    "GIL " * 20_000,
    "\ud800 壊れたサロゲート \udcff",
    "\u200b\u2028\ufeff",
])
def test_hostile_text_never_raises(analyze, text):
    terms = analyze(text)
    assert all(isinstance(t, str) and t.strip() == t and t for t in terms)


def test_lone_surrogates_do_not_hide_the_rest_of_the_question(analyze):
    # what Python makes of invalid UTF-8 on the command line (surrogateescape)
    assert analyze("GIL\udcffって何？") == analyze("GIL って何？")


def test_long_text_is_cut_at_sentence_ends_not_inside_words(analyze):
    sentence = "メモリを増やすとサーバーが速くなる。"
    text = sentence * 1000
    assert set(analyze(text)) == set(analyze(sentence))
    assert len(analyze(text)) == 1000 * len(analyze(sentence))


def test_token_spans_point_at_the_text(analyze):
    text = normalize("ＧＩＬはhttp.Clientとサーバーを走らせた")
    for tok in analyze.tokens(text):
        surface = text[tok.start:tok.end]
        assert surface, tok
        assert analyze(surface)[0] == tok.term or tok.term in analyze(surface)


def test_normalize_folds_width_and_blanks_control_characters():
    assert normalize("ＧＩＬ\x00１２３") == "GIL 123"


def test_settings_record_the_dictionary_and_round_trip():
    settings = Analyzer().settings()
    assert settings["dictionary"] == dictionary_version()
    assert dictionary_version().startswith("unidic-lite ")
    assert from_settings(settings).settings() == settings


@pytest.mark.parametrize("change", [
    {"dictionary": "unidic-lite 0.0.1"},
    {"version": 1},
    {"name": "something-else"},
])
def test_other_settings_are_refused(change):
    settings = dict(Analyzer().settings(), **change)
    with pytest.raises(ValueError, match="analyzer"):
        from_settings(settings)


def _shipped_texts():

    from index import notes
    corpus = SHIPPED_CORPUS
    out = []
    for info in notes.scan(corpus).files:
        note = notes.parse(info.path, notes.read_bytes(info)[0])[0]
        out += [note.title, note.text]
    return out


@pytest.mark.parametrize("settings", [{}, {"bigrams": False}, {"glosses": False},
                                      {"ascii_parts": False}])
def test_counts_are_the_terms_of_tokens(settings):
    """The build's fast path (counts) and the path with spans (tokens) make the same terms."""
    from collections import Counter
    analyzer = Analyzer(**settings)
    texts = _shipped_texts() + [
        "", "ア" * 5000 + "ー", "サーバー管理ー ーア ア ー", "ﾃﾞｰﾀﾍﾞｰｽとＤＢ", "Tシャツ X線 ビタミンC",
        "http.client.HTTPConnection と oslo_service.loopingcall 1.5.2", "\ud800壊れた\udcff",
        "メモリを増やすとサーバーが速くなる。" * 400, HOMOGRAPHS, "  前の空白　全角空白\n\n改行\tタブ"]
    for text in texts * 2:  # twice: the second time from counts' cache
        assert analyzer.counts(text) == Counter(t.term for t in analyzer.tokens(normalize(text)))


# Each word here shares its surface and its connection ids with dictionary words of other lemmas
# (降る/下る, 因る/寄る/選る, 汁/梅雨, ビール-beer/veal, 事/異/琴): counts finds the lemma by those
# alone, so it must find the one MeCab chose.
HOMOGRAPHS = "雨が降った。予報によると、つゆの時期はビールがうまいとのことだ。"


def test_counts_find_the_homograph_mecab_chose():
    analyzer = Analyzer(bigrams=False)
    terms = set(analyzer.counts(HOMOGRAPHS))
    assert {"降る", "因る", "汁", "ビール", "beer"} <= terms
    assert not terms & {"下る", "寄る", "選る", "梅雨", "veal"}


def test_normalize_is_nfkc_of_the_whole_text():
    """normalize() only normalises the runs that need it; the result must be NFKC all the same."""
    import random
    import unicodedata
    ranges = [(0x20, 0x7F), (0xC0, 0x180), (0x300, 0x370), (0x1100, 0x1200), (0x2070, 0x2090),
              (0x2460, 0x2480), (0x3000, 0x3040), (0x3041, 0x30FF), (0x3300, 0x3320),
              (0x4E00, 0x4E40), (0xAC00, 0xAC40), (0xF900, 0xF920), (0xFB00, 0xFB07),
              (0xFF01, 0xFFA0)]  # kana with combining marks, Hangul jamo, compatibility forms
    pool = [chr(c) for lo, hi in ranges for c in range(lo, hi)]
    rnd = random.Random(7)
    for _ in range(5000):
        text = "".join(rnd.choice(pool) for _ in range(rnd.randint(0, 10)))
        assert normalize(text) == normalize(unicodedata.normalize("NFKC", text)), repr(text)
        assert unicodedata.is_normalized("NFKC", normalize(text)), repr(text)


def test_analyzers_share_one_mecab_per_output_format():
    # a tagger never unmaps the dictionary: one per analyzer would keep more and more mapped
    from index import analyzer as analyzer_mod

    Analyzer()("GILって何？")
    Analyzer().counts("GILって何？")
    before = dict(analyzer_mod._TAGGERS)
    for _ in range(3):
        Analyzer()("スレッドの話")
        Analyzer().counts("スレッドの話")
    assert analyzer_mod._TAGGERS == before and len(before) <= 3


def test_threads_can_analyse_at_once():
    from concurrent.futures import ThreadPoolExecutor

    texts = ["GILはスレッドを一つずつ動かす。", "サーバーのメモリを増やす。", "http.Clientの使い方"] * 30
    expected = [Analyzer()(t) for t in texts]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda t: Analyzer()(t), texts)) == expected
