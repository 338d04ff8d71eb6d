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
import unicodedata
from operator import itemgetter
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
# the previous word (blanks included, so offsets need no searching), the word, its lemma, its
# top-level part of speech -- all tab-separated, so one split reads a whole chunk. Unknown words
# are their own lemma.
_MECAB_OUTPUT = r'-O "" -F "%M\t%m\t%f[7]\t%f[0]\t" -U "%M\t%m\t%m\t%f[0]\t" -E "EOS\n"'
# Control characters, and lone surrogates (undecodable bytes in argv, or JSON \ud800 escapes).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
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
_START = itemgetter(0)


class Token(NamedTuple):
    """A term with the span of text it came from (offsets into the normalised text)."""

    term: str
    start: int
    end: int


def normalize(text: str) -> str:
    """NFKC-normalise ``text`` and turn control characters into spaces (case is kept)."""
    return _CONTROL.sub(" ", unicodedata.normalize("NFKC", text))


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
        self._tagger = None

    def settings(self) -> dict:
        """Everything that changes the terms this analyzer makes, for the index manifest."""
        return {"name": "unidic-lemma", "version": 3, "dictionary": dictionary_version(),
                "ascii_parts": self.ascii_parts, "bigrams": self.bigrams,
                "glosses": self.glosses}

    @property
    def tagger(self):
        if self._tagger is None:
            d = unidic_lite.DICDIR
            self._tagger = fugashi.GenericTagger(
                f'-d "{d}" -r "{os.path.join(d, "mecabrc")}" {_MECAB_OUTPUT}')
        return self._tagger

    def __getstate__(self):  # so an Analyzer can be sent to worker processes
        return dict(self.__dict__, _tagger=None)

    def __call__(self, text: str) -> list[str]:
        """The terms of ``text``, in order."""
        return [term for _, term, _ in self._spans(normalize(text))]

    def tokens(self, text: str) -> list[Token]:
        """Terms of already-normalised ``text`` with their spans, in order of appearance."""
        return [Token(term, start, end) for start, term, end in self._spans(text)]

    def _spans(self, text: str) -> list[tuple[int, str, int]]:
        # Plain (start, term, end) tuples: the build analyses millions of words.
        out = []
        for offset, chunk in _chunks(text):
            self._japanese(chunk, offset, out)
            self._ascii(chunk, offset, out)
            if self.bigrams:
                self._bigrams(chunk, offset, out)
        out.sort(key=_START)
        return out

    def _japanese(self, chunk: str, offset: int, out: list):
        # A tab would split _MECAB_OUTPUT's fields; a blank has the same length.
        fields = self.tagger.parse(chunk.replace("\t", " ")).split("\t")
        end = offset
        for text, surface, lemma, pos in zip(fields[0::4], fields[1::4], fields[2::4],
                                             fields[3::4]):
            end += len(text)
            if pos in DROPPED_POS or _HAS_ASCII_ALNUM.search(surface):
                continue
            gloss = None
            if "-" in lemma[1:]:
                lemma, gloss = lemma.split("-", 1)
            term = lemma.lower()
            if term.endswith("ー"):
                term = _fold_katakana(term)
            if term and term not in STOP_LEMMAS:
                out.append((end - len(surface), term, end))
                if gloss and self.glosses and _GLOSS.fullmatch(gloss):
                    out.append((end - len(surface), gloss.lower(), end))

    def _ascii(self, chunk: str, offset: int, out: list):
        for m in _ASCII_WORD.finditer(chunk.lower()):
            word, start = m.group(), offset + m.start()
            out.append((start, word, start + len(word)))
            if self.ascii_parts and len(word) > 1:
                parts = list(_ASCII_PART.finditer(word))
                if len(parts) > 1:
                    out.extend((start + p.start(), p.group(), start + p.end()) for p in parts)


    def _bigrams(self, chunk: str, offset: int, out: list):
        for m in _JAPANESE_RUN.finditer(chunk.lower()):
            # Long-vowel marks that end a katakana word go, as for words (サーバー管理 → サーバ管理);
            # spans then drift by a character or two, which nothing shows.
            run, start = _WORD_FINAL_LONG_VOWEL.sub("", m.group()), offset + m.start()
            if len(run) == 1:
                out.append((start, BIGRAM_MARK + run, start + 1))
            out.extend((start + i, BIGRAM_MARK + run[i:i + 2], start + i + 2)
                       for i in range(len(run) - 1))


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
