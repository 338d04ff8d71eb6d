"""Scoring helpers that the search path relies on for exact answers."""
import numpy as np
import pytest

from index.scoring import top_k


def _reference(scores, k):
    """Positive scores, best first, ties by lower index: the plain way."""
    ranked = sorted((i for i in range(len(scores)) if scores[i] > 0), key=lambda i: (-scores[i], i))
    return ranked[:k]


@pytest.mark.parametrize("seed", range(40))
def test_top_k_is_the_plain_ranking(seed):
    rnd = np.random.default_rng(seed)
    n = int(rnd.integers(0, 300))
    # few distinct values, so ties are common; some zeros; one outlier in some cases
    scores = rnd.choice([0.0, 0.5, 1.0, 1.5, 2.0, 7.0], size=n).astype(np.float32)
    if seed % 3 == 0 and n:
        scores[rnd.integers(0, n)] = 100.0  # one note far ahead: the others fall below half
    for k in (1, 3, 10, n + 1):
        assert top_k(scores, k).tolist() == _reference(scores, k)


def test_top_k_of_nothing():
    assert top_k(np.zeros(5, np.float32), 3).tolist() == []
    assert top_k(np.zeros(0, np.float32), 3).tolist() == []


@pytest.mark.parametrize("batch", [0, 300, 1_000_000])
def test_pruned_scoring_finds_the_same_notes_as_scoring_everything(tmp_path, monkeypatch, batch):
    """accumulate(k=...) skips most postings of common terms; the k best must not change. And
    scoring the rare terms in one batch gives the very same numbers as one term at a time."""
    from index import generation, scoring, store
    from index.scoring import accumulate

    rnd = np.random.default_rng(3)
    words = ["サーバー", "メモリ", "スレッド", "設定", "障害", "ログ", "監視", "ネットワーク",
             "ディスク", "遅延", "キャッシュ", "権限", "証明書", "バックアップ", "移行", "性能"]
    corpus = tmp_path / "notes"
    corpus.mkdir()
    for i in range(400):  # a few words in nearly every note, the rest rare
        common = rnd.choice(words[:4], size=rnd.integers(2, 8)).tolist()
        rare = rnd.choice(words[4:], size=rnd.integers(0, 3)).tolist()
        (corpus / f"n{i:03d}.md").write_text(
            f"# メモ{i}\n" + "。".join(common + rare) + "。\n", encoding="utf-8")
    store.build(corpus, tmp_path / "index", workers=1)
    for i in range(0, 400, 80):  # replaced notes leave deleted numbers behind
        (corpus / f"n{i:03d}.md").write_text(f"# メモ{i}\nサーバー。障害。\n", encoding="utf-8")
    store.build(corpus, tmp_path / "index", workers=1)
    data = generation.load(tmp_path / "index")
    try:
        assert len(data.deleted) and len(data.segments) == 2
        vocab = data.vocab
        args = ([s.postings for s in data.segments],)
        pruned_something = False
        for trial in range(60):
            picked = rnd.choice(words, size=rnd.integers(1, 6), replace=False)
            ids = [vocab[t] for t in picked if t in vocab]
            weights = rnd.choice([0.2, 0.5, 1.0], size=len(ids)).tolist()
            monkeypatch.setattr(scoring, "BATCH_POSTINGS", 0)
            one_by_one = accumulate(*args, ids, weights, data.norm, data.idf, data.params,
                                    data.deleted)
            monkeypatch.setattr(scoring, "BATCH_POSTINGS", batch)
            full = accumulate(*args, ids, weights, data.norm, data.idf, data.params,
                              data.deleted)
            assert np.array_equal(full, one_by_one)
            for k in (1, 3, 10):
                pruned = accumulate(*args, ids, weights, data.norm, data.idf, data.params,
                                    data.deleted, k)
                best = top_k(full, k)
                assert top_k(pruned, k).tolist() == best.tolist()
                assert np.allclose(pruned[best], full[best], rtol=1e-6)
                pruned_something |= bool((pruned < full - 1e-6).any())
        assert pruned_something or batch > 10_000  # the test corpus does make it prune
    finally:
        data.close()


def test_pruning_keeps_a_note_that_the_common_terms_lift_past_the_leader(tmp_path, monkeypatch):
    """After the rare terms, note B is far behind A (under half its score), but B holds every
    common term of the question many times and A none: B must stay within reach and win."""
    from index import generation, scoring, store
    from index.scoring import accumulate

    common = "設定。障害。監視。"
    notes = {"a": "珊瑚。", "b": "灯台。" + common * 5}
    notes.update({f"light{i}": "灯台。" for i in range(9)})
    notes.update({f"common{i}": common for i in range(29)})
    corpus = tmp_path / "notes"
    corpus.mkdir()
    for name, text in notes.items():
        (corpus / f"{name}.md").write_text(f"# メモ\n{text}\n", encoding="utf-8")
    store.build(corpus, tmp_path / "index", workers=1)
    data = generation.load(tmp_path / "index")
    try:
        ids = [data.vocab[t] for t in ("珊瑚", "灯台", "設定", "障害", "監視")]
        weights = [0.2, 0.2, 1.0, 1.0, 1.0]
        monkeypatch.setattr(scoring, "BATCH_POSTINGS", 0)  # each term on its own, rarest first
        rest = (data.norm, data.idf, data.params, data.deleted)
        segments = [s.postings for s in data.segments]
        rare = accumulate(segments, ids[:2], weights[:2], *rest)
        full = accumulate(segments, ids, weights, *rest)
        pruned = accumulate(segments, ids, weights, *rest, 1)
        notes = data.manifest.notes
        a, b = (notes.doc[notes.path.index(p)] for p in ("a.md", "b.md"))
        assert 0 < rare[b] < rare[a] / 2
        assert top_k(full, 1).tolist() == top_k(pruned, 1).tolist() == [b]
    finally:
        data.close()


def _bm25f(title: int, body: int, length: float, avg: float, n: int, df: int, p) -> float:
    """BM25F+ for one note and one term, written out as in the papers (Lucene's idf)."""
    import math

    norm = 1.0 / (1.0 - p.b + p.b * length / avg)
    tf = norm * body + p.title_weight * title
    return math.log(1 + (n - df + 0.5) / (df + 0.5)) * (tf * (p.k1 + 1) / (tf + p.k1) + p.delta)


def test_scores_on_hand_made_segments_are_bm25f_written_out():
    """Two segments of hand-made arrays (no analyser, no disk): three notes, two terms."""
    from index.scoring import Params, Postings, accumulate, idf, length_norms

    p = Params()
    lengths = np.array([10, 20, 30])
    # term 0: note 0 (title 1, body 2), note 2 (body 1); term 1: note 1 (body 4)
    first = Postings(indptr=np.array([0, 1, 1]), notes=np.array([0]), title=np.array([1]),
                     body=np.array([2]), start=0)
    second = Postings(indptr=np.array([0, 1, 2]), notes=np.array([1, 0]),
                      title=np.array([0, 0]), body=np.array([1, 4]), start=1)
    norm = length_norms(lengths, p).astype(np.float32)
    term_idf = idf(np.array([2, 1]), 3)
    got = accumulate([first, second], [0, 1], [1.0, 0.5], norm, term_idf, p,
                     np.zeros(0, np.int64))
    avg = lengths.mean()
    want = [_bm25f(1, 2, 10, avg, 3, 2, p),
            0.5 * _bm25f(0, 4, 20, avg, 3, 1, p),
            _bm25f(0, 1, 30, avg, 3, 2, p)]
    assert got.tolist() == pytest.approx(want, rel=1e-6)
    deleted = accumulate([first, second], [0, 1], [1.0, 0.5], norm, term_idf, p,
                         np.array([2]))
    assert deleted[2] == 0 and deleted[:2].tolist() == pytest.approx(want[:2], rel=1e-6)
