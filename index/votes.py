"""What 👍/👎 votes teach the search: pure, given the vote rows and one loaded index.

A 👍 on (question, note) does two things for later questions:

- It lends the question's words to the note as an "asked as" field, like a link's anchor text:
  a later question that shares them scores the note higher, below what the note's own words
  give (ASKED_AS_WEIGHT). Only words the note's own text lacks are lent (REDUNDANT): the others
  count already, and lending them again mostly lifts the wrong notes among similar ones. The
  field is BM25-like: a term counts once per user, its count is saturated over users
  (SATURATION), and each term is weighted by the index's idf, so common words lend little.
- For nearly the same question (Jaccard similarity of the analysed word sets at least
  SAME_QUESTION), the note gains SAME_QUESTION_WEIGHT of the best score a note could have for
  it, so a 👍'd answer comes back first and confident when the question comes back.

No user can take a note over: each user lends a note at most QUESTIONS_PER_USER questions (the
most recent), and a note keeps at most QUESTIONS_PER_NOTE.

A 👎 on (question, note) multiplies the note's score by DOWN_FACTOR for nearly the same
question, once per user who voted it down, at most DOWNS_COUNTED times; other questions are
left alone.

Votes are counted per question and note: when 👍 and 👎 on the same question and note differ,
the side with more users wins (as ``notebot feedback export`` counts them), and a tie is none.
A vote names its note by path and by content hash: a note renamed without edits keeps its
votes; a vote whose note is gone is kept by the caller and ignored here.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

# A 👍'd question's term, against the same term in the note's body (1: as much); a term the
# note's own text has already, that fraction of it.
ASKED_AS_WEIGHT = 0.5
REDUNDANT = 0.0
# A 👍 on nearly the same question (see SAME_QUESTION): the note gains this fraction of the
# best score a note could have for the question (so its confidence rises by as much).
SAME_QUESTION_WEIGHT = 0.5
# BM25's k1 over the users who lent a term to a note: one user gives 1, many at most 1 + k1.
SATURATION = 1.0
# The questions one user lends one note, and all users together (the most recent are kept).
QUESTIONS_PER_USER = 3
QUESTIONS_PER_NOTE = 20
# What a 👎 multiplies a note's score by, for a question with nearly the same words.
DOWN_FACTOR = 0.2
DOWNS_COUNTED = 3
SAME_QUESTION = 0.75


@dataclass(frozen=True)
class Vote:
    """One user's 👍 (+1) or 👎 (-1) on the note at ``path`` (whose content hash was
    ``hash``, when known) as an answer to ``question``; ``at``: when, as sortable text."""

    user: str
    question: str
    path: str
    vote: int
    hash: str | None = None
    at: str = ""


@dataclass(eq=False)
class Ballots:
    """Votes as read at one moment. A searcher learns from them once per index generation
    (see Searcher.search), and notes in ``learned`` the content hash of each voted path that
    had none; the reader may store them, so that those votes follow their notes' renames."""

    rows: tuple[Vote, ...]
    learned: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Question:
    """A question as votes compare it: ``terms``, its topical terms the index knows, weighted
    as search weights them; ``words``, its analysed words (known or not, question words and
    bigrams left out), for telling nearly the same question."""

    terms: dict[str, float]
    words: frozenset[str]


@dataclass(frozen=True)
class Adjustment:
    """What votes do to one question's scores: ``boost`` is added to a note's score, then the
    sum is multiplied by ``factor``; ``votes``: how many votes did so, per note."""

    boost: dict[int, float]
    factor: dict[int, float]
    votes: dict[int, int]

    def apply(self, scores: np.ndarray) -> np.ndarray:
        """``scores`` with the votes applied (a copy)."""
        out = scores.copy()
        for note, add in self.boost.items():
            out[note] += np.float32(add)
        for note, factor in self.factor.items():
            out[note] *= np.float32(factor)
        return out


def jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


class Evidence:
    """The votes, resolved against one index: ``notes`` gives each note's (path, number,
    content hash); ``analyse`` turns a question into a Question; ``idf`` gives a known term's
    idf, and ``has`` the notes whose own text has it (a boolean per note number)."""

    def __init__(self, votes: Iterable[Vote], notes: Iterable[tuple[str, int, str | None]],
                 analyse: Callable[[str], Question], idf: Callable[[str], float],
                 has: Callable[[str], np.ndarray]):
        by_path: dict[str, tuple[int, str | None]] = {}
        by_hash: dict[str, int] = {}
        for path, number, digest in sorted(notes):
            by_path[path] = (number, digest)
            if digest:
                by_hash.setdefault(digest, number)  # (copies: the first path's)
        self.learned = {}  # voted path -> its note's hash, for votes stored without one
        latest: dict[tuple[str, str, int], Vote] = {}  # (user, question, note) -> the user's latest vote on it
        for v in votes:
            if v.vote not in (1, -1):
                continue
            found = by_path.get(v.path)
            if found is not None and found[1] and not v.hash:
                self.learned[v.path] = found[1]
            note = found[0] if found else by_hash.get(v.hash) if v.hash else None
            if note is None:
                continue  # the note is gone
            question = " ".join(v.question.split())
            key = (v.user, question, note)
            if key not in latest or latest[key].at <= v.at:
                latest[key] = v
        pairs = defaultdict(list)  # (question, note) -> its votes, one per user
        for (user, question, note), v in latest.items():
            pairs[question, note].append(v)
        lent: dict = defaultdict(lambda: defaultdict(list))  # note -> user -> [(at, question)]
        downs = []  # (question, note, users who voted it down, on balance)
        for (question, note), vs in pairs.items():
            net = sum(v.vote for v in vs)
            if net > 0:
                for v in vs:
                    if v.vote > 0:
                        lent[note][v.user].append((v.at, question))
            elif net < 0:
                downs.append((question, note, min(-net, DOWNS_COUNTED)))
        # note -> [(user, Question)]: each user's most recent questions, then the note's
        self.asked = {}
        for note, users in lent.items():
            mine = [(at, question, user) for user, asked in users.items()
                    for at, question in sorted(asked, reverse=True)[:QUESTIONS_PER_USER]]
            self.asked[note] = [(user, analyse(question)) for _, question, user
                                in sorted(mine, reverse=True)[:QUESTIONS_PER_NOTE]]
        users_of = defaultdict(set)  # (note, term) -> users who lent it
        same = defaultdict(set)  # (words, note) -> users who asked it so
        for note, questions in self.asked.items():
            for user, q in questions:
                for term in q.terms:
                    users_of[note, term].add(user)
                if q.words:
                    same[q.words, note].add(user)
        notes_of = defaultdict(list)
        for note, term in users_of:
            notes_of[term].append(note)
        self.columns = {term: n for n, term in enumerate(sorted(notes_of))}
        rows, cols, values = [], [], []
        for term, notes_ in notes_of.items():
            own = has(term)  # (a word the note has already counts in its text)
            for note in notes_:
                tf = len(users_of[note, term])
                rows.append(note)
                cols.append(self.columns[term])
                values.append((REDUNDANT if own[note] else 1.0) * ASKED_AS_WEIGHT * idf(term)
                              * _saturated(tf))
        import scipy.sparse as sp  # (here: a question with no votes needs no SciPy)

        size = 1 + max((n for n, _ in by_path.values()), default=-1)
        self.matrix = sp.csc_matrix((values, (rows, cols)),
                                    shape=(size, len(self.columns)), dtype=np.float64)
        self.ups = _by_word((words, note, len(users)) for (words, note), users in same.items())
        self.downs = _by_word((analyse(question).words, note, strength)
                              for question, note, strength in downs)

    def boost(self, question: Question, reach: float) -> tuple[dict[int, float],
                                                               dict[int, int]]:
        """What the 👍 votes add to each note's score for ``question``, whose best possible
        score is ``reach``; and how many voted questions share a term with it."""
        cols = [self.columns[t] for t in question.terms if t in self.columns]
        added: dict[int, float] = defaultdict(float)
        if cols:
            weights = np.array([w for t, w in question.terms.items() if t in self.columns])
            lent = self.matrix[:, cols] @ weights
            for n in np.flatnonzero(lent > 0).tolist():
                added[n] += float(lent[n])
        for note, users in _nearly(self.ups, question.words).items():
            added[note] += SAME_QUESTION_WEIGHT * reach * _saturated(users)
        counts = {n: sum(1 for _, q in self.asked.get(n, ())
                         if not q.terms.keys().isdisjoint(question.terms)) for n in added}
        return dict(added), counts

    def penalties(self, words: frozenset[str]) -> tuple[dict[int, float], dict[int, int]]:
        """What each note's score is multiplied by for a question of ``words``: DOWN_FACTOR
        once per user who voted it down for nearly the same question (at most DOWNS_COUNTED
        times in all); and how many such votes there are."""
        strength = _nearly(self.downs, words)
        return ({n: DOWN_FACTOR ** min(s, DOWNS_COUNTED) for n, s in strength.items()},
                strength)

    def adjust(self, question: Question, reach: float) -> Adjustment | None:
        """The votes' effect on ``question`` (whose best possible score is ``reach``), or None
        when they have none."""
        boost, ups = self.boost(question, reach)
        factor, downs = self.penalties(question.words)
        if not boost and not factor:
            return None
        votes = {n: ups.get(n, 0) + downs.get(n, 0) for n in boost.keys() | factor.keys()}
        return Adjustment(boost, factor, votes)


def _saturated(users: int) -> float:
    """BM25's saturation of a count of users: 1 for one, below 1 + SATURATION for many."""
    return users * (SATURATION + 1) / (users + SATURATION)


def _by_word(entries) -> dict[str, list[tuple[frozenset, int, int]]]:
    """(words, note, count) entries, listed under each of their words."""
    out = defaultdict(list)
    for entry in entries:
        for word in entry[0]:
            out[word].append(entry)
    return out


def _nearly(entries: dict, words: frozenset[str]) -> dict[int, int]:
    """Per note, the summed count of the ``entries`` whose words are nearly ``words``."""
    found: dict[int, int] = defaultdict(int)
    seen: set[int] = set()
    for word in words:
        for entry in entries.get(word, ()):
            if id(entry) not in seen:
                seen.add(id(entry))
                if jaccard(words, entry[0]) >= SAME_QUESTION:
                    found[entry[1]] += entry[2]
    return dict(found)
