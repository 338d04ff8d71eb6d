"""Answering a question: analyse it, score the notes, and cut an excerpt from each hit."""
from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass

from . import excerpt as excerpt_mod
from .analyzer import Analyzer, is_bigram, normalize
from .scoring import top_k
from .store import IndexData, analyzer_for
from .synonyms import SHIPPED as SHIPPED_SYNONYMS, Synonyms

# A question longer than this is cut: nobody asks in more words, and a huge paste must not stall.
MAX_QUESTION_CHARS = 2000
# Words that say a question is being asked, not what it is about (UniDic lemmas: どこ → 何処,
# いつ → 何時, どの → 何の, 教えて → 教える, やり方 → 遣る + 方). Weighted down, not dropped, so a
# question made only of them still finds something.
QUESTION_WORDS = frozenset("何 何処 何時 誰 何故 どう 何の どんな 何れ 何方 幾 幾ら 教える 知る "
                           "分かる 遣る 方 方法 つく 使う 仕方".split())
QUESTION_WORD_WEIGHT = 0.2
# A katakana word's English gloss (サーバ → server) in a question: weaker than the word itself.
GLOSS_WEIGHT = 0.3
# A character bigram is weaker evidence than a whole word (measured in bench/README.md).
BIGRAM_WEIGHT = 0.5
INNER_BIGRAM_WEIGHT = 0.2
_HIRAGANA = re.compile(r"[\u3041-\u309f]+")
# A question that asks when or how many (いつ, 何年, 何人, いくつ, どれくらい: 何 and a counter)
# is answered by a number: the excerpt prefers a passage that holds one.
_ASKS_NUMBER = re.compile(r"いつ|いくつ|幾つ|いくら|幾ら|どれ[くぐ]らい|どの[くぐ]らい|何パーセント|何世紀"
                          r"|何[かカヶケ]?[年月日時人名個回度倍歳割位番本台件冊社点票種%]")
_NUMBER = re.compile(r"\d")


def _weight(term: str) -> float:
    return QUESTION_WORD_WEIGHT if term in QUESTION_WORDS else 1.0


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

    def __init__(self, data: IndexData, analyzer: Analyzer | None = None,
                 synonyms_file: str | os.PathLike | None = SHIPPED_SYNONYMS):
        """``synonyms_file``: the synonyms applied to questions (None: none)."""
        self.data = data
        self.analyzer = analyzer or analyzer_for(data)
        self.synonyms = Synonyms.from_file(synonyms_file, self.analyzer) if synonyms_file \
            else Synonyms([], self.analyzer)

    def question_terms(self, question: str) -> dict[str, float]:
        """The question's known terms, each weighted by how often it occurs in the question
        (bigrams, glosses, question words and synonyms count for less)."""
        return self._weights(self.analyzer.tokens(normalize(question[:MAX_QUESTION_CHARS])))

    def _weights(self, tokens) -> dict[str, float]:
        # A loanword's English gloss shares its word's span: it counts for less, or the word
        # would count twice.
        # A bigram inside a word the notes know adds little to the word; one that crosses words
        # or lies in a word the notes don't know (a compound split otherwise) adds more.
        japanese = {(t.start, t.end) for t in tokens if not t.term.isascii()}
        word_end = Counter()  # how far a known word reaches from each offset it covers
        for t in tokens:
            if not is_bigram(t.term) and t.term in self.data.vocab:
                for at in range(t.start, t.end):
                    word_end[at] = max(word_end[at], t.end)
        counts = Counter()
        for t in tokens:
            if is_bigram(t.term):
                if word_end[t.start] >= t.end:
                    counts[t.term] += INNER_BIGRAM_WEIGHT
                elif not _HIRAGANA.fullmatch(t.term[1:]):  # not just particles and endings
                    counts[t.term] += BIGRAM_WEIGHT
            elif t.term.isascii() and (t.start, t.end) in japanese:
                counts[t.term] += GLOSS_WEIGHT
            else:
                counts[t.term] += 1
        words = {t for t in counts if not is_bigram(t)}
        for t, w in self.synonyms.expand(words).items():
            counts.setdefault(t, w)
        return {t: n * _weight(t) for t, n in counts.items() if t in self.data.vocab}

    def search(self, question: str, k: int = 3, offset: int = 0) -> list[Hit]:
        """The ``k`` best notes for ``question`` after skipping ``offset``, best first."""
        if k <= 0:
            return []
        text = normalize(question[:MAX_QUESTION_CHARS])
        tokens = self.analyzer.tokens(text)
        terms = self._weights(tokens)
        if not terms:
            return []
        ids = [self.data.vocab[t] for t in terms]
        scores = self.data.score(ids, list(terms.values()), k=offset + k)
        order = top_k(scores, offset + k)[offset:]
        needles = self._needles(text, tokens, terms)
        expect = _NUMBER if _ASKS_NUMBER.search(text) else None
        return [self._hit(int(i), float(scores[i]), needles, expect) for i in order]

    def _needles(self, text: str, tokens, terms: dict[str, float]) -> list[excerpt_mod.Needle]:
        """What the excerpt looks for: each known term's lemma and its spelling in the question
        ``text``, weighted by idf (bigrams without their mark, and not highlighted)."""
        idf = dict(zip(terms, self.data.idf[[self.data.vocab[t] for t in terms]].tolist()))
        needles = {}
        for token in tokens:
            weight = terms.get(token.term)
            if weight is None:
                continue
            if is_bigram(token.term):
                # Inside a passage a bigram is the best clue to where the word is, even inside
                # a known word: full bigram weight here, whatever it had for ranking.
                chars = token.term[1:]
                needles[chars] = excerpt_mod.Needle(chars, token.term,
                                                    BIGRAM_WEIGHT * idf[token.term], shown=False)
                continue
            for spelling in (token.term, text[token.start:token.end].lower()):
                if spelling not in needles:
                    needles[spelling] = excerpt_mod.Needle(spelling, token.term,
                                                           weight * idf[token.term])
        return [n for n in needles.values() if n.text]

    def _hit(self, i: int, score: float, needles: list, expect: re.Pattern | None) -> Hit:
        doc = self.data.doc(i)
        ex = excerpt_mod.best(doc["text"], needles, expect=expect)
        return Hit(doc["path"], doc["title"], score, ex.text, ex.matched, doc.get("url"),
                   doc.get("date"), tuple(doc.get("tags") or ()))
