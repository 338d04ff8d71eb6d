"""The index's segments: incremental builds write only what changed, and answer exactly as a
full build would; damaged or old-format indexes are refused and rebuilt."""
import json
import os

import numpy as np
import pytest

from conftest import bump_mtime, write_note
from index import generation, manifest, merge, store
from index.errors import IndexUnusable
from index.search import Searcher

QUESTIONS = ["GILって何？", "http.Clientのタイムアウト", "サーバーのメモリ", "70007エラー",
             "oslo_serviceとeventlet", "クロスコンパイル", "コンテナの調査メモ"]


def _edit(corpus):
    """A day of work on the notes: one added, one changed, one removed."""
    write_note(corpus, "misc/container.md", "---\ntitle: コンテナの調査メモ\n---\n"
               "Kubernetesでコンテナを動かすと、サーバーのメモリが足りなくなった。\n")
    changed = corpus / "misc/server.md"
    changed.write_text(changed.read_text(encoding="utf-8") + "ディスクはSSDにする。\n",
                       encoding="utf-8")
    bump_mtime(changed)
    (corpus / "go/cross-compile.md").unlink()


def _count_notes(corpus):
    return sum(1 for p in corpus.rglob("*") if p.is_file())


def _answers(index_dir):
    data = generation.load(index_dir)
    try:
        searcher = Searcher(data)
        return {q: sorted((h.path, h.score) for h in searcher.search(q, k=20)) for q in QUESTIONS}
    finally:
        data.close()


@pytest.mark.parametrize("merge_fraction, segments", [(100.0, 2), (0.0, 1)])
def test_incremental_build_answers_exactly_as_a_full_build(corpus, tmp_path, monkeypatch,
                                                           merge_fraction, segments):
    monkeypatch.setattr(merge, "MERGE_FRACTION", merge_fraction)
    store.build(corpus, tmp_path / "incremental")
    _edit(corpus)
    report = store.build(corpus, tmp_path / "incremental")
    assert (report.added, report.changed, report.removed) == (1, 1, 1)
    store.build(corpus, tmp_path / "full", full=True)
    assert len(generation.load(tmp_path / "incremental").segments) == segments
    assert _answers(tmp_path / "incremental") == _answers(tmp_path / "full")


def test_incremental_build_links_the_large_segment_and_writes_only_the_changes(
        corpus, index_dir, monkeypatch):
    monkeypatch.setattr(merge, "MERGE_FRACTION", 1.0)
    store.build(corpus, index_dir)
    first = generation.load(index_dir)
    write_note(corpus, "misc/container.md", "# コンテナの調査メモ\nコンテナを動かした。\n")
    store.build(corpus, index_dir)
    second = generation.load(index_dir)
    base = first.segments[0].name
    assert [s.name for s in second.segments][0] == base
    assert [s.n_docs for s in second.segments] == [_count_notes(corpus) - 1, 1]
    for name in ("notes.npy", "docs.jsonl"):
        assert (os.stat(first.path / f"{base}.{name}").st_ino
                == os.stat(second.path / f"{base}.{name}").st_ino)
    assert second.doc_by_path("misc/container.md")["title"] == "コンテナの調査メモ"


def test_a_removed_or_replaced_note_never_answers(corpus, index_dir, monkeypatch):
    monkeypatch.setattr(merge, "MERGE_FRACTION", 1.0)
    store.build(corpus, index_dir)
    (corpus / "tools/apache-70007.md").unlink()
    gil = corpus / "python/gil.md"
    gil.write_text("---\ntitle: GILのメモ\n---\nGILは消えるかもしれない。\n", encoding="utf-8")
    bump_mtime(gil)
    store.build(corpus, index_dir)
    data = generation.load(index_dir)
    assert len(data.deleted) == 2 and len(data.segments) == 2
    searcher = Searcher(data)
    assert searcher.search("70007エラー") == []
    hits = searcher.search("GILって何？", k=10)
    assert [h.path for h in hits].count("python/gil.md") == 1
    assert "消える" in hits[0].excerpt


def test_a_note_touched_but_not_changed_is_not_analysed_again(corpus, index_dir):
    store.build(corpus, index_dir)
    bump_mtime(corpus / "python/gil.md")
    report = store.build(corpus, index_dir)
    assert (report.added, report.changed, report.unchanged) == (0, 0, _count_notes(corpus))
    assert len(generation.load(index_dir).segments) == 1


def test_counts_too_large_for_16_bits_are_kept_exactly(corpus, index_dir):
    write_note(corpus, "misc/long.md", "# 長いメモ\n" + "GIL " * 70_000)
    store.build(corpus, index_dir)
    data = generation.load(index_dir)
    assert int(np.max(data.segments[0].postings.body)) == 70_000


def test_where_hard_links_are_refused_files_are_copied(corpus, index_dir, monkeypatch):
    store.build(corpus, index_dir)

    def refuse(src, dst):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", refuse)
    write_note(corpus, "misc/container.md", "# コンテナの調査メモ\nコンテナを動かした。\n")
    store.build(corpus, index_dir)
    assert Searcher(generation.load(index_dir)).search("コンテナ")[0].path == "misc/container.md"


def _out_of_range_note(gen):
    path = next(gen.glob("seg-*.notes.npy"))
    notes = np.load(path)
    notes[-1] = 10_000
    np.save(path, notes)


def _old_format(gen):
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    manifest["format_version"] = 1
    (gen / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _missing_idf(gen):
    (gen / "idf.npy").unlink()


@pytest.mark.parametrize("damage, message", [
    (_out_of_range_note, "refers to notes that do not exist"),
    (_old_format, f"has index format 1, this notebot reads {manifest.FORMAT_VERSION}"),
    (_missing_idf, "incomplete"),
])
def test_a_damaged_or_old_index_is_refused_then_rebuilt(built, corpus, damage, message):
    damage(generation.current(built))
    with pytest.raises(IndexUnusable, match=message):
        generation.load(built)
    report = store.build(corpus, built)
    assert report.full and any("rebuilding from scratch" in w for w in report.warnings)
    assert Searcher(generation.load(built)).search("GILって何？")[0].path == "python/gil.md"


def test_scores_are_the_bm25f_of_the_scoring_module(corpus, index_dir):
    """score(d, t) = idf(t) * (tf~ * (k1 + 1) / (tf~ + k1) + delta) where t is found,
    tf~ = w_title * tf_title + tf_body / norm."""
    write_note(corpus, "misc/threads.md", "# スレッドとスレッド\nスレッドを走らせる。プロセスも走らせる。\n")
    store.build(corpus, index_dir)
    data = generation.load(index_dir)
    analyzer = Searcher(data).analyzer
    p, term = data.params, "スレッド"
    lengths, titles, bodies = {}, {}, {}
    for path in data.manifest.notes.path:
        doc = data.doc_by_path(path)
        body = analyzer(doc["text"])
        lengths[path], titles[path] = len(body), analyzer(doc["title"]).count(term)
        bodies[path] = body.count(term)
    n, df = len(lengths), sum(1 for q in lengths if titles[q] or bodies[q])
    avg = sum(lengths.values()) / n
    idf = np.log1p((n - df + 0.5) / (df + 0.5))
    scores = data.score([data.vocab[term]], [1.0])
    for path, number in zip(data.manifest.notes.path, data.manifest.notes.doc):
        tf = p.title_weight * titles[path] + bodies[path] / (1 - p.b + p.b * lengths[path] / avg)
        expected = idf * (tf * (p.k1 + 1) / (tf + p.k1) + p.delta) if tf else 0.0
        assert scores[number] == pytest.approx(expected, rel=1e-5), path
    assert titles["misc/threads.md"] == 2  # the title field is really counted


def test_a_word_only_in_removed_notes_is_unknown_as_after_a_full_build(corpus, index_dir,
                                                                      monkeypatch):
    monkeypatch.setattr(merge, "MERGE_FRACTION", 100.0)
    store.build(corpus, index_dir)
    assert "goarch" in generation.load(index_dir).vocab
    (corpus / "go/cross-compile.md").unlink()
    store.build(corpus, index_dir)
    data = generation.load(index_dir)
    assert "goarch" in data.terms and "goarch" not in data.vocab  # its id stays taken
    assert Searcher(data).search("GOARCHの指定") == []
