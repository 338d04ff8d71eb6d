"""The index's terms on disk, looked up without reading them into Python: a question needs the
ids of a few dozen terms out of hundreds of thousands.

Files of a generation::

    vocab.bin           the terms in UTF-8, one after the other, in id order
    vocab.offsets.npy   where each term starts in vocab.bin (one more: where the last ends)
    vocab.hashes.npy    each term's 64-bit hash (see term_hash), ascending
    vocab.ids.npy       the id of the term of each of those hashes

A term is found by binary search on its hash, then checked by its text (hashes may collide).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from .errors import IndexUnusable
from .files import link, load_array, save_array, write_bytes

FILES = ("vocab.bin", "vocab.offsets.npy", "vocab.hashes.npy", "vocab.ids.npy")
# Terms whose ids a Vocab keeps after looking them up (a process asks with the same words).
KEPT_TERMS = 100_000


def term_hash(term: str) -> int:
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest(),
                          "little")


def _hashes(terms: Iterable[str], count: int) -> np.ndarray:
    return np.fromiter(map(term_hash, terms), dtype=np.uint64, count=count)


class Terms:
    """All the terms of a generation; a term's position is its id."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray, hashes: np.ndarray,
                 ids: np.ndarray):
        self.blob, self.offsets, self.hashes, self.ids = blob, offsets, hashes, ids

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        return self.blob[self.offsets[i]:self.offsets[i + 1]].tobytes().decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        text = self.blob.tobytes()
        bounds = self.offsets.tolist()
        return (text[a:b].decode("utf-8") for a, b in zip(bounds[:-1], bounds[1:]))

    def __contains__(self, term) -> bool:
        return isinstance(term, str) and self.find(term) >= 0

    def find(self, term: str) -> int:
        """The id of ``term``, or -1."""
        h = np.uint64(term_hash(term))
        at = int(np.searchsorted(self.hashes, h))
        while at < len(self.hashes) and self.hashes[at] == h:
            i = int(self.ids[at])
            if self[i] == term:
                return i
            at += 1
        return -1

    def find_all(self, terms: list[str]) -> np.ndarray:
        """The ids of ``terms`` (int64), -1 for those that are not here."""
        found = np.full(len(terms), -1, dtype=np.int64)
        if not len(self) or not terms:
            return found
        hashes = _hashes(terms, len(terms))
        at = np.minimum(np.searchsorted(self.hashes, hashes), len(self.hashes) - 1)
        for n in np.flatnonzero(self.hashes[at] == hashes).tolist():
            found[n] = self.find(terms[n])  # (checks the text, and any other equal hash)
        return found


class Vocab:
    """The terms of the notes in use (document frequency above 0) and their ids, as a read-only
    mapping: ``term in vocab``, ``vocab[term]``, ``vocab.get(term)``."""

    def __init__(self, terms: Terms, df: np.ndarray):
        self.terms, self.df = terms, df
        self._kept: dict[str, int] = {}

    def get(self, term: str, default=None):
        i = self._kept.get(term)
        if i is None:
            i = self.terms.find(term) if isinstance(term, str) else -1
            if i >= 0 and not self.df[i] > 0:
                i = -1
            if len(self._kept) >= KEPT_TERMS:
                self._kept.clear()
            self._kept[term] = i
        return default if i < 0 else i

    def __contains__(self, term) -> bool:
        return self.get(term) is not None

    def __getitem__(self, term: str) -> int:
        i = self.get(term)
        if i is None:
            raise KeyError(term)
        return i

    def __len__(self) -> int:
        return int(np.count_nonzero(self.df))


def load(gen: Path) -> Terms:
    """The terms of generation ``gen``, memory-mapped."""
    return Terms(*_arrays(gen))


def _arrays(gen: Path):
    blob = np.memmap(gen / "vocab.bin", dtype=np.uint8, mode="r") if (
        gen / "vocab.bin").stat().st_size else np.zeros(0, np.uint8)
    offsets, hashes, ids = (load_array(gen / name) for name in FILES[1:])
    n = len(offsets) - 1
    if (n < 0 or len(hashes) != n or len(ids) != n or offsets[0] != 0
            or offsets[-1] != len(blob) or (n and not 0 <= ids.min() <= ids.max() < n)
            or (np.diff(offsets) < 0).any() or (np.diff(hashes) < 0).any()):
        raise IndexUnusable(f"{gen}: the vocabulary's files do not fit together")
    try:
        blob.tobytes().decode("utf-8")  # (a few milliseconds; a damaged term would stop a search)
    except UnicodeDecodeError:
        raise IndexUnusable(f"{gen}: vocab.bin is damaged") from None
    return np.asarray(blob), offsets, hashes, ids


def write(gen: Path, added: list[str], prev: Terms | None = None,
          prev_gen: Path | None = None, prev_checksums: dict | None = None) -> dict:
    """Write the vocabulary in ``gen``: ``prev``'s terms (those of generation ``prev_gen``,
    whose files have ``prev_checksums``), if any, then ``added``. Returns each file's CRC-32
    by name. Only the added terms are hashed; with none, the files are shared."""
    first = len(prev) if prev is not None else 0
    if prev is not None and prev_gen is not None and prev_checksums is not None and not added:
        for name in FILES:
            link(prev_gen / name, gen / name)
        return {name: prev_checksums[name] for name in FILES}
    encoded = [t.encode("utf-8") for t in added]
    sizes = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    hashes = _hashes(added, len(added))
    ids = np.arange(first, first + len(added), dtype=np.int32)
    if prev is not None:
        blob = prev.blob.tobytes() + b"".join(encoded)
        offsets = np.concatenate((prev.offsets, prev.offsets[-1] + np.cumsum(sizes)))
        hashes = np.concatenate((prev.hashes, hashes))
        ids = np.concatenate((np.asarray(prev.ids, dtype=np.int32), ids))
    else:
        blob = b"".join(encoded)
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
    order = np.argsort(hashes, kind="stable")  # (equal hashes: lower id first)
    return {"vocab.bin": write_bytes(gen / "vocab.bin", blob),
            "vocab.offsets.npy": save_array(gen / "vocab.offsets.npy", offsets),
            "vocab.hashes.npy": save_array(gen / "vocab.hashes.npy", hashes[order]),
            "vocab.ids.npy": save_array(gen / "vocab.ids.npy", ids[order])}
