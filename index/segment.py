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


# Postings a streaming merge holds at once (about 60 bytes each while it sorts them).
MERGE_CHUNK_POSTINGS = 2_000_000


class _Reader:
    """A 1-D .npy file read by ranges into memory of its own, not mapped: a merge goes through
    files larger than the memory it may use, and pages of a mapping stay in the process."""

    def __init__(self, path: Path):
        self.path = path
        with open(path, "rb") as f:
            fmt = np.lib.format
            header = (fmt.read_array_header_1_0 if fmt.read_magic(f) == (1, 0)
                      else fmt.read_array_header_2_0)
            shape, fortran, self.dtype = header(f)
            self.start = f.tell()
        if len(shape) != 1 or fortran:
            raise IndexUnusable(f"{path} is damaged: not a 1-D array")
        self.size = shape[0]
        self.fd = os.open(path, os.O_RDONLY)

    def read(self, lo: int, hi: int) -> np.ndarray:
        n = self.dtype.itemsize
        data = os.pread(self.fd, (hi - lo) * n, self.start + lo * n)
        if len(data) != (hi - lo) * n:
            raise IndexUnusable(f"{self.path} is truncated")
        return np.frombuffer(data, dtype=self.dtype)

    def all(self) -> np.ndarray:
        return self.read(0, self.size)

    def close(self):
        os.close(self.fd)


class _Writer:
    """A 1-D .npy file of ``size`` items of ``dtype``, written in pieces, in order, with the
    header and bytes ``np.save`` would write; ``close`` returns its CRC-32."""

    def __init__(self, path: Path, dtype, size: int):
        self.f = open(path, "wb")
        self.out = Checksummed(self.f)
        self.dtype, self.left = np.dtype(dtype), size
        np.lib.format.write_array_header_1_0(self.out, {
            "descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
            "shape": (size,)})

    def write(self, array: np.ndarray):
        self.left -= len(array)
        self.out.write(np.ascontiguousarray(array, dtype=self.dtype).data)

    def close(self) -> int:
        if self.left:
            raise AssertionError(f"{self.f.name}: {self.left} items short")
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()
        return self.out.crc


def _chunks(counts: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """Consecutive term ranges whose ``counts`` add up to at most ``limit`` (or one term)."""
    ends = np.cumsum(counts)
    bounds, t = [0], 0
    while t < len(counts):
        base = ends[t - 1] if t else 0
        t = max(t + 1, int(np.searchsorted(ends, base + limit, side="right")))
        bounds.append(min(t, len(counts)))
    return list(zip(bounds[:-1], bounds[1:]))


class _Source:
    """A segment on disk being merged, and where each of its notes goes (-1: nowhere)."""

    def __init__(self, gen: Path, name: str, numbers: np.ndarray):
        self.gen, self.name, self.numbers = gen, name, np.asarray(numbers, dtype=np.int64)
        self.arrays = {part: _Reader(gen / f"{name}.{part}.npy")
                       for part in ("notes", "title", "body")}
        self.indptr = _Reader(gen / f"{name}.indptr.npy").all().astype(np.int64)
        self.sparse = bool((self.numbers < 0).any())

    def postings(self, t0: int, t1: int):
        """Terms, output note numbers, title and body counts of terms ``t0:t1``, notes that go
        nowhere left out."""
        n = len(self.indptr) - 1
        t0, t1 = min(t0, n), min(t1, n)
        lo, hi = int(self.indptr[t0]), int(self.indptr[t1])
        notes = self.numbers[self.arrays["notes"].read(lo, hi)]
        terms = np.repeat(np.arange(t0, t1, dtype=np.int64), np.diff(self.indptr[t0:t1 + 1]))
        title, body = self.arrays["title"].read(lo, hi), self.arrays["body"].read(lo, hi)
        if self.sparse:
            kept = notes >= 0
            return terms[kept], notes[kept], title[kept], body[kept]
        return terms, notes, title, body

    def counts(self, n_terms: int, limit: int) -> tuple[np.ndarray, int, int]:
        """Per term (``n_terms``), how many postings go somewhere; the largest title and body
        counts among them."""
        n = len(self.indptr) - 1
        per_term = np.zeros(n_terms, dtype=np.int64)
        wide = any(self.arrays[p].dtype.itemsize > 2 for p in ("title", "body"))
        if not self.sparse and not wide:  # (nothing to read: every count fits in 16 bits)
            per_term[:n] = np.diff(self.indptr)
            return per_term, 0, 0
        tops = [0, 0]
        for t0, t1 in _chunks(np.diff(self.indptr), MERGE_CHUNK_POSTINGS):
            terms, _, title, body = self.postings(t0, t1)
            per_term += np.bincount(terms, minlength=n_terms)
            tops = [max(tops[0], int(title.max(initial=0))), max(tops[1], int(body.max(initial=0)))]
        return per_term, tops[0], tops[1]

    def close(self):
        for reader in self.arrays.values():
            reader.close()


def merge(gen: Path, name: str, sources: list[tuple[Path, str, np.ndarray]], n_notes: int,
          n_terms: int) -> tuple[dict, np.ndarray]:
    """Write segment ``name`` in ``gen`` from the notes of segments on disk, ``sources``: for
    each, its directory, name and the number each of its notes gets in the new segment (-1: left
    out); those numbers cover ``0 .. n_notes - 1`` once each. A term range at a time, so the
    memory used does not grow with the segments; the files are those ``write`` would make of
    the same notes. Returns each file's CRC-32 by name, and the notes' body lengths."""
    opened: list[_Source] = []
    try:
        for where, src_name, numbers in sources:
            opened.append(_Source(where, src_name, numbers))
        return _merge(gen, name, opened, n_notes, n_terms)
    finally:
        for src in opened:
            src.close()


def _merge(gen: Path, name: str, sources: list[_Source], n_notes: int,
           n_terms: int) -> tuple[dict, np.ndarray]:
    checksums = {}
    per_term = np.zeros(n_terms, dtype=np.int64)
    tops = [0, 0]
    for src in sources:
        counts, title_top, body_top = src.counts(n_terms, MERGE_CHUNK_POSTINGS)
        per_term += counts
        tops = [max(tops[0], title_top), max(tops[1], body_top)]
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(per_term, out=indptr[1:])
    checksums[f"{name}.indptr.npy"] = save_array(gen / f"{name}.indptr.npy", indptr)
    size = int(indptr[-1])
    out = {"notes": _Writer(gen / f"{name}.notes.npy", np.int32, size),
           "title": _Writer(gen / f"{name}.title.npy",
                            np.uint16 if tops[0] < 2**16 else np.int64, size),
           "body": _Writer(gen / f"{name}.body.npy",
                           np.uint16 if tops[1] < 2**16 else np.int64, size)}
    try:
        for t0, t1 in _chunks(per_term, MERGE_CHUNK_POSTINGS):
            parts = [src.postings(t0, t1) for src in sources]
            terms = np.concatenate([p[0] for p in parts])
            notes = np.concatenate([p[1] for p in parts])
            # Each source's postings are in term order, then note order, and a source's notes
            # keep their order: sorting merges those runs (timsort finds them).
            key = (terms - t0) * max(n_notes, 1) + notes
            del terms
            order = np.argsort(key, kind="stable")
            del key
            out["notes"].write(notes[order])
            for i, part in ((2, "title"), (3, "body")):
                column = np.concatenate([p[i].astype(np.int64, copy=False) for p in parts])
                out[part].write(column[order])
        for part, writer in out.items():
            checksums[f"{name}.{part}.npy"] = writer.close()
    finally:
        for writer in out.values():
            writer.f.close()
    checksums.update(_merge_records(gen, name, sources, n_notes))
    lengths = np.zeros(n_notes, dtype=np.int64)
    for src in sources:
        kept = src.numbers >= 0
        source_lengths = _Reader(src.gen / f"{src.name}.lengths.npy")
        lengths[src.numbers[kept]] = source_lengths.all()[kept]
        source_lengths.close()
    checksums[f"{name}.lengths.npy"] = save_array(gen / f"{name}.lengths.npy", lengths)
    return checksums, lengths


# Bytes of stored records a merge copies at once.
MERGE_CHUNK_BYTES = 1 << 24


def _merge_records(gen: Path, name: str, sources: list[_Source], n_notes: int) -> dict:
    """Write the records of segment ``name`` (docs.jsonl, its offsets and CRC-32s) from those
    of ``sources``, copying runs of consecutive records; each record's CRC-32 is checked."""
    source_of = np.zeros(n_notes, dtype=np.int64)
    number_of = np.zeros(n_notes, dtype=np.int64)
    sizes = np.zeros(n_notes, dtype=np.int64)
    crc32 = np.zeros(n_notes, dtype=np.uint32)
    offsets, crcs = [], []
    for k, src in enumerate(sources):
        offsets.append(_read_all(src.gen / f"{src.name}.docs.offsets.npy").astype(np.int64))
        crcs.append(_read_all(src.gen / f"{src.name}.docs.crc32.npy"))
        kept = np.flatnonzero(src.numbers >= 0)
        where = src.numbers[kept]
        source_of[where], number_of[where] = k, kept
        sizes[where] = np.diff(offsets[k])[kept]
        crc32[where] = crcs[k][kept]
    # Runs: output notes that are consecutive records of one source.
    starts = np.flatnonzero((np.diff(source_of, prepend=-1) != 0)
                            | (np.diff(number_of, prepend=-1) != 1)).tolist() + [n_notes]
    with open(gen / f"{name}.docs.jsonl", "wb") as f:
        out = Checksummed(f)
        for a, b in zip(starts[:-1], starts[1:]):
            k, first = int(source_of[a]), int(number_of[a])
            _copy_records(sources[k], offsets[k], crcs[k], first, first + b - a, out)
        f.flush()
        os.fsync(f.fileno())
    checksums = {f"{name}.docs.jsonl": out.crc}
    record_offsets = np.zeros(n_notes + 1, dtype=np.int64)
    np.cumsum(sizes, out=record_offsets[1:])
    checksums[f"{name}.docs.offsets.npy"] = save_array(gen / f"{name}.docs.offsets.npy",
                                                       record_offsets)
    checksums[f"{name}.docs.crc32.npy"] = save_array(gen / f"{name}.docs.crc32.npy", crc32)
    return checksums


def _read_all(path: Path) -> np.ndarray:
    reader = _Reader(path)
    try:
        return reader.all()
    finally:
        reader.close()


def _copy_records(src: _Source, offsets: np.ndarray, crcs: np.ndarray, first: int, end: int,
                  out: Checksummed):
    """Copy records ``first:end`` of ``src`` to ``out``, in pieces of about MERGE_CHUNK_BYTES."""
    with open(src.gen / f"{src.name}.docs.jsonl", "rb") as f:
        i = first
        while i < end:
            j = max(i + 1, min(end, int(np.searchsorted(
                offsets, offsets[i] + MERGE_CHUNK_BYTES, side="right")) - 1))
            start = int(offsets[i])
            data = os.pread(f.fileno(), int(offsets[j]) - start, start)
            view = memoryview(data)
            bounds = (offsets[i:j + 1] - start).tolist()
            for n, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:]), i):
                if zlib.crc32(view[lo:hi]) != crcs[n]:
                    raise IndexUnusable(f"{src.name}.docs.jsonl is damaged (stored note {n})")
            out.write(data)
            i = j
