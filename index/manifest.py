"""A generation's manifest (``manifest.json``): what it was built with, what it holds, and how
to tell whether its files are intact and whether it still matches the corpus."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from . import notes as notes_mod
from .errors import IndexUnusable
from .files import load_array, save_array, write_bytes
from .scoring import Params

FORMAT = "notebot-index"
FORMAT_VERSION = 6

# The note list's files in a generation (see NoteTable).
NOTE_FILES = ("notes.paths", "notes.size.npy", "notes.changed_ns.npy", "notes.hash.npy",
              "notes.doc.npy")


def _joined(paths) -> bytes:
    """Paths as the note list stores them: UTF-8, separated by NUL (which no path holds)."""
    return "\0".join(paths).encode("utf-8")


class NoteTable:
    """The notes in use, as columns in the order a scan of the corpus finds them: path, file
    size and change time (what a scan compares), content hash (what a build compares next),
    and note number (where its counts and record are).

    In a generation they are files of their own (NOTE_FILES: the paths as one block of text,
    the rest as arrays), read only when asked for: a process that answers questions needs the
    note numbers alone, and telling whether the corpus changed needs no Python object per
    note (see Manifest.as_scanned)."""

    def __init__(self, path=(), size=(), changed_ns=(), hash=(), doc=(),
                 gen: Path | None = None, count: int = 0):
        self.gen = gen
        self.count = count if gen is not None else len(path)
        if gen is None:
            self.__dict__.update(path=list(path), size=list(size), changed_ns=list(changed_ns),
                                 hash=list(hash), doc=list(doc))

    def __len__(self) -> int:
        return self.count

    def _array(self, name: str) -> np.ndarray:
        if self.gen is None:
            return np.asarray(getattr(self, name.split(".")[1]), dtype=np.int64)
        array = load_array(self.gen / name)
        if len(array) != self.count:
            raise IndexUnusable(f"{self.gen}: the note list is damaged")
        return array

    def paths_bytes(self) -> bytes:
        if self.gen is None:
            return _joined(self.path)
        return (self.gen / "notes.paths").read_bytes()

    @cached_property
    def path(self) -> list[str]:
        try:
            found = self.paths_bytes().decode("utf-8").split("\0") if self.count else []
        except UnicodeDecodeError:
            found = []
        if len(found) != self.count:
            raise IndexUnusable(f"{self.gen}: the note list is damaged")
        return found

    @cached_property
    def size(self) -> list[int]:
        return self._array("notes.size.npy").tolist()

    @cached_property
    def changed_ns(self) -> list[int]:
        return self._array("notes.changed_ns.npy").tolist()

    @cached_property
    def hash(self) -> list[str | None]:
        return [h.decode("ascii") or None for h in self._array("notes.hash.npy").tolist()]

    @cached_property
    def doc(self) -> list[int]:
        return self.docs().tolist()

    def docs(self) -> np.ndarray:
        """The note numbers, as an array."""
        return self._array("notes.doc.npy")

    def write(self, gen: Path) -> dict:
        """Write the columns as files of generation ``gen``; returns their CRC-32s by name."""
        hashes = np.array([(h or "").encode("ascii") for h in self.hash], dtype="S32")
        return {"notes.paths": write_bytes(gen / "notes.paths", _joined(self.path)),
                "notes.size.npy": save_array(gen / "notes.size.npy",
                                             np.asarray(self.size, dtype=np.int64)),
                "notes.changed_ns.npy": save_array(gen / "notes.changed_ns.npy",
                                                   np.asarray(self.changed_ns, dtype=np.int64)),
                "notes.hash.npy": save_array(gen / "notes.hash.npy", hashes),
                "notes.doc.npy": save_array(gen / "notes.doc.npy",
                                            np.asarray(self.doc, dtype=np.int64))}


@dataclass
class Manifest:
    """Format, analyzer and scoring settings, segments, notes, the files that were skipped
    (path → [size, change time]), and every file's size and CRC-32 (sizes are checked on each
    load, CRC-32s by ``generation.verify``)."""

    analyzer: dict
    scoring: Params
    segments: list[str]
    notes: NoteTable
    skipped: dict[str, list[int]]
    files: dict[str, int]
    checksums: dict[str, int]
    built_at: str = ""

    @classmethod
    def read(cls, gen: Path) -> Manifest:
        """The manifest of generation ``gen``; IndexUnusable says what is wrong with it."""
        data = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise IndexUnusable(f"{gen}: the manifest is damaged")
        if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
            raise IndexUnusable(f"{gen} has index format {data.get('format_version')}, "
                                f"this notebot reads {FORMAT_VERSION}")
        if not isinstance(data.get("analyzer"), dict):
            raise IndexUnusable(f"{gen}: the manifest does not record the analyzer")
        if not isinstance(data.get("notes"), int) or data["notes"] < 0:
            raise IndexUnusable(f"{gen}: the manifest's note count is damaged")
        notes = NoteTable(gen=gen, count=data["notes"])
        manifest = cls(analyzer=data["analyzer"], scoring=Params(**data["scoring"]),
                       segments=[s["name"] for s in data["segments"]], notes=notes,
                       skipped=dict(data.get("skipped", {})), files=dict(data["files"]),
                       checksums=dict(data["checksums"]), built_at=data.get("built_at") or "")
        if manifest.checksums.keys() != manifest.files.keys():
            raise IndexUnusable(f"{gen}: the manifest's file list is damaged")
        return manifest

    def to_json(self) -> bytes:
        return json.dumps({
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "analyzer": self.analyzer, "scoring": self.scoring.to_dict(),
            "built_at": self.built_at,
            "segments": [{"name": n} for n in self.segments],
            "notes": len(self.notes),
            "skipped": self.skipped,
            "files": self.files,
            "checksums": self.checksums,
        }, ensure_ascii=False).encode("utf-8")

    def as_scanned(self, scan: notes_mod.Scan) -> bool:
        """Whether the generation records exactly the files of ``scan``, none skipped: the
        usual case, settled by comparing three columns whole (notes are recorded in scan
        order), without a Python object per note."""
        notes, files = self.notes, scan.files
        if self.skipped or len(files) != len(notes):
            return False
        changed = np.fromiter((f.changed_ns for f in files), dtype=np.int64, count=len(files))
        sizes = np.fromiter((f.size for f in files), dtype=np.int64, count=len(files))
        return (np.array_equal(changed, notes._array("notes.changed_ns.npy"))
                and np.array_equal(sizes, notes._array("notes.size.npy"))
                and _joined(f.path for f in files) == notes.paths_bytes())

    def stale_reason(self, scan: notes_mod.Scan) -> str | None:
        """Why the generation no longer matches the corpus (None when it does)."""
        if self.as_scanned(scan):
            return None
        notes = self.notes
        known: dict[str, tuple[int, ...]] = dict(zip(notes.path, zip(notes.size, notes.changed_ns)))
        known.update({p: tuple(v) for p, v in self.skipped.items()})
        found = {f.path: (f.size, f.changed_ns) for f in scan.files}
        if found == known:
            return None
        added = found.keys() - known.keys()
        removed = known.keys() - found.keys()
        changed = [p for p in found.keys() & known.keys() if found[p] != known[p]]
        return f"{len(added)} new, {len(changed)} changed, {len(removed)} removed notes"
