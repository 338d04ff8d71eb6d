"""The scores a long-running process keeps between questions (scoring.ScoreCache) are the very
numbers scoring computes, for every segment, and the cache keeps no more than its room."""
import numpy as np

from conftest import write_note
from index import generation, scoring, store
from index.scoring import ScoreCache, accumulate, top_k

WORDS = ["権限", "メモリ", "スレッド", "設定", "障害", "ログ", "監視", "ネットワーク"]


def test_kept_scores_are_the_scores_of_every_segment(tmp_path, monkeypatch):
    rnd = np.random.default_rng(5)
    corpus, index_dir = tmp_path / "notes", tmp_path / "index"
    for i in range(300):
        text = "。".join(rnd.choice(WORDS, size=rnd.integers(1, 9)).tolist())
        write_note(corpus, f"n{i:03d}.md", f"# メモ{i}\n{text}。\n")
    store.build(corpus, index_dir, workers=1)
    for i in range(0, 300, 50):  # a second segment, and deleted notes
        write_note(corpus, f"n{i:03d}.md", f"# メモ{i}\n権限。障害。ログ。\n")
    store.build(corpus, index_dir, workers=1)
    data = generation.load(index_dir)
    try:
        assert len(data.segments) == 2
        monkeypatch.setattr(scoring, "BATCH_POSTINGS", 0)  # every term goes through the cache
        monkeypatch.setattr(scoring, "CACHE_MIN_POSTINGS", 1)
        args = ([s.postings for s in data.segments],)
        cache, small = ScoreCache(), ScoreCache(room=200)
        for trial in range(40):
            picked = rnd.choice(WORDS, size=rnd.integers(1, 5), replace=False)
            ids = [data.vocab[t] for t in picked]
            weights = rnd.choice([0.2, 0.5, 1.0], size=len(ids)).tolist()
            for k in (None, 1, 3):
                plain = accumulate(*args, ids, weights, data.norm, data.idf, data.params,
                                   data.deleted, k)
                for c in (cache, small):
                    kept = accumulate(*args, ids, weights, data.norm, data.idf, data.params,
                                      data.deleted, k, c)
                    assert np.array_equal(kept, plain)
                    if k:
                        assert top_k(kept, k).tolist() == top_k(plain, k).tolist()
        assert {s for s, _ in cache.kept} == {0, 1}  # both segments' scores were kept
        assert len(cache.kept) == len(WORDS) + 3  # (the second segment has three of them)
        assert sum(len(v[0]) for v in small.kept.values()) == 200 - small.room <= 200
        assert small.kept and len(small.kept) < len(cache.kept)
    finally:
        data.close()
