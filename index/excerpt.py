"""Excerpts: the passage of a note that best answers a question.

A note is cut into sentences (at 。！？!? and line breaks); windows of consecutive whole sentences
up to ``max_chars`` long are scored by the idf of the distinct question terms they contain, with
a small bonus for repeated matches; the best window wins, the earliest on ties. A single sentence
longer than ``max_chars`` is cut around its matches and marked with "…". Matching is done on the
NFKC-normalised text, but the excerpt quotes the note as written (ＧＩＬ stays ＧＩＬ, （ stays （).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .analyzer import Analyzer, normalize

MAX_CHARS = 200
ELLIPSIS = "…"
# Long notes: only sentences that contain a question word verbatim are analysed.
PREFILTER_CHARS = 20_000
MAX_CANDIDATES = 400
_SENTENCE = re.compile(r"[^。！？!?\n]*(?:[。！？!?]+|\n|$)")
# White space, control characters and lone surrogates: folded to one space in an excerpt.
_SPACES = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ud800-\udfff]+")
# A character and the combining (or half-width voicing) marks NFKC joins to it.
_UNIT = re.compile(r".[\u0300-\u036f\u3099\u309a\uff9e\uff9f]*", re.S)


@dataclass(frozen=True)
class Excerpt:
    """The passage, and the words in it that matched the question (for highlighting)."""

    text: str
    matched: tuple[str, ...]


def sentences(text: str) -> list[str]:
    """``text`` cut after each 。！？!? and at line breaks, white space folded, empties dropped."""
    out = []
    for m in _SENTENCE.finditer(text):
        s = _SPACES.sub(" ", m.group()).strip()
        if s:
            out.append(s)
    return out


def best(text: str, weights: dict[str, float], analyzer: Analyzer, needles=(),
         max_chars: int = MAX_CHARS) -> Excerpt:
    """The passage of ``text`` (≤ ``max_chars``) that best matches the question terms ``weights``
    (term → weight). ``needles``: lower-cased question words used to skip analysing sentences of
    long notes that cannot match."""
    sents = sentences(text)
    if not sents:
        return Excerpt("", ())
    matches = [_matches(s, weights, analyzer) if wanted else None
               for s, wanted in zip(sents, _candidates(sents, weights, needles))]
    best_score, best_span = 0.0, (0, 1)
    for i in range(len(sents)):
        length, seen, repeats = -1, {}, 0
        for j in range(i, len(sents)):
            length += len(sents[j]) + 1
            if length > max_chars and j > i:
                break
            for term, _ in matches[j] or ():
                repeats += term in seen
                seen[term] = weights[term]
            score = sum(seen.values()) + 0.1 * repeats
            if score > best_score + 1e-9:
                best_score, best_span = score, (i, j + 1)
    i, j = best_span
    passage = " ".join(sents[i:j])
    matched = {surface for k in range(i, j) for _, surface in (matches[k] or ())}
    if len(passage) > max_chars:
        passage = _cut(passage, matched, max_chars)
    return Excerpt(passage, tuple(sorted((m for m in matched if m in passage), key=passage.find)))


def _candidates(sents, weights, needles):
    """For each sentence: analyse it (True) or not (False)."""
    if sum(map(len, sents)) <= PREFILTER_CHARS:
        return [True] * len(sents)
    words = [w for w in set(needles) | set(weights) if w]
    flags, budget = [], MAX_CANDIDATES
    for s in sents:
        low = normalize(s).lower()
        hit = budget > 0 and any(w in low for w in words)
        budget -= hit
        flags.append(hit)
    return flags


def _matches(sentence: str, weights: dict, analyzer: Analyzer) -> list[tuple[str, str]]:
    """(term, surface) pairs of the question's terms found in ``sentence``, surfaces as written
    there."""
    norm, origin = _normalize_with_origin(sentence)
    return [(t.term, sentence[origin[t.start]:origin[t.end]]) for t in analyzer.tokens(norm)
            if t.term in weights]


def _normalize_with_origin(text: str) -> tuple[str, list[int]]:
    """normalize(text), and for each of its offsets (and its end) the offset in ``text`` it comes
    from. NFKC nearly always keeps the length; when it doesn't (… → ..., ｶﾞ → ガ), each character
    with its combining marks is normalised on its own."""
    norm = normalize(text)
    if len(norm) == len(text):
        return norm, list(range(len(text) + 1))
    parts, origin = [], []
    for m in _UNIT.finditer(text):
        part = normalize(m.group())
        parts.append(part)
        origin.extend([m.start()] * len(part))
    return "".join(parts), origin + [len(text)]


def _cut(passage: str, matched: set, max_chars: int) -> str:
    first = min((passage.find(m) for m in matched if m in passage), default=0)
    start = max(0, min(first - max_chars // 4, len(passage) - max_chars))
    end = start + max_chars
    head = ELLIPSIS if start > 0 else ""
    tail = ELLIPSIS if end < len(passage) else ""
    return head + passage[start + len(head):end - len(tail)] + tail
