"""Term weighting: BM25F over a title and a body field, computed from term-major counts when a
question is asked (so an index stays exact as notes come and go).

Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond" (2009), §3.4:
field frequencies are length-normalised per field, weighted, summed, then saturated once::

    tf~(d,t)  = w_title * tf_title(d,t) + tf_body(d,t) / (1 - b + b * len_body(d) / avg_len_body)
    score(d,t) = idf(t) * (tf~ * (k1 + 1) / (tf~ + k1) + delta)      for a note that has t
    idf(t)    = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))          (Lucene's non-negative idf)

``delta`` is BM25+'s lower bound (Lv & Zhai, "Lower-Bounding Term Frequency Normalization",
CIKM 2011): a term found in a long note still counts for something against a short note
without it. A question's score for a note is the sum of score(d,t) over the question's terms.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, cast

import numpy as np


# Postings of the rarest question terms scored together in one batch (see accumulate).
BATCH_POSTINGS = 20_000
# What a ScoreCache keeps: the scores of a term with at least CACHE_MIN_POSTINGS postings in a
# segment, up to CACHE_POSTINGS postings in all (12 bytes each: about 100 MB).
CACHE_MIN_POSTINGS = 1_000
CACHE_POSTINGS = 8_000_000


@dataclass(frozen=True)
class Params:
    """BM25F parameters; recorded in the index manifest."""

    k1: float = 0.6
    b: float = 0.5
    title_weight: float = 3.0
    delta: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)


def idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    """Lucene's BM25 idf for document frequencies ``df`` in a collection of ``n_docs``."""
    return np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)


def length_norms(body_len: np.ndarray, params: Params) -> np.ndarray:
    """``1 / (1 - b + b * len_body / avg_len_body)`` for each note (float64)."""
    body_len = np.asarray(body_len, dtype=np.float64)
    avg = body_len.mean() if len(body_len) and body_len.mean() > 0 else 1.0
    return 1.0 / (1.0 - params.b + params.b * body_len / avg)


@dataclass(frozen=True)
class Postings:
    """Term-major counts of a group of notes (a segment of the index): the notes that contain
    term ``t`` are ``notes[indptr[t]:indptr[t + 1]]`` (numbers within the group, ascending), with
    the term's count in each one's ``title`` and ``body``. Terms past ``len(indptr) - 1`` are in
    none of them. ``start``: the index's number for the group's first note."""

    indptr: np.ndarray
    notes: np.ndarray
    title: np.ndarray
    body: np.ndarray
    start: int


def term_scores(title, body, norm, term_idf, params: Params) -> np.ndarray:
    """score(d, t) (float32) for postings: their notes' ``title`` and ``body`` counts of term t,
    their length ``norm`` (float32), and idf(t) (float32; or one per posting)."""
    # In float32, in place where possible (a common term has a posting in most notes); the
    # operations and their order are those of the formula, so the numbers are the same to the
    # last bit however postings are grouped.
    tf = norm * body
    tf += np.float32(params.title_weight) * title
    score = tf * np.float32(params.k1 + 1.0)
    tf += np.float32(params.k1)
    score /= tf
    score += np.float32(params.delta)
    score *= term_idf
    return score


class ScoreCache:
    """score(d, t) of a loaded index's common terms, for a process that asks many questions
    (the Slack bot): the same common terms come back in most questions, and scoring their
    postings is most of a question's time. An index's idf and norms never change once loaded,
    so a kept score is the very number scoring would give again. (Threads asking at once may
    make the same scores twice: the room then shrinks by both, nothing worse.)"""

    def __init__(self, room: int = CACHE_POSTINGS):
        self.room = room  # postings that may still be kept
        self.kept: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def get(self, key, size: int, make):
        """What is kept for ``key``; else ``make()``, kept, if there is room for ``size``
        more postings; else None."""
        if key not in self.kept:
            if size > self.room:
                return None
            self.room -= size
            self.kept[key] = make()
        return self.kept[key]


def accumulate(segments: list[Postings], term_ids, weights, norm: np.ndarray,
               term_idf: np.ndarray, params: Params, deleted: np.ndarray,
               k: int | None = None, cache: ScoreCache | None = None) -> np.ndarray:
    """Per-note sum of ``weights[i] * score(note, term_ids[i])``: the question's scores, with
    the ``deleted`` notes (replaced or removed since their segment was written) at zero.

    With ``k``, only the notes that can still be among the ``k`` best are scored exactly (the
    others may be left lower; top_k finds the same notes in the same order): rare terms are
    scored first, and once the notes within reach are few, a common term is looked up in
    those notes only instead of being scored in all of its postings (MaxScore, Turtle & Flood,
    1995). A term's score for a note is below ``idf * (k1 + 1 + delta)``.

    ``cache``: where the scores of common terms are kept between questions (see ScoreCache).
    """
    total = np.zeros(len(norm), dtype=np.float32)
    ids = np.asarray(term_ids, dtype=np.intp)
    # each term's postings: (segment number, segment, lo, hi)
    lists: list[list[tuple[int, Postings, int, int]]] = [[] for _ in term_ids]
    for n, seg in enumerate(segments):
        inside = np.flatnonzero(ids + 1 < len(seg.indptr))
        los, his = seg.indptr[ids[inside]].tolist(), seg.indptr[ids[inside] + 1].tolist()
        for i, lo, hi in zip(inside.tolist(), los, his):
            lists[i].append((n, seg, lo, hi))
    sizes = [sum(hi - lo for *_, lo, hi in parts) for parts in lists]
    idf_of = term_idf[ids].tolist()
    bounds = [w * f * (params.k1 + 1.0 + params.delta) for w, f in zip(weights, idf_of)]
    # Rarest first (by idf, not by postings: those include deleted notes, and the order of the
    # sum must not depend on how the index is cut into segments, to the last bit).
    order = sorted(range(len(lists)), key=lambda i: -idf_of[i])
    # The rarest terms' postings, up to BATCH_POSTINGS in all, are scored in one go: most of a
    # question's terms have a few postings each, where numpy's cost per call is what counts.
    first, batched = 0, 0
    while first < len(order) and batched + sizes[order[first]] <= BATCH_POSTINGS:
        batched += sizes[order[first]]
        first += 1
    parts = [(i, seg, lo, hi) for i in order[:first] for _, seg, lo, hi in lists[i]]
    if parts:
        per = [hi - lo for _, _, lo, hi in parts]
        notes = np.concatenate([seg.notes[lo:hi] for _, seg, lo, hi in parts]).astype(np.intp)
        notes += np.repeat([seg.start for _, seg, _, _ in parts], per)
        idfs = np.repeat(term_idf[[term_ids[i] for i, *_ in parts]], per)
        scores = term_scores(np.concatenate([seg.title[lo:hi] for _, seg, lo, hi in parts]),
                             np.concatenate([seg.body[lo:hi] for _, seg, lo, hi in parts]),
                             norm.take(notes), idfs, params)
        # (np.float32 of a list makes an array, which numpy's stubs leave out)
        scores *= np.repeat(np.float32(cast(Any, [weights[i] for i, *_ in parts])), per)
        np.add.at(total, notes, scores)
    prune = k is not None and k > 0 and min(weights, default=0) >= 0
    within = None  # the notes that can still be among the k best, once pruning pays
    for n, i in enumerate(order[first:], first):
        if prune and (within is not None or sizes[i] > len(norm) // 8):
            assert k is not None  # (prune is only set with a k)
            total[deleted] = 0.0
            reach = sum(bounds[j] for j in order[n:]) * (1 + 1e-6) + 1e-6
            if within is None:  # (a pass over every note: only tried before a common term)
                kth, top = _best(total, k)
                floor, near = np.float64(kth - reach), total[top]
                # (the notes that reach the floor are among the best ones if it is that high)
                candidates = top[near >= floor] if len(top) and floor >= near.min() else \
                    np.flatnonzero(total >= floor)
                within = candidates if 4 * len(candidates) < sizes[i] else None
            else:
                near = total[within]
                within = within[near >= np.float64(_best(near, k)[0] - reach)]
        t = term_ids[i]
        for s, seg, lo, hi in lists[i]:
            every = partial(_every, seg, lo, hi, norm, term_idf[t], params)
            kept = None
            if cache is not None and hi - lo >= CACHE_MIN_POSTINGS:
                # (kept when they are all scored anyway; looking up a few notes only is cheaper)
                kept = cache.kept.get((s, t)) if within is not None else cache.get(
                    (s, t), hi - lo, every)
            if within is None:
                notes, scores = kept or every()
            else:  # the notes within reach that have the term
                mine = seg.notes[lo:hi]
                wanted = (within - seg.start).astype(mine.dtype)  # (else numpy copies mine)
                at = np.searchsorted(mine, wanted)
                found = at < len(mine)
                found[found] = mine[at[found]] == wanted[found]
                at, notes = at[found], within[found]
                scores = kept[1][at] if kept else term_scores(
                    seg.title[lo:hi][at], seg.body[lo:hi][at], norm.take(notes),
                    term_idf[t], params)
            np.add.at(total, notes, scores if weights[i] == 1 else weights[i] * scores)
    total[deleted] = 0.0
    return total


def _every(seg: Postings, lo: int, hi: int, norm, term_idf, params: Params):
    """The notes (numbered across segments) and scores of a term's postings ``lo:hi`` in
    ``seg``."""
    # Native-width indices: numpy's gather and scatter are twice as fast with them.
    notes = seg.notes[lo:hi].astype(np.intp)
    notes += seg.start
    return notes, term_scores(seg.title[lo:hi], seg.body[lo:hi], norm.take(notes), term_idf,
                              params)


def _best(scores: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """The k-th best of ``scores`` (0 if fewer than k are positive), and where to look for the
    k best: among the scores at least half the best, if k of them are, else the positive ones.
    When common terms match most notes, ordering them all would cost more than scoring."""
    best = scores.max(initial=0.0)
    top = np.flatnonzero(scores >= best / 2) if best > 0 else np.zeros(0, np.intp)
    if len(top) < k:
        top = np.flatnonzero(scores > 0)
    if not 0 < k <= len(top):
        return 0.0, top
    return float(np.partition(scores[top], len(top) - k)[len(top) - k]), top


def top_k(scores: np.ndarray, k: int, rank=None) -> np.ndarray:
    """Indices of the ``k`` best positive scores, best first. Ties go to the lower index, or
    with ``rank`` (called only when there are ties: it returns a number for each index) to
    the lower rank."""
    if k <= 0:
        return np.zeros(0, np.intp)
    kth, top = _best(scores, k)
    candidates = top[scores[top] >= kth]  # (all the notes tied at the k-th place)
    best = scores[candidates]
    tied = rank is not None and len(np.unique(best)) < len(best)
    order = np.lexsort((rank()[candidates] if tied else candidates, -best))
    return candidates[order][:k]
