"""Term weighting: BM25F over a title and a body field, as SciPy sparse matrices.

Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond" (2009), §3.4:
field frequencies are length-normalised per field, weighted, summed, then saturated once::

    tf~(d,t)  = w_title * tf_title(d,t) + tf_body(d,t) / (1 - b + b * len_body(d) / avg_len_body)
    score(d,t) = idf(t) * tf~ * (k1 + 1) / (tf~ + k1)
    idf(t)    = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))          (Lucene's non-negative idf)

A question's score for a note is the sum of score(d,t) over the question's terms.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class Params:
    """BM25F parameters; recorded in the index manifest."""

    k1: float = 1.2
    b: float = 0.75
    title_weight: float = 3.0

    def to_dict(self) -> dict:
        return asdict(self)


def idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    """Lucene's BM25 idf for document frequencies ``df`` in a collection of ``n_docs``."""
    return np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)


def bm25f(tf_title: sp.csr_matrix, tf_body: sp.csr_matrix, params: Params):
    """Score matrix (terms × notes, CSR, float32) and idf per term, from per-field counts
    (notes × terms)."""
    n_docs, n_terms = tf_body.shape
    body_len = np.asarray(tf_body.sum(axis=1), dtype=np.float64).ravel()
    avg = body_len.mean() if n_docs and body_len.mean() > 0 else 1.0
    norm = 1.0 / (1.0 - params.b + params.b * body_len / avg)
    tf = (params.title_weight * tf_title.astype(np.float64)
          + sp.diags(norm) @ tf_body.astype(np.float64)).tocsr()
    tf.eliminate_zeros()
    tf.data = tf.data * (params.k1 + 1.0) / (tf.data + params.k1)
    term_idf = idf(np.bincount(tf.indices, minlength=n_terms), n_docs)
    tf.data *= term_idf[tf.indices]
    scores = tf.T.tocsr().astype(np.float32)
    scores.sort_indices()
    return scores, term_idf


def accumulate(scores: sp.csr_matrix, term_ids, weights, n_docs: int) -> np.ndarray:
    """Per-note sum of ``weights[i] * score(note, term_ids[i])``: the question's scores."""
    total = np.zeros(n_docs, dtype=np.float32)
    indptr, indices, data = scores.indptr, scores.indices, scores.data
    for t, w in zip(term_ids, weights):
        lo, hi = indptr[t], indptr[t + 1]
        total[indices[lo:hi]] += w * data[lo:hi]
    return total


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` best positive scores, best first (ties: lower index first)."""
    candidates = np.flatnonzero(scores > 0)
    if len(candidates) > k:
        part = np.argpartition(-scores[candidates], k - 1)[:k]
        candidates = candidates[part]
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order]
