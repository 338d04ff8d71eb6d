"""Search over the tiny corpus: what a user types finds the note that says it."""
import json

import pytest

from index import generation

from index.errors import IndexUnusable
from index.search import Hit, Searcher


@pytest.fixture
def searcher(built):
    data = generation.load(built)
    yield Searcher(data)
    data.close()


@pytest.mark.parametrize("question, first", [
    ("GILって何？", "python/gil.md"),
    ("ＧＩＬ", "python/gil.md"),
    ("スレッドを並列に走らせた", "python/gil.md"),
    ("サーバーの選び方", "misc/server.md"),
    ("サーバ", "misc/server.md"),
    ("http.Client", "go/http-client.md"),
    ("HTTP.CLIENTのタイムアウト", "go/http-client.md"),
    ("oslo_service", "openstack/oslo.md"),
    ("eventletとoslo", "openstack/oslo.md"),
    ("70007", "tools/apache-70007.md"),
    ("Apacheのエラー", "tools/apache-70007.md"),
    ("Go 1.5", "go/cross-compile.md"),
    ("クロスコンパイルしたい", "go/cross-compile.md"),
    ("12345", "misc/fullwidth.txt"),
    ("docker", "misc/fullwidth.txt"),
    ("HTMLブロックの注意書き", "misc/markup.md"),
])
def test_the_note_that_answers_comes_first(searcher, question, first):
    hits = searcher.search(question, k=3)
    assert hits and hits[0].path == first, [h.path for h in hits]


@pytest.mark.parametrize("a, b", [
    ("サーバー", "サーバ"),
    ("ＧＩＬ", "gil"),
    ("HTTP.CLIENT", "http.Client"),
    ("走らせた", "走らせる"),
    ("エラー７０００７", "エラー70007"),
])
def test_spelling_variants_give_the_same_answers(searcher, a, b):
    assert ([(h.path, h.score) for h in searcher.search(a, k=5)]
            == [(h.path, h.score) for h in searcher.search(b, k=5)])


def test_results_are_best_first_with_positive_scores(searcher):
    hits = searcher.search("スレッドとサーバーとGo", k=10)
    assert len(hits) >= 3
    assert all(h.score > 0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({h.path for h in hits}) == len(hits)


def test_pages_of_results_continue_each_other(searcher):
    question = "スレッドとサーバーとGo"
    everything = searcher.search(question, k=10)
    pages = searcher.search(question, k=2) + searcher.search(question, k=2, offset=2) + \
        searcher.search(question, k=10, offset=4)
    assert [h.path for h in pages] == [h.path for h in everything]
    assert searcher.search(question, k=3, offset=len(everything)) == []


@pytest.mark.parametrize("question", ["", "   ", "xyzzy", "？！。", "はがを", "😀"])
def test_nothing_to_find_is_an_empty_list(searcher, question):
    assert searcher.search(question, k=3) == []


def test_k_of_zero_finds_nothing(searcher):
    assert searcher.search("GIL", k=0) == []


def test_a_hit_carries_what_adapters_need(searcher):
    [hit] = searcher.search("GILって何？", k=1)
    assert isinstance(hit, Hit)
    assert (hit.path, hit.url, hit.date, hit.tags) == (
        "python/gil.md", "https://example.com/gil", "2019-05-01", ("python", "gil"))
    assert "GIL" in hit.matched
    assert all(m in hit.excerpt for m in hit.matched)
    assert hit.to_json() == {"path": "python/gil.md", "title": hit.title,
                             "score": round(hit.score, 4),
                             "confidence": round(hit.confidence, 4), "excerpt": hit.excerpt,
                             "url": "https://example.com/gil", "date": "2019-05-01"}


def test_tags_in_a_string_are_kept(searcher):
    [hit] = searcher.search("サーバーの選び方", k=1)
    assert hit.tags == ("サーバ", "ハードウェア")


def test_an_index_made_by_another_analyzer_is_refused(built):

    manifest_path = built / (built / "CURRENT").read_text().strip() / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["analyzer"]["dictionary"] = "unidic-lite 0.0.1"
    manifest_path.write_text(json.dumps(manifest))
    data = generation.load(built)
    try:
        with pytest.raises(IndexUnusable, match="analyzer"):
            Searcher(data)
    finally:
        data.close()


def test_hits_past_the_excerpts_asked_for_have_none(searcher):
    full = searcher.search("スレッド", k=3)
    cut = searcher.search("スレッド", k=3, excerpts=1)
    assert [h.path for h in cut] == [h.path for h in full] and len(full) > 1
    assert cut[0] == full[0] and all(h.excerpt == "" and h.matched == () for h in cut[1:])
