"""A generation: one complete, never-changed state of the index, and the ``CURRENT`` file that
names the one in use.

Layout of an index directory::

    CURRENT           name of the generation in use, replaced atomically when a build ends
    lock              held by the one build that may run at a time
    gen-000007/       one complete generation, never changed once published
        manifest.json     see manifest.Manifest
        notes.*           the note list (see manifest.NoteTable)
        vocab.*           the terms; a term's position is its id (see vocab.py)
        df.npy            in how many of the notes in use each term is (0: only in replaced or
                          removed notes -- such a term is not in Generation.vocab)
        idf.npy           idf per term, over the notes in use
        norm.npy          body length normalisation per note number
        deleted.npy       numbers of notes changed or removed since their segment was written
        seg-000003.*      a segment (see segment.py): the notes analysed by one build,
        seg-000007.*      numbered after the segments before it

BM25F scores are computed when a question is asked, from the counts, ``norm`` and ``idf``: the
same arithmetic as computing them at build time, so the numbers are identical. Every array is a
``.npy`` loaded with ``allow_pickle=False`` and memory-mapped.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from . import segment as segment_mod
from . import vocab as vocab_mod
from .analyzer import Analyzer, from_settings
from .errors import IndexUnusable
from .files import crc32_of, load_array
from .manifest import Manifest
from .scoring import Params, ScoreCache, accumulate
from .segment import Segment

NAME = re.compile(r"gen-(\d{6,})")
# How many sets of collections Generation.outside keeps the note numbers of.
MAX_KEPT_SCOPES = 64


def collection_of(path: str) -> str:
    """The collection of the note at ``path``: its top-level folder (``hr/policy.md`` is in
    ``hr``); a note at the corpus root is in the collection ``""``."""
    folder, sep, _ = path.partition("/")
    return folder if sep else ""


@dataclass
class Generation:
    """A loaded generation: what search needs, memory-mapped where it can be.

    Notes are numbered across the segments, in order; a number in ``deleted`` is a note that
    was replaced or removed and never answers. ``terms`` are all the index's terms (a term's
    position is its id); ``vocab`` maps those in the notes in use to their id, so that an index
    built bit by bit knows the same words as one built at once."""

    path: Path
    manifest: Manifest
    terms: vocab_mod.Terms
    df: np.ndarray
    segments: list[Segment]
    idf: np.ndarray
    norm: np.ndarray
    deleted: np.ndarray

    @cached_property
    def vocab(self) -> vocab_mod.Vocab:
        return vocab_mod.Vocab(self.terms, self.df)

    @property
    def n_notes(self) -> int:
        return len(self.manifest.notes)

    @property
    def params(self) -> Params:
        return self.manifest.scoring

    def score(self, term_ids, weights, k: int | None = None,
              without: np.ndarray | None = None) -> np.ndarray:
        """Per note number: the sum of ``weights[i] * score(note, term_ids[i])``, zero for the
        note numbers ``without`` (in any order, repeats allowed); with ``k``, exact only for
        the notes that can be among the k best (see scoring.accumulate)."""
        # (only ever used to zero scores: joined, not sorted, since outside() can be most notes)
        deleted = self.deleted if without is None else np.concatenate(
            (self.deleted, np.asarray(without, dtype=np.int64)))
        return accumulate([s.postings for s in self.segments], term_ids, weights, self.norm,
                          self.idf, self.params, deleted, k, self._scores)

    def path_rank(self) -> np.ndarray:
        """Per note number: its place in the order of the notes' paths (deleted notes last),
        which breaks ties the same way however the index was built."""
        return self._path_rank

    @cached_property
    def _path_rank(self) -> np.ndarray:
        notes = self.manifest.notes
        rank = np.full(len(self.norm), len(self.norm), dtype=np.int64)
        by_path = sorted(range(len(notes.path)), key=notes.path.__getitem__)
        rank[np.asarray(notes.doc, dtype=np.int64)[by_path]] = np.arange(len(by_path))
        return rank

    def having(self, term_ids) -> np.ndarray:
        """Per note number: whether the note has any of the terms ``term_ids``."""
        found = np.zeros(len(self.norm), dtype=bool)
        for seg in self.segments:
            p = seg.postings
            for t in term_ids:
                if t + 1 < len(p.indptr):
                    found[p.notes[p.indptr[t]:p.indptr[t + 1]].astype(np.intp) + p.start] = True
        return found

    @cached_property
    def _scores(self) -> ScoreCache:
        return ScoreCache()

    def doc(self, i: int) -> dict:
        """The stored record (path, title, text, url, date, tags) of note number ``i``."""
        for seg in self.segments:
            if i < seg.n_docs:
                return json.loads(seg.record(i))
            i -= seg.n_docs
        raise IndexError(f"no note number {i}")

    def has(self, path: str) -> bool:
        """Whether the note ``path`` is in this generation."""
        return path in self._numbers

    def doc_by_path(self, path: str) -> dict | None:
        """The stored record of the note at ``path``, or None."""
        number = self._numbers.get(path)
        return None if number is None else self.doc(number)

    @cached_property
    def _numbers(self) -> dict[str, int]:
        return dict(zip(self.manifest.notes.path, self.manifest.notes.doc))

    # ------------------------------------------------------------ collections

    @property
    def collections(self) -> frozenset[str]:
        """The collections that hold notes (see collection_of)."""
        return frozenset(self._collection_notes)

    def count(self, collections: frozenset[str]) -> int:
        """How many notes the collections ``collections`` hold."""
        return sum(len(self._collection_notes.get(name, ())) for name in collections)

    def outside(self, collections: frozenset[str]) -> np.ndarray:
        """The note numbers not in the collections ``collections``, ascending: what
        ``score(without=...)`` leaves out to rank only the notes of those collections. Kept per
        set of collections: a bot asks with the same few sets again and again."""
        found = self._outside.get(collections)
        if found is None:
            keep = np.zeros(len(self.norm), dtype=bool)
            for name in collections:
                keep[self._collection_notes.get(name, np.zeros(0, np.int64))] = True
            found = np.flatnonzero(~keep)
            if len(self._outside) >= MAX_KEPT_SCOPES:
                self._outside.clear()
            self._outside[collections] = found
        return found

    @cached_property
    def _collection_notes(self) -> dict[str, np.ndarray]:
        numbers: dict[str, list[int]] = {}
        for path, number in zip(self.manifest.notes.path, self.manifest.notes.doc):
            numbers.setdefault(collection_of(path), []).append(number)
        return {name: np.asarray(n, dtype=np.int64) for name, n in numbers.items()}

    @cached_property
    def _outside(self) -> dict[frozenset[str], np.ndarray]:
        return {}

    def analyzer(self) -> Analyzer:
        """The analyzer this generation was made with; IndexUnusable if this installation
        cannot make the same terms."""
        try:
            return from_settings(self.manifest.analyzer)
        except ValueError as err:
            raise IndexUnusable(str(err)) from None

    def verify(self) -> list[str]:
        """The files whose content is not what the build wrote (by CRC-32; reads them all)."""
        return [name for name, crc in self.manifest.checksums.items()
                if crc32_of(self.path / name) != crc]

    def close(self):
        """Close its files and let go of its arrays: each memory-mapped array holds a file
        descriptor until it is freed, and a closed generation may still be referred to."""
        for seg in self.segments:
            seg.close()
        self.segments = []
        nothing = np.zeros(0, np.int64)
        self.terms = vocab_mod.Terms(np.zeros(0, np.uint8), np.zeros(1, np.int64), nothing,
                                     nothing)
        self.df = self.deleted = nothing
        self.idf = self.norm = np.zeros(0, np.float32)
        for name in ("vocab", "_path_rank", "_collection_notes", "_outside", "_numbers"):
            self.__dict__.pop(name, None)


def current(index_dir: Path) -> Path:
    """The generation directory ``CURRENT`` names (raises IndexUnusable when there is none)."""
    try:
        name = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexUnusable(f"no index in {index_dir}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise IndexUnusable(f"cannot read {index_dir / 'CURRENT'}: {err}") from None
    if not NAME.fullmatch(name):
        raise IndexUnusable(f"{index_dir / 'CURRENT'} is damaged")
    return index_dir / name


def load(index_dir: str | os.PathLike) -> Generation:
    """Open the index in ``index_dir`` for searching; IndexUnusable says why it can't be used."""
    index_dir = Path(index_dir)
    for attempt in range(3):
        gen = current(index_dir)
        try:
            return _load(gen)
        except FileNotFoundError:
            # A build published a newer generation and removed this one meanwhile: look again.
            if current(index_dir) == gen or attempt == 2:
                raise IndexUnusable(f"{gen} is incomplete") from None
    raise AssertionError("unreachable")


def _load(gen: Path) -> Generation:
    segments: list[Segment] = []
    try:
        manifest = Manifest.read(gen)
        for name, size in manifest.files.items():
            if (gen / name).stat().st_size != size:
                raise IndexUnusable(f"{gen / name} has the wrong size (damaged or truncated)")
        terms = vocab_mod.load(gen)
        n_docs = 0
        for name in manifest.segments:
            segments.append(segment_mod.load(gen, name, n_docs, len(terms)))
            n_docs += segments[-1].n_docs
        term_idf, norm = load_array(gen / "idf.npy"), load_array(gen / "norm.npy")
        norm = np.asarray(norm, np.float32)
        df = load_array(gen / "df.npy")
        deleted = np.load(gen / "deleted.npy", allow_pickle=False)
        numbers = manifest.notes.docs()
        if not (np.isfinite(term_idf).all() and (term_idf >= 0).all()
                and np.isfinite(norm).all() and (norm >= 0).all() and (df >= 0).all()):
            raise IndexUnusable(f"{gen}: idf.npy, norm.npy or df.npy is damaged")
        if (len(term_idf) != len(terms) or len(df) != len(terms) or len(norm) != n_docs
                or len(numbers) != n_docs - len(deleted)
                or not np.all((numbers >= 0) & (numbers < n_docs))
                or not np.all((deleted >= 0) & (deleted < n_docs))):
            raise IndexUnusable(f"{gen}: arrays do not match the manifest")
    except (FileNotFoundError, IndexUnusable):
        _close(segments)
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        _close(segments)
        raise IndexUnusable(f"{gen} is damaged: {err}") from None
    return Generation(gen, manifest, terms, df, segments, term_idf, norm, deleted)


def _close(segments: list[Segment]):
    for seg in segments:
        seg.close()


def next_number(index_dir: Path) -> int:
    """The number of the next generation to write in ``index_dir``."""
    return max((int(m.group(1)) for p in index_dir.iterdir() if (m := NAME.fullmatch(p.name))),
               default=0) + 1


def remove_old(index_dir: Path, keep: set[str]):
    """Drop every generation but ``keep`` (the new one, and the one before it, which a reader
    may still be opening) -- including half-written ones left by killed builds."""
    for p in index_dir.iterdir():
        if NAME.fullmatch(p.name) and p.name not in keep:
            shutil.rmtree(p, ignore_errors=True)
