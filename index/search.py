"""Answering a question: analyse it, score the notes, and cut an excerpt from each hit."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from . import excerpt as excerpt_mod
from .analyzer import Analyzer, normalize
from .scoring import top_k
from .store import IndexData, analyzer_for

# A question longer than this is cut: nobody asks in more words, and a huge paste must not stall.
MAX_QUESTION_CHARS = 2000


@dataclass(frozen=True)
class Hit:
    """One answer: a note, its score, and the passage that best answers the question."""

    path: str
    title: str
    score: float
    excerpt: str
    matched: tuple[str, ...]
    url: str | None
    date: str | None
    tags: tuple[str, ...]

    def to_json(self) -> dict:
        """The contract's JSON shape for one result."""
        return {"path": self.path, "title": self.title, "score": round(self.score, 4),
                "excerpt": self.excerpt, "url": self.url, "date": self.date}


class Searcher:
    """Searches one loaded index generation."""

    def __init__(self, data: IndexData, analyzer: Analyzer | None = None):
        self.data = data
        self.analyzer = analyzer or analyzer_for(data)

    def question_terms(self, question: str) -> dict[str, float]:
        """The question's known terms, each weighted by how often it occurs in the question."""
        counts = Counter(self.analyzer(question[:MAX_QUESTION_CHARS]))
        return {t: float(n) for t, n in counts.items() if t in self.data.vocab}

    def search(self, question: str, k: int = 3, offset: int = 0) -> list[Hit]:
        """The ``k`` best notes for ``question`` after skipping ``offset``, best first."""
        if k <= 0:
            return []
        terms = self.question_terms(question)
        if not terms:
            return []
        ids = [self.data.vocab[t] for t in terms]
        scores = self.data.score(ids, list(terms.values()))
        order = top_k(scores, offset + k)[offset:]
        weights = {t: float(self.data.idf[self.data.vocab[t]]) for t in terms}
        needles = normalize(question[:MAX_QUESTION_CHARS]).lower().split()
        return [self._hit(int(i), float(scores[i]), weights, needles) for i in order]

    def _hit(self, i: int, score: float, weights: dict, needles) -> Hit:
        doc = self.data.doc(i)
        ex = excerpt_mod.best(doc["text"], weights, self.analyzer, needles)
        return Hit(doc["path"], doc["title"], score, ex.text, ex.matched, doc.get("url"),
                   doc.get("date"), tuple(doc.get("tags") or ()))
