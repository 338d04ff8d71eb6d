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
