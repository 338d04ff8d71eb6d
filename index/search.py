"""Answering a question: analyse it, score the notes, and cut an excerpt from each hit."""
from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from . import excerpt as excerpt_mod, votes as votes_mod
from .analyzer import Analyzer, is_bigram, normalize
from .scoring import idf as idf_of, top_k
from .generation import Generation
from .synonyms import SHIPPED as SHIPPED_SYNONYMS, Synonyms

# The confidence a first result needs for the question to count as answered (measured in
# bench/README.md: answerable questions above it, unanswerable ones below).
DEFAULT_MIN_CONFIDENCE = 0.3
# A question longer than this is cut: nobody asks in more words, and a huge paste must not stall.
MAX_QUESTION_CHARS = 2000
# Words that say a question is being asked, not what it is about (UniDic lemmas: どこ → 何処,
# いつ → 何時, どの → 何の, 教えて → 教える, やり方 → 遣る + 方). Weighted down, not dropped, so a
# question made only of them still finds something.
QUESTION_WORDS = frozenset("何 何処 何時 誰 何故 どう 何の どんな 何れ 何方 幾 幾ら 教える 知る "
                           "分かる 遣る 方 方法 つく 使う 仕方".split())
QUESTION_WORD_WEIGHT = 0.2
# English words that say nothing of what an English question is about ("how to set up DevStack
# on AWS"): left out, as particles are in Japanese. (In a Japanese question an English word is
# a name: "Made in Abyss".)
ENGLISH_STOP_WORDS = frozenset("a an the to of in on at for with by from as and or but is are was "
                               "were be been being am do does did done how what why when where "
                               "which who whom whose i me my we our us you your he she they them "
                               "their this that these those there here can could should would "
                               "will shall may might must about if then than so not".split())
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
_KATAKANA = re.compile(r"[\u30a1-\u30fa\u30fc]+")
_LETTERS_DIGITS = re.compile(r"([a-z]+)([0-9]+)")


def _weight(term: str) -> float:
    return QUESTION_WORD_WEIGHT if term in QUESTION_WORDS else 1.0


@dataclass(frozen=True)
class Terms:
    """A question's terms as search uses them: ``weights`` of the terms the index knows, which
    of them say what the question is about (``topical``: not question words); and what a note
    that answers it fully would match: the known terms ``reach`` with their weights, and
    ``unknown``, the summed weight of the words the asker typed that no note has."""

    weights: dict[str, float]
    topical: frozenset[str]
    reach: dict[str, float]
    unknown: float


def answered(hits: list["Hit"], min_confidence: float) -> bool:
    """Whether ``hits`` answer their question: the first one's confidence reaches
    ``min_confidence``."""
    return bool(hits) and hits[0].confidence >= min_confidence


@dataclass(frozen=True)
class Hit:
    """One answer: a note, its score, how confidently it answers the question (0..1: its
    score against the best a note could reach), and the passage that best answers it."""

    path: str
    title: str
    score: float
    confidence: float
    excerpt: str
    matched: tuple[str, ...]
    url: str | None
    date: str | None
    tags: tuple[str, ...]
    votes: int = 0  # the 👍/👎 votes that moved this note for this question

    def to_json(self) -> dict:
        """The contract's JSON shape for one result (``votes`` only when some moved it)."""
        out = {"path": self.path, "title": self.title, "score": round(self.score, 4),
               "confidence": round(self.confidence, 4), "excerpt": self.excerpt,
               "url": self.url, "date": self.date}
        if self.votes:
            out["votes"] = self.votes
        return out


class Searcher:
    """Searches one loaded index generation."""

    def __init__(self, data: Generation, analyzer: Analyzer | None = None,
                 synonyms_file: str | os.PathLike | None = SHIPPED_SYNONYMS):
        """``synonyms_file``: the synonyms applied to questions (None: none)."""
        self.data = data
        self.analyzer = analyzer or data.analyzer()
        self.synonyms = Synonyms.from_file(synonyms_file, self.analyzer) if synonyms_file \
            else Synonyms([], self.analyzer)
        # The 👍/👎 votes searches learn from when a search is given none (see index/votes.py),
        # and what was learnt from the last ones: (Ballots, Evidence).
        self.votes: votes_mod.Ballots | None = None
        self._evidence: tuple[votes_mod.Ballots, votes_mod.Evidence] | None = None

    def collections(self) -> frozenset[str]:
        """The collections of the notes searched (see generation.collection_of)."""
        return self.data.collections

    def question_terms(self, question: str) -> dict[str, float]:
        """The question's known terms, each weighted by how often it occurs in the question
        (bigrams, glosses, question words and synonyms count for less)."""
        text = normalize(question[:MAX_QUESTION_CHARS])
        return self._terms(self.analyzer.tokens(text)).weights

    def _terms(self, tokens) -> Terms:
        vocab = self.data.vocab
        if all(t.term.isascii() for t in tokens):  # an English question
            tokens = [t for t in tokens if t.term not in ENGLISH_STOP_WORDS]
        # A loanword's English gloss shares its word's span: it counts for less, or the word
        # would count twice.
        # A bigram inside a word the notes know adds little to the word; one that crosses words
        # or lies in a word the notes don't know (a compound split otherwise) adds more.
        # A bigram inside a question word, or inside a katakana word the notes don't know
        # (オンボーディング: its ング is in unrelated loanwords), ranks notes but does not
        # make a note an answer on its own.
        japanese = {(t.start, t.end) for t in tokens if not t.term.isascii()}
        # how far a known word reaches from each offset it covers
        word_end: Counter[int] = Counter()
        # offsets covered by such words, by known words
        vague: set[int] = set()
        known_at: set[int] = set()
        for t in tokens:
            if is_bigram(t.term):
                continue
            span = range(t.start, t.end)
            if t.term in vocab:
                known_at.update(span)
                for at in span:
                    word_end[at] = max(word_end[at], t.end)
            elif _KATAKANA.fullmatch(t.term):
                vague.update(span)
            if t.term in QUESTION_WORDS:
                vague.update(span)
        counts: dict[str, float] = defaultdict(float)
        typed, topical = [], set()
        for t in tokens:
            if is_bigram(t.term):
                if word_end[t.start] >= t.end:
                    counts[t.term] += INNER_BIGRAM_WEIGHT
                elif not _HIRAGANA.fullmatch(t.term[1:]):  # not just particles and endings
                    counts[t.term] += BIGRAM_WEIGHT
                else:
                    continue
                if not vague.issuperset(range(t.start, t.end)):
                    topical.add(t.term)
                continue
            if t.term.isascii() and (t.start, t.end) in japanese:
                counts[t.term] += GLOSS_WEIGHT
            else:
                counts[t.term] += 1
                typed.append(t)
            if t.term not in QUESTION_WORDS:
                topical.add(t.term)
        for t in typed:  # PEP8 where the notes write PEP 8: the word's letters and digits
            m = _LETTERS_DIGITS.fullmatch(t.term) if t.term not in vocab else None
            parts = m.groups() if m else ()
            if parts and all(p in vocab for p in parts):
                known_at.update(range(t.start, t.end))
                for part in parts:
                    counts[part] += 1
                    topical.add(part)
        words = {t for t in counts if not is_bigram(t)}
        added = {t: w for t, w in self.synonyms.expand(words).items() if t not in counts}
        weights = {t: n * _weight(t) for t, n in counts.items() if t in vocab}
        # What a note written as the question is worded would score: the asker's words and
        # their bigrams and glosses; a typed word no note has (and that no known word covers:
        # a dotted name whose parts are known is not unknown) as a term no note has, unless a
        # synonym stands for it.
        reach, unknown = dict(weights), 0.0
        inner, end = set(), -1  # the typed words inside a longer one (http in http.client)
        for t in sorted(typed, key=lambda t: (t.start, -t.end)):
            if end >= t.end:
                inner.add(t)
            end = max(end, t.end)
        for t in typed:
            if t.term in vocab or not known_at.isdisjoint(range(t.start, t.end)) or t in inner:
                continue  # (a known word covers it, or it is a part of a longer word)
            stand_in = {s: w for s, w in self.synonyms.expand(words, through=t.term).items()
                        if s in vocab}
            if stand_in:
                best = max(stand_in, key=lambda s: stand_in[s] * self._idf(s))
                reach[best] = reach.get(best, 0.0) + stand_in[best] * _weight(t.term)
                continue
            unknown += _weight(t.term)
        weights.update((t, w) for t, w in added.items() if t in vocab)
        topical.update(added)
        return Terms(weights, frozenset(topical & weights.keys()), reach, unknown)

    def _idf(self, term: str) -> float:
        return float(self.data.idf[self.data.vocab[term]])

    def reach(self, terms: Terms) -> float:
        """The best score a note could have for a question of ``terms``: every term at its
        bound (see scoring.accumulate), and each unknown word as a term no note has."""
        unknown = float(idf_of(np.zeros(1), self.data.n_notes)[0])
        return self._bound(terms.reach, terms.unknown * unknown)

    def _bound(self, weights: dict[str, float], idf: float = 0.0) -> float:
        """The most that terms of ``weights`` (and terms of summed ``idf``) can add to a
        note's score: each term's score is below ``idf * (k1 + 1 + delta)``."""
        params = self.data.params
        total = idf + sum(w * self._idf(t) for t, w in weights.items())
        return total * (params.k1 + 1.0 + params.delta)

    def search(self, question: str, k: int = 3, offset: int = 0,
               excerpts: int | None = None, collections: frozenset[str] | None = None,
               votes: votes_mod.Ballots | None = None) -> list[Hit]:
        """The ``k`` best notes for ``question`` after skipping ``offset``, best first.
        A note that shares only question words (何, どう) with the question is not one.
        ``excerpts``: only so many of the hits get an excerpt (the others: ""), for a caller
        that asks for one more hit only to know whether there are more.
        ``collections``: only the notes of these collections are ranked, so that pages and
        ``k`` count them alone (None: every note; see Generation.outside).
        ``votes``: the 👍/👎 votes to learn from (None: the searcher's own, ``self.votes``)."""
        if k <= 0 or collections is not None and not collections:
            return []
        text = normalize(question[:MAX_QUESTION_CHARS])
        tokens = self.analyzer.tokens(text)
        terms = self._terms(tokens)
        if not terms.topical:
            return []
        voted = self._voted(tokens, terms, self.votes if votes is None else votes)
        vocab = self.data.vocab
        ids, weights = [vocab[t] for t in terms.weights], list(terms.weights.values())
        # (votes may lift any note: then every note is scored exactly)
        hidden = None if collections is None else self.data.outside(collections)
        scores = self.data.score(ids, weights, k=offset + k if voted is None else None,
                                 without=hidden)
        if voted is not None:
            scores = voted.apply(scores)
            if hidden is not None:  # (nor do votes lift a note outside the collections)
                scores[hidden] = 0.0
        order = top_k(scores, offset + k, self.data.path_rank)
        # A note can only score this much from the terms that do not make it an answer: if a
        # note among the best is that low, it may have nothing else, and those without any
        # topical term are left out (then every note is scored).
        vague = self._bound({t: w for t, w in terms.weights.items() if t not in terms.topical})
        if vague and len(order) and scores[order[-1]] <= vague * (1 + 1e-6) + 1e-6:
            without = np.flatnonzero(~self.data.having([vocab[t] for t in terms.topical]))
            if hidden is not None:
                without = np.concatenate((without, hidden))
            scores = self.data.score(ids, weights, without=without)
            if voted is not None:
                scores = voted.apply(scores)
                if hidden is not None:
                    scores[hidden] = 0.0
            order = top_k(scores, offset + k, self.data.path_rank)
        order = order[offset:]
        needles = self._needles(text, tokens, terms.weights)
        expect = _NUMBER if _ASKS_NUMBER.search(text) else None
        reach = self.reach(terms) or 1.0
        cut = len(order) if excerpts is None else excerpts
        return [self._hit(int(i), float(scores[i]), min(1.0, float(scores[i]) / reach),
                          needles if n < cut else None, expect,
                          voted.votes.get(int(i), 0) if voted is not None else 0)
                for n, i in enumerate(order)]

    # ------------------------------------------------------------ what votes teach (votes.py)

    def _voted(self, tokens, terms: Terms,
               ballots: votes_mod.Ballots | None) -> votes_mod.Adjustment | None:
        """What the votes in use do to the scores of a question of ``tokens`` and ``terms``
        (None: nothing). Votes add to a note's score, so they raise its confidence too: a
        note voted 👍 for the very question is an answer people confirmed."""
        if ballots is None or not ballots.rows:
            return None
        if self._evidence is None or self._evidence[0] is not ballots:
            notes = self.data.manifest.notes
            evidence = votes_mod.Evidence(ballots.rows, zip(notes.path, notes.doc, notes.hash),
                                          self._asked, self._idf,
                                          lambda t: self.data.having([self.data.vocab[t]]))
            ballots.learned.update(evidence.learned)
            self._evidence = (ballots, evidence)
        return self._evidence[1].adjust(self._question(tokens, terms), self.reach(terms))

    def _asked(self, question: str) -> votes_mod.Question:
        tokens = self.analyzer.tokens(normalize(question[:MAX_QUESTION_CHARS]))
        return self._question(tokens, self._terms(tokens))

    @staticmethod
    def _question(tokens, terms: Terms) -> votes_mod.Question:
        words = frozenset(t.term for t in tokens if not is_bigram(t.term)
                          and t.term not in QUESTION_WORDS and t.term not in ENGLISH_STOP_WORDS)
        return votes_mod.Question({t: w for t, w in terms.weights.items() if t in terms.topical},
                                  words)

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

    def _hit(self, i: int, score: float, confidence: float, needles: list | None,
             expect: re.Pattern | None, votes: int = 0) -> Hit:
        doc = self.data.doc(i)
        ex = excerpt_mod.best(doc["text"], needles, expect=expect) if needles is not None \
            else excerpt_mod.Excerpt("", ())
        return Hit(doc["path"], doc["title"], score, confidence, ex.text, ex.matched,
                   doc.get("url"), doc.get("date"), tuple(doc.get("tags") or ()), votes)
