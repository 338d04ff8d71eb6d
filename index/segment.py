"""A segment: the notes one build analysed, as term-major counts and stored records.

Files of segment ``seg-000007`` in a generation directory::

    seg-000007.indptr.npy        per term, where its notes start in the next three arrays
    seg-000007.notes.npy         note numbers within the segment, term after term
    seg-000007.title.npy         how often the term is in each of those notes' title
    seg-000007.body.npy          ... and in the body (uint16 where every count fits)
    seg-000007.lengths.npy       each note's body length, in terms
    seg-000007.docs.jsonl        each note's stored record (path, title, url, date, tags, text)
    seg-000007.docs.offsets.npy  where each record starts in docs.jsonl
    seg-000007.docs.crc32.npy    each record's CRC-32, checked whenever the record is read

Segments are never rewritten: the next generation hard-links them.
"""
from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from .errors import IndexUnusable
from .files import Checksummed, load_array, save_array
from .scoring import Postings

if TYPE_CHECKING:
    import scipy.sparse as sp  # imported where a build needs it: `ask` starts sooner without

ARRAYS = ("indptr", "notes", "title", "body", "lengths", "docs.offsets", "docs.crc32")


@dataclass
class Segment:
    """One segment of a loaded generation: its postings and its stored records."""

    name: str
    postings: Postings
    lengths: np.ndarray
    offsets: np.ndarray
    crc32: np.ndarray
    docs_file: IO[bytes]

    @property
    def n_docs(self) -> int:
        return len(self.lengths)

    def record(self, i: int) -> bytes:
        """The stored record of note ``i`` (JSON, one line), its CRC-32 checked."""
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        record = os.pread(self.docs_file.fileno(), end - start, start)
        if zlib.crc32(record) != self.crc32[i]:
            raise IndexUnusable(f"{self.name}.docs.jsonl is damaged (stored note {i})")
        return record

    def note_rows(self, n_terms: int) -> sp.csr_matrix:
        """The counts note-major (title << 32 | body), widened to ``n_terms`` terms."""
        import scipy.sparse as sp

        p = self.postings
        packed = np.asarray(p.title, dtype=np.int64) << 32 | np.asarray(p.body, dtype=np.int64)
        m = sp.csc_matrix((packed, np.asarray(p.notes), np.asarray(p.indptr)),
                          shape=(self.n_docs, len(p.indptr) - 1)).tocsr()
        return sp.csr_matrix((m.data, m.indices, m.indptr), shape=(self.n_docs, n_terms))

    def term_counts(self, notes: np.ndarray, n_terms: int) -> np.ndarray:
        """For each term, how many of ``notes`` (numbers within the segment) contain it."""
        chosen = np.zeros(self.n_docs, dtype=bool)
        chosen[notes] = True
        where = np.flatnonzero(chosen[self.postings.notes])
        terms = np.searchsorted(self.postings.indptr, where, side="right") - 1
        return np.bincount(terms, minlength=n_terms)

    def close(self):
        self.docs_file.close()


def load(gen: Path, name: str, start: int, n_terms: int) -> Segment:
    """Open segment ``name`` of generation ``gen``, its notes numbered from ``start``, its
    arrays checked to fit together and into ``n_terms`` terms."""
    a = {part: load_array(gen / f"{name}.{part}.npy") for part in ARRAYS}
    indptr, notes, n_docs = a["indptr"], a["notes"], len(a["lengths"])
    if (len(indptr) - 1 > n_terms or indptr[0] != 0 or indptr[-1] != len(notes)
            or not len(notes) == len(a["title"]) == len(a["body"])
            or len(a["docs.offsets"]) != n_docs + 1 or len(a["docs.crc32"]) != n_docs):
        raise IndexUnusable(f"{gen / name}: arrays do not fit together")
    if len(notes) and not 0 <= int(notes.min()) <= int(notes.max()) < n_docs:
        raise IndexUnusable(f"{gen / name} refers to notes that do not exist")
    offsets = a["docs.offsets"]
    if (offsets[0] != 0 or offsets[-1] != (gen / f"{name}.docs.jsonl").stat().st_size
            or (np.diff(offsets) < 0).any() or (np.diff(indptr) < 0).any()):
        raise IndexUnusable(f"{gen / name}: offsets are damaged")
    postings = Postings(indptr, notes, a["title"], a["body"], start)
    return Segment(name, postings, a["lengths"], a["docs.offsets"], a["docs.crc32"],
                   open(gen / f"{name}.docs.jsonl", "rb"))


def files(name: str) -> list[str]:
    """The file names of segment ``name``."""
    return [f"{name}.docs.jsonl"] + [f"{name}.{part}.npy" for part in ARRAYS]


def _smallest(counts: np.ndarray) -> np.ndarray:
    """Counts as uint16 where they fit (they nearly always do): half the bytes to read."""
    return counts.astype(np.uint16 if not len(counts) or counts.max() < 2**16 else np.int64)


def write(gen: Path, name: str, postings: sp.csc_matrix, lengths, records) -> dict:
    """Write a segment from term-major ``postings`` (notes × terms, title << 32 | body), body
    ``lengths`` and stored ``records`` (JSON lines), all in note order; returns each file's
    CRC-32 by name."""
    # title << 32 | body as two uint32 columns (little-endian: body first), without copies.
    body, title = np.asarray(postings.data, dtype="<i8").view("<u4").reshape(-1, 2).T
    offsets, crc32 = [0], []
    with open(gen / f"{name}.docs.jsonl", "wb") as f:
        out = Checksummed(f)
        for record in records:
            out.write(record)
            offsets.append(offsets[-1] + len(record))
            crc32.append(zlib.crc32(record))
        f.flush()
        os.fsync(f.fileno())
    checksums = {f"{name}.docs.jsonl": out.crc}
    arrays = {"indptr": postings.indptr.astype(np.int64),
              "notes": postings.indices.astype(np.int32, copy=False),
              "title": _smallest(title),
              "body": _smallest(body),
              "lengths": np.asarray(lengths, dtype=np.int64),
              "docs.offsets": np.asarray(offsets, dtype=np.int64),
              "docs.crc32": np.asarray(crc32, dtype=np.uint32)}
    for part, array in arrays.items():
        checksums[f"{name}.{part}.npy"] = save_array(gen / f"{name}.{part}.npy", array)
    return checksums
