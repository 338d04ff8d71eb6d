"""A generation's manifest (``manifest.json``): what it was built with, what it holds, and how
to tell whether its files are intact and whether it still matches the corpus."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import notes as notes_mod
from .errors import IndexUnusable
from .scoring import Params

FORMAT = "notebot-index"
FORMAT_VERSION = 5


@dataclass
class NoteTable:
    """The notes in use, as columns in the order a scan of the corpus finds them: path, file
    size and change time (what a scan compares), content hash (what a build compares next),
    and note number (where its counts and record are)."""

    path: list[str] = field(default_factory=list)
    size: list[int] = field(default_factory=list)
    changed_ns: list[int] = field(default_factory=list)
    hash: list[str | None] = field(default_factory=list)
    doc: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.path)


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
        notes = NoteTable(**data["notes"])
        if not all(isinstance(column, list) and len(column) == len(notes)
                   for column in asdict(notes).values()):
            raise IndexUnusable(f"{gen}: the manifest's note list is damaged")
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
            "notes": asdict(self.notes),
            "skipped": self.skipped,
            "files": self.files,
            "checksums": self.checksums,
        }, ensure_ascii=False).encode("utf-8")

    def as_scanned(self, scan: notes_mod.Scan) -> bool:
        """Whether the generation records exactly the files of ``scan``, none skipped: the
        usual case, settled by three list comparisons (notes are recorded in scan order)."""
        notes = self.notes
        return (not self.skipped and [f.path for f in scan.files] == notes.path
                and [f.changed_ns for f in scan.files] == notes.changed_ns
                and [f.size for f in scan.files] == notes.size)

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
