"""Excerpts: the passage of a note that best answers a question.

A note is cut into sentences (at 。！？!? and line breaks); windows of consecutive whole sentences
up to ``max_chars`` long are scored by the distinct question terms they contain, each weighted by
its idf among the note's own sentences; the best window wins, the earliest on ties, and grows
with neighbouring sentences while it fits. A single sentence longer than ``max_chars`` is cut
around its matches and marked with "…". Matching is done on the NFKC-normalised text, but the
excerpt quotes the note as written (ＧＩＬ stays ＧＩＬ, （ stays （).
"""
from __future__ import annotations

import math
import re
import unicodedata
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

from .analyzer import nfkc_each, nfkc_runs, printable

MAX_CHARS = 200
# A window also scores its best single sentence once more: the answer is usually next to the
# sentence that matches most, not spread over several that match a little each.
CONCENTRATION = 1.0
# A sentence that matches the question and holds the kind of thing it asks for (a number, when
# it asks いつ or 何人) gains this much of the best sentence's score: the answer is there.
EXPECT_BONUS = 1.0
ELLIPSIS = "…"
_SENTENCE = re.compile(r"[^。！？!?\n]*(?:[。！？!?]+|\n|$)")
# White space, control characters and lone surrogates: folded to one space in an excerpt.
_SPACES = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ud800-\udfff]+")
# Two letters or digits in a row: where a needle would continue a longer ASCII word.
_ALNUM = re.compile(r"[0-9a-z]{2}")
_ALNUM_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")
# A character and the combining (or half-width voicing) marks NFKC joins to it.
_UNIT = re.compile(r".[\u0300-\u036f\u3099\u309a\uff9e\uff9f]*", re.S)


@dataclass(frozen=True)
class Excerpt:
    """The passage, and the words in it that matched the question (for highlighting)."""

    text: str
    matched: tuple[str, ...]


def sentences(text: str) -> list[str]:
    """``text`` cut after each 。！？!? and at line breaks, white space folded, empties dropped."""
    return [s for _, _, s in _spans(text)]


def _spans(text: str):
    """Each sentence as (start, end, sentence): where it is in ``text``, and as sentences()
    gives it."""
    start = 0
    for piece in _SENTENCE.findall(text):  # (they follow each other: the text, cut)
        end = start + len(piece)
        line = piece[:-1] if piece.endswith("\n") else piece
        # (most sentences have nothing to fold, which str methods tell faster than _SPACES)
        s = line.strip() if line.isprintable() and "  " not in line else \
            _SPACES.sub(" ", piece).strip()
        if s:
            yield start, end, s
        start = end


class Needle(NamedTuple):
    """A question term as it can be found in note text: ``text`` (normalised, lower case) stands
    for ``term``, worth ``weight``; ``shown`` says whether it is highlighted (bigrams are not)."""

    text: str
    term: str
    weight: float
    shown: bool = True


def best(text: str, needles: list[Needle], max_chars: int = MAX_CHARS,
         expect: re.Pattern | None = None) -> Excerpt:
    """The passage of ``text`` (≤ ``max_chars``) that best matches the question's ``needles``.

    A window scores the weights of the distinct terms whose needles it contains, plus its best
    sentence's own score again (CONCENTRATION), plus a little for each repeat. Matching is by
    substring on normalised text, so it needs no analysis of the note: a lemma and the
    question's own spelling of a word are both needles for its term. ``expect``: what the
    answer looks like (a number, for いつ or 何人): a sentence that matches the question and
    holds it scores as much again as the note's best sentence (EXPECT_BONUS).
    """
    spans = list(_spans(text))
    if not spans:
        return Excerpt("", ())
    sents = [s for _, _, s in spans]
    matches = _all_matches(text, spans, needles)
    weights = _local_weights(needles, matches)
    own = [sum({n.term: weights[n.term] for n, _ in found}.values()) for found in matches]
    if expect is not None:
        bonus = EXPECT_BONUS * max(own)
        own = [o + bonus if o > 0 and expect.search(s) else o for o, s in zip(own, sents)]
    best_score, best_span = 0.0, (0, 1)
    for i in range(len(sents)):
        length, seen, total, repeats, top = -1, set(), 0.0, 0, 0.0
        for j in range(i, len(sents)):
            length += len(sents[j]) + 1
            if length > max_chars and j > i:
                break
            for needle, _ in matches[j]:
                if needle.term in seen:
                    repeats += 1
                else:
                    seen.add(needle.term)
                    total += weights[needle.term]
            top = max(top, own[j])
            score = total + CONCENTRATION * top + 0.1 * repeats
            if score > best_score + 1e-9:
                best_score, best_span = score, (i, j + 1)
    i, j = _widen(sents, *best_span, max_chars)
    passage = " ".join(sents[i:j])
    matched = {surface for k in range(i, j) for needle, surface in matches[k] if needle.shown}
    if len(passage) > max_chars:
        passage = _cut(passage, matched, max_chars)
    return Excerpt(passage, tuple(sorted((m for m in matched if m in passage), key=passage.find)))


def _local_weights(needles: list[Needle], matches: list) -> dict[str, float]:
    """Each term's weight times its idf among the note's sentences: a word found in every
    sentence of a note (its subject) tells nothing about where in the note the answer is."""
    n = len(matches)
    df = Counter(term for found in matches for term in {needle.term for needle, _ in found})
    return {nd.term: nd.weight * math.log1p((n - df[nd.term] + 0.5) / (df[nd.term] + 0.5))
            for nd in needles}


def _widen(sents: list[str], i: int, j: int, max_chars: int) -> tuple[int, int]:
    """Grow the window ``sents[i:j]`` with whole neighbouring sentences, the next one first,
    while it stays within ``max_chars``: an answer often sits just after the question's words."""
    length = sum(len(s) + 1 for s in sents[i:j]) - 1
    while True:
        for k, (ni, nj) in ((j, (i, j + 1)), (i - 1, (i - 1, j))):
            if 0 <= k < len(sents) and length + len(sents[k]) + 1 <= max_chars:
                length += len(sents[k]) + 1
                i, j = ni, nj
                break
        else:
            return i, j


def _all_matches(text: str, spans: list, needles: list[Needle]) -> list[list]:
    """For each sentence (``spans``, from _spans), what _matches finds in it: each needle is
    searched for in the whole normalised text at once, which is much faster than in every
    sentence."""
    norm, origin = _normalize_with_origin(text)
    low = norm.lower()
    if len(low) != len(norm):  # (rare: no offsets)
        return [_matches(s, needles) for _, _, s in spans]
    starts = [start for start, _, _ in spans]
    found: list[list[tuple[Needle, str]]] = [[] for _ in spans]
    moved = not isinstance(origin, range)  # (else offsets are the same in both)
    for n in needles:
        # (most needles can be anywhere: str.find alone finds them)
        find = partial(_find, low) if n.text[0] in _ALNUM_CHARS or n.text[-1] in _ALNUM_CHARS \
            else low.find
        at, last = find(n.text), -1
        while at >= 0:
            start, end = at, at + len(n.text)
            if moved:
                start, end = _written(origin, start, end)
            k = bisect_right(starts, start) - 1
            if k != last and end <= spans[k][1]:  # the first time in this sentence, and in it
                found[k].append((n, text[start:end]))
                last = k
            at = find(n.text, at + 1)
    return found


def _matches(sentence: str, needles: list[Needle]) -> list[tuple[Needle, str]]:
    """The needles found in ``sentence``, each with the text it matched as written there."""
    norm, origin = _normalize_with_origin(sentence)
    low = norm.lower()
    if len(low) != len(norm):  # lower() changed the length (rare): no offsets, no highlight
        return [(n, "") for n in needles if _find(low, n.text) >= 0]
    found = []
    for n in needles:
        at = _find(low, n.text)
        if at >= 0:
            start, end = _written(origin, at, at + len(n.text))
            found.append((n, sentence[start:end]))
    return found


def _written(origin: Sequence[int], start: int, end: int) -> tuple[int, int]:
    """Where normalised text ``start:end`` was written, by ``origin`` (see
    _normalize_with_origin): whole characters, even where it ends inside what one became
    (℃ → °c)."""
    while end < len(origin) - 1 and origin[end] == origin[end - 1]:
        end += 1
    return origin[start], origin[end]


def _find(text: str, needle: str, start: int = 0) -> int:
    """Where ``needle`` first occurs in ``text`` from ``start`` on (-1: nowhere). A needle that
    starts or ends with a letter or digit must not continue a longer ASCII word there, as the
    analyzer would not split it so: 20 is not found in 2014, nor api in rapid."""
    at = text.find(needle, start)
    if needle[0] not in _ALNUM_CHARS and needle[-1] not in _ALNUM_CHARS:
        return at
    while at >= 0:
        before, after = text[at - 1:at], text[at + len(needle):at + len(needle) + 1]
        if not (_ALNUM.fullmatch(needle[0] + before) or _ALNUM.fullmatch(needle[-1] + after)):
            return at
        at = text.find(needle, at + 1)
    return -1


_COMBINING = re.compile(r"[\u0300-\u036f\u3099\u309a\uff9e\uff9f]")


def _normalize_with_origin(text: str) -> tuple[str, Sequence[int]]:
    """``text`` normalised as normalize() does it, and for each of its offsets (and its end) the
    offset in ``text`` it comes from. A run that NFKC changes is normalised a character (with
    its combining marks) at a time: … → ... and ｶﾞ → ガ change the length, and one run may hold
    both. Most notes have no combining marks and nothing that NFKC makes longer: then each
    character is normalised on its own and offsets do not move."""
    if not _COMBINING.search(text):
        norm = nfkc_each(text)
        if len(norm) == len(text):
            return printable(norm), range(len(text) + 1)
    return _normalize_by_units(text)


def _normalize_by_units(text: str) -> tuple[str, list[int]]:
    origin: list[int]
    parts, origin, done = [], [], 0
    for start, end in nfkc_runs(text):
        parts.append(text[done:start])
        origin.extend(range(done, start))
        run = text[start:end]
        if unicodedata.normalize("NFKC", run) == run:
            parts.append(run)
            origin.extend(range(start, end))
        else:
            for m in _UNIT.finditer(text, start, end):
                part = unicodedata.normalize("NFKC", m.group())
                parts.append(part)
                origin.extend(range(m.start(), m.end()) if len(part) == m.end() - m.start()
                              else [m.start()] * len(part))
        done = end
    parts.append(text[done:])
    origin.extend(range(done, len(text) + 1))
    return printable("".join(parts)), origin


def _cut(passage: str, matched: set, max_chars: int) -> str:
    first = min((passage.find(m) for m in matched if m in passage), default=0)
    start = max(0, min(first - max_chars // 4, len(passage) - max_chars))
    end = start + max_chars
    head = ELLIPSIS if start > 0 else ""
    tail = ELLIPSIS if end < len(passage) else ""
    return head + passage[start + len(head):end - len(tail)] + tail


def marked(text: str, words, mark, plain=str) -> str:
    """``text`` with each occurrence of ``words`` passed through ``mark`` and the rest through
    ``plain``: one pass, longest word first, so overlapping words (http.Client, http) are
    marked once. For showing an excerpt's matched words on a terminal or in Slack."""
    words = sorted({w for w in words if w.strip()}, key=len, reverse=True)
    if not words:
        return plain(text)
    out: list[str]
    out, pos = [], 0
    for m in re.finditer("|".join(map(re.escape, words)), text):
        out += (plain(text[pos:m.start()]), mark(m.group()))
        pos = m.end()
    out.append(plain(text[pos:]))
    return "".join(out)
