"""Japanese text analysis: the one analyzer that notes and questions both go through.

Text is NFKC-normalised, then split by MeCab (fugashi) with the UniDic dictionary (unidic-lite).
Each content word becomes its UniDic lemma, so inflected forms match (走らせた → 走る). Particles,
auxiliary verbs, symbols and white space are dropped. Katakana words lose a trailing long-vowel
mark (サーバー = サーバ, after JIS Z 8301). ASCII runs are taken by a regular expression instead
of MeCab, so identifiers stay whole and searchable: ``http.client``, ``oslo_service``, ``70007``,
``1.5`` — a dotted or underscored identifier also yields its parts (``http``, ``client``).

With ``bigrams``, every run of Japanese characters also yields its overlapping character bigrams,
marked with BIGRAM_MARK so they never collide with words: they recover partial matches that
the word split misses (京都 in 東京都, unknown compounds, typos). With ``glosses``, a loanword
also yields UniDic's English word for it (サーバー → server).
"""
from __future__ import annotations

import os
import re
import threading
import unicodedata
from collections import Counter
from itertools import chain, repeat
from operator import add, itemgetter
from typing import NamedTuple

import fugashi
import unidic_lite

# UniDic's top-level parts of speech that carry no meaning for search.
DROPPED_POS = frozenset(("助詞", "助動詞", "補助記号", "記号", "空白"))
# Words so common in any Japanese text that they only add noise to a match, as UniDic writes
# their lemmas (する → 為る, こと → 事, この → 此の).
STOP_LEMMAS = frozenset("為る 有る 居る 成る 事 物 様 為 此れ 其れ 彼れ 此の 其の".split())
# Lines longer than this are cut into pieces before MeCab sees them: its lattice grows with input.
CHUNK_CHARS = 4096
# What MeCab writes for each word, instead of the dictionary's long default line: the text since
# the previous word (blanks included, so offsets need no searching), then the word itself as
# "surface lemma part-of-speech" (a surface never holds a blank) -- tab-separated, so one split
# reads a whole chunk, and a word is one string to count. Unknown words are their own lemma.
_MECAB_OUTPUT = r'-O "" -F "%M\t%m %f[7] %f[0]\t" -U "%M\t%m %m %f[0]\t" -E "EOS\n"'
# Analyzer.counts asks for less: a dictionary word is written as "surface left-id,right-id" (its
# key), which spares MeCab reading the word's features, much of its time. Unknown words are
# written as above. A key's lemma and part of speech are looked up once (Analyzer._entry).
_MECAB_KEYS = r'-O "" -F "%M\t%m %phl,%phr\t" -U "%M\t%m %m %f[0]\t" -E "EOS\n"'
# Every dictionary word in the lattice of a text (unknown words are left out), with its key and
# cost: what Analyzer._entry looks a key up in.
_MECAB_ENTRIES = r'-a -O "" -F "%m %phl,%phr %pw\t%m %f[7] %f[0]\n" -U "" -E "" -B ""'
# Only these runs need NFKC (a fifth of the time of normalising the whole text): ASCII, kana,
# common kanji and Japanese punctuation (、。「」『』【】々 ・) are NFKC already, and compose with
# nothing before them. The character before a run goes with it (see nfkc_runs).
_NOT_NFKC = re.compile(r"[^\x00-\x7f\u3001-\u3029\u3041-\u3096\u30a1-\u30fc\u4e00-\u9fff]+")
# Control characters, and lone surrogates (undecodable bytes in argv, or JSON \ud800 escapes).
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_ASCII_WORD = re.compile(r"[0-9a-z]+(?:[._\-/:+#][0-9a-z]+)*")
_ASCII_PART = re.compile(r"[0-9a-z]+")
_KATAKANA = re.compile(r"[\u30a1-\u30fa\u30fc]+")
_HAS_ASCII_ALNUM = re.compile(r"[0-9A-Za-z]")
_JAPANESE_RUN = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u30fc\u3005\u3006\u30f6\u4e00-\u9fff]+")
_WORD_FINAL_LONG_VOWEL = re.compile(r"(?<=[\u30a1-\u30fa])ー+(?![\u30a1-\u30fa\u30fc])")
# UniDic's English gloss of a loanword's lemma (サーバー-server): a plain lower-case word.
_GLOSS = re.compile(r"[a-z]+")
# Starts every bigram term; normalize() removes it from text, so no word can begin with it.
BIGRAM_MARK = "\x02"
# Distinct words whose terms Analyzer.counts keeps at most: about 30 MB.
TERMS_CACHE_SIZE = 100_000
_START = itemgetter(0)


class Token(NamedTuple):
    """A term with the span of text it came from (offsets into the normalised text)."""

    term: str
    start: int
    end: int


def normalize(text: str) -> str:
    """NFKC-normalise ``text`` and turn control characters into spaces (case is kept)."""
    out: list[str]
    out, done = [], 0
    for start, end in nfkc_runs(text):
        out += (text[done:start], unicodedata.normalize("NFKC", text[start:end]))
        done = end
    out.append(text[done:])
    return printable("".join(out))


def printable(text: str) -> str:
    """``text`` with control characters and lone surrogates as spaces: safe to print on a
    terminal (no escape sequences) and to encode."""
    return CONTROL.sub(" ", text)


def nfkc_runs(text: str):
    """The spans of ``text`` that NFKC may change, as (start, end): the rest is NFKC already.
    Each span starts with the character before the run, in case the run starts with a
    combining mark (カ + ゙ → ガ)."""
    for m in _NOT_NFKC.finditer(text):
        yield max(m.start() - 1, 0), m.end()


def nfkc_each(text: str) -> str:
    """``text`` with each character that NFKC may change normalised on its own (so that,
    without combining marks, only characters NFKC makes longer change the length)."""
    return _NOT_NFKC.sub(_each_char, text)


def _each_char(run: re.Match) -> str:
    return "".join([unicodedata.normalize("NFKC", char) for char in run.group()])


def dictionary_version() -> str:
    """The version of the installed unidic-lite dictionary."""
    with open(os.path.join(unidic_lite.DICDIR, "version"), encoding="utf-8") as f:
        return f"unidic-lite {f.read().strip()}"


def _fold_katakana(term: str) -> str:
    if len(term) > 2 and term.endswith("ー") and _KATAKANA.fullmatch(term):
        return term.rstrip("ー")
    return term


def _chunks(text: str):
    """Pieces of at most CHUNK_CHARS characters, cut at line or sentence ends where possible."""
    start = 0
    while start < len(text):
        end = min(start + CHUNK_CHARS, len(text))
        if end < len(text):
            cut = max(text.rfind(c, start, end) for c in ("\n", "。", " ", "、"))
            if cut > start:
                end = cut + 1
        yield start, text[start:end]
        start = end


class Analyzer:
    """Turns text into search terms. Settings are recorded with the index and checked on load.

    ``ascii_parts``: also index the parts of dotted/underscored identifiers.
    ``bigrams``: also index character bigrams of Japanese text.
    ``glosses``: a loanword also yields UniDic's English word for it (サーバー → server), so
    katakana and English spellings meet.
    """

    def __init__(self, ascii_parts: bool = True, bigrams: bool = True, glosses: bool = True):
        self.ascii_parts = ascii_parts
        self.bigrams = bigrams
        self.glosses = glosses
        self._terms: _Cache | None = None  # Analyzer.counts' cache: word -> its terms

    def settings(self) -> dict:
        """Everything that changes the terms this analyzer makes, for the index manifest."""
        return {"name": "unidic-lemma", "version": 3, "dictionary": dictionary_version(),
                "ascii_parts": self.ascii_parts, "bigrams": self.bigrams,
                "glosses": self.glosses}

    def __getstate__(self):  # so an Analyzer can be sent to worker processes
        return dict(self.__dict__, _terms=None)

    def __call__(self, text: str) -> list[str]:
        """The terms of ``text`` in order (each as often as it occurs). For questions and the
        like: one MeCab, where ``counts`` takes two."""
        return [token.term for token in self.tokens(normalize(text))]

    def counts(self, text: str) -> Counter:
        """How often each term occurs in ``text``: what the index stores of a note.

        The same terms as ``tokens`` makes, without their spans, and faster: the rules for a
        word run once per distinct word (cached across calls), and the counting is done in C.
        """
        if self._terms is None or len(self._terms) > TERMS_CACHE_SIZE:
            self._terms = _Cache(self._terms_of)
        counts: Counter[str]
        terms, counts = self._terms.__getitem__, Counter()
        for _, chunk in _chunks(normalize(text)):
            lower = chunk.lower()
            counts.update(chain.from_iterable(map(terms, self._parse(chunk, _MECAB_KEYS)[1::2])))
            counts.update(chain.from_iterable(map(terms, _ASCII_WORD.findall(lower))))
            if self.bigrams:
                runs = _JAPANESE_RUN.findall(_WORD_FINAL_LONG_VOWEL.sub("", lower))
                counts.update(BIGRAM_MARK + run for run in runs if len(run) == 1)
                counts.update(chain.from_iterable(
                    map(add, map(add, repeat(BIGRAM_MARK), run), run[1:]) for run in runs))
        return counts

    def _terms_of(self, word: str) -> tuple[str, ...]:
        """The terms of a word from MeCab ("surface lemma pos", or a key "surface ids") or from
        _ASCII_WORD."""
        if " " not in word:
            return (word, *self._parts(word))
        return tuple(self._word_terms(word if word.count(" ") == 2 else self._entry(word)))

    def _entry(self, key: str) -> str:
        """The dictionary word ("surface lemma pos") that MeCab writes as ``key``.

        Of the words that share a surface and connection ids, MeCab can only ever choose the one
        that costs least, whatever the text around it: the others fit the same places, for more.
        (On a tie its Viterbi keeps the last one, as here.)
        """
        best, word = None, None
        for line in _mecab(_MECAB_ENTRIES, key.split(" ", 1)[0]).splitlines():
            node, entry = line.split("\t")
            node, cost = node.rsplit(" ", 1)
            if node == key and (best is None or int(cost) <= best):
                best, word = int(cost), entry
        if word is None:
            raise LookupError(f"MeCab wrote {key!r}, which is not in its dictionary")
        return word

    def tokens(self, text: str) -> list[Token]:
        """Terms of already-normalised ``text`` with their spans, in order of appearance."""
        out: list[tuple[int, str, int]] = []
        for offset, chunk in _chunks(text):
            self._japanese(chunk, offset, out)
            self._ascii(chunk, offset, out)
            if self.bigrams:
                self._bigrams(chunk, offset, out)
        out.sort(key=_START)
        return [Token(term, start, end) for start, term, end in out]

    def _parse(self, chunk: str, output: str = _MECAB_OUTPUT) -> list[str]:
        """MeCab's output for ``chunk`` as ``output``'s fields, two per word."""
        # A tab would split the fields; a blank has the same length.
        return _mecab(output, chunk.replace("\t", " ")).split("\t")

    def _word_terms(self, word: str) -> list[str]:
        """The terms a word ("surface lemma pos") makes: none, its lemma, or it and its gloss."""
        surface, rest = word.split(" ", 1)
        lemma, pos = rest.rsplit(" ", 1)
        if pos in DROPPED_POS or _HAS_ASCII_ALNUM.search(surface):
            return []  # (ASCII is taken by _ASCII_WORD instead)
        gloss = None
        if "-" in lemma[1:]:
            lemma, gloss = lemma.split("-", 1)
        term = lemma.lower()
        if term.endswith("ー"):
            term = _fold_katakana(term)
        if not term or term in STOP_LEMMAS:
            return []
        if gloss and self.glosses and _GLOSS.fullmatch(gloss):
            return [term, gloss.lower()]
        return [term]

    def _parts(self, word: str) -> list[str]:
        """The parts of a dotted or underscored identifier (none for a plain word)."""
        parts = _ASCII_PART.findall(word) if self.ascii_parts else []
        return parts if len(parts) > 1 else []

    def _japanese(self, chunk: str, offset: int, out: list):
        fields = self._parse(chunk)
        end = offset
        for text, word in zip(fields[0::2], fields[1::2]):
            end += len(text)  # (the blanks before the word, and the word)
            out.extend((end - word.index(" "), term, end) for term in self._word_terms(word))

    def _ascii(self, chunk: str, offset: int, out: list):
        for m in _ASCII_WORD.finditer(chunk.lower()):
            word, start = m.group(), offset + m.start()
            out.append((start, word, start + len(word)))
            if self._parts(word):
                out.extend((start + p.start(), p.group(), start + p.end())
                           for p in _ASCII_PART.finditer(word))

    def _bigrams(self, chunk: str, offset: int, out: list):
        for m in _JAPANESE_RUN.finditer(chunk.lower()):
            # Long-vowel marks that end a katakana word go, as for words (サーバー管理 → サーバ管理);
            # spans then drift by a character or two, which nothing shows.
            run, start = _WORD_FINAL_LONG_VOWEL.sub("", m.group()), offset + m.start()
            if len(run) == 1:
                out.append((start, BIGRAM_MARK + run, start + 1))
            out.extend((start + i, BIGRAM_MARK + run[i:i + 2], start + i + 2)
                       for i in range(len(run) - 1))


# One MeCab tagger per output format for the whole process, each used by one thread at a time:
# a tagger maps the dictionary and never gives the mapping back, so a tagger per analyzer (a
# long-running bot makes one for each index it loads) would keep more and more of it mapped.
_TAGGERS: dict[str, tuple[fugashi.GenericTagger, threading.Lock]] = {}
_TAGGERS_LOCK = threading.Lock()


def _mecab(output: str, text: str) -> str:
    """MeCab's output for ``text`` in the format ``output``."""
    if output not in _TAGGERS:
        with _TAGGERS_LOCK:
            if output not in _TAGGERS:
                d = unidic_lite.DICDIR
                _TAGGERS[output] = (fugashi.GenericTagger(
                    f'-d "{d}" -r "{os.path.join(d, "mecabrc")}" {output}'), threading.Lock())
    tagger, lock = _TAGGERS[output]
    with lock:
        return tagger.parse(text)


class _Cache(dict):
    """A dict that makes a missing value with ``make(key)`` and keeps it."""

    def __init__(self, make):
        super().__init__()
        self.make = make

    def __missing__(self, key):
        value = self[key] = self.make(key)
        return value


def is_bigram(term: str) -> bool:
    """Whether ``term`` is a character bigram rather than a word."""
    return term.startswith(BIGRAM_MARK)


def from_settings(settings: dict) -> Analyzer:
    """The analyzer recorded in an index manifest (raises ValueError if this build can't make it)."""
    current = Analyzer(ascii_parts=bool(settings.get("ascii_parts", True)),
                       bigrams=bool(settings.get("bigrams", False)),
                       glosses=bool(settings.get("glosses", False)))
    if current.settings() != settings:
        raise ValueError(f"index was made with analyzer {settings}, this is {current.settings()}")
    return current
