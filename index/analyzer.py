"""Japanese text analysis: the one analyzer that notes and questions both go through.

Text is NFKC-normalised, then split by MeCab (fugashi) with the UniDic dictionary (unidic-lite).
Each content word becomes its UniDic lemma, so inflected forms match (走らせた → 走る). Particles,
auxiliary verbs, symbols and white space are dropped. Katakana words lose a trailing long-vowel
mark (サーバー = サーバ, after JIS Z 8301). ASCII runs are taken by a regular expression instead
of MeCab, so identifiers stay whole and searchable: ``http.client``, ``oslo_service``, ``70007``,
``1.5`` — a dotted or underscored identifier also yields its parts (``http``, ``client``).
"""
from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import asdict, dataclass

import fugashi
import unidic_lite

# UniDic's top-level parts of speech that carry no meaning for search.
DROPPED_POS = ("助詞", "助動詞", "補助記号", "記号", "空白")
# Words so common in any Japanese text that they only add noise to a match (lemmas).
STOP_LEMMAS = frozenset("する ある いる なる れる られる こと もの よう ため これ それ あれ この その".split())
# Lines longer than this are cut into pieces before MeCab sees them: its lattice grows with input.
CHUNK_CHARS = 4096
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ASCII_WORD = re.compile(r"[0-9a-z]+(?:[._\-/:+#][0-9a-z]+)*")
_ASCII_PART = re.compile(r"[0-9a-z]+")
_KATAKANA = re.compile(r"[\u30a1-\u30fa\u30fc]+")
_HAS_ASCII_ALNUM = re.compile(r"[0-9A-Za-z]")


@dataclass(frozen=True)
class Token:
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
    """

    def __init__(self, ascii_parts: bool = True):
        self.ascii_parts = ascii_parts
        self._tagger = None

    def settings(self) -> dict:
        """Everything that changes the terms this analyzer makes, for the index manifest."""
        return {"name": "unidic-lemma", "version": 2, "dictionary": dictionary_version(),
                "ascii_parts": self.ascii_parts}

    @property
    def tagger(self):
        if self._tagger is None:
            d = unidic_lite.DICDIR
            self._tagger = fugashi.GenericTagger(f'-d "{d}" -r "{os.path.join(d, "mecabrc")}"')
        return self._tagger

    def __getstate__(self):  # so an Analyzer can be sent to worker processes
        return {"ascii_parts": self.ascii_parts, "_tagger": None}

    def __call__(self, text: str) -> list[str]:
        """The terms of ``text``, in order."""
        return [t.term for t in self.tokens(normalize(text))]

    def tokens(self, text: str) -> list[Token]:
        """Terms of already-normalised ``text`` with their spans, in order of appearance."""
        out = []
        for offset, chunk in _chunks(text):
            out.extend(self._japanese(chunk, offset))
            out.extend(self._ascii(chunk, offset))
        out.sort(key=lambda t: t.start)
        return out

    def _japanese(self, chunk: str, offset: int):
        # The dictionary's own output format: surface, pronunciation, lemma form, lemma, POS, ...
        pos_in_chunk = 0
        for line in self.tagger.parse(chunk).split("\n"):
            fields = line.split("\t")
            if len(fields) < 5:
                continue
            surface, lemma, pos = fields[0], fields[3], fields[4]
            start = chunk.find(surface, pos_in_chunk)
            if start < 0:
                continue
            pos_in_chunk = start + len(surface)
            if pos.startswith(DROPPED_POS) or _HAS_ASCII_ALNUM.search(surface):
                continue
            term = lemma.split("-", 1)[0] if "-" in lemma[1:] else lemma
            term = _fold_katakana(term.lower())
            if term and term not in STOP_LEMMAS:
                yield Token(term, offset + start, offset + pos_in_chunk)

    def _ascii(self, chunk: str, offset: int):
        lowered = chunk.lower()
        for m in _ASCII_WORD.finditer(lowered):
            yield Token(m.group(), offset + m.start(), offset + m.end())
            if self.ascii_parts and m.end() - m.start() > 1:
                parts = list(_ASCII_PART.finditer(m.group()))
                if len(parts) > 1:
                    for p in parts:
                        yield Token(p.group(), offset + m.start() + p.start(),
                                    offset + m.start() + p.end())


def from_settings(settings: dict) -> Analyzer:
    """The analyzer recorded in an index manifest (raises ValueError if this build can't make it)."""
    current = Analyzer(ascii_parts=bool(settings.get("ascii_parts", True)))
    if current.settings() != settings:
        raise ValueError(f"index was made with analyzer {settings}, this is {current.settings()}")
    return current
