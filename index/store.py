"""The index on disk: building it (incrementally), publishing it atomically, loading it safely.

Layout of an index directory::

    CURRENT           name of the generation in use, replaced atomically when a build ends
    lock              held by the one build that may run at a time
    gen-000007/       one complete generation, never changed once published
        manifest.json     format, analyzer and scoring settings, segments, file sizes and
                          CRC-32s (sizes checked on every load, CRCs by ``verify``), and the
                          notes (path, size, change time, hash, number) as columns
        vocab.json        the terms; a term's position is its id
        df.npy            in how many of the notes in use each term is (0: only in replaced or
                          removed notes -- such a term is not in IndexData.vocab)
        idf.npy           idf per term, over the notes in use
        norm.npy          body length normalisation per note number
        deleted.npy       numbers of notes changed or removed since their segment was written
        seg-000003.*      a segment: the notes analysed by one build, numbered after the
        seg-000007.*      segments before it

A segment holds term-major counts (``indptr``, ``notes``, ``title``, ``body``; see
``scoring.Postings``), each note's body length (``lengths``) and its stored record
(``docs.jsonl`` with ``docs.offsets``, and each record's CRC-32 in ``docs.crc32``, checked
whenever the record is read: a damaged one is reported, never shown). Segments are never
rewritten: the next generation hard-links them. A build analyses only new and changed notes and
writes them, with the notes of the previous small segment, as one new small segment next to the
large one; only when the small segment and the deleted notes grow past ``MERGE_FRACTION`` of the
large one does it rewrite everything as one segment (without analysing again). So adding a note
to a large index costs about as much as the notes added since the last merge, not the whole
index.

BM25F scores are computed when a question is asked, from the counts, ``norm`` and ``idf``: the
same arithmetic as computing them at build time, so the numbers are identical.

Nothing is pickled; every array is a ``.npy`` loaded with ``allow_pickle=False`` and memory-mapped.
A build writes a new generation next to the old one and only then points ``CURRENT`` at it, so a
build killed at any moment leaves the previous index in use, and a reader never sees half a build.
"""
from __future__ import annotations

import bisect
import contextlib
import ctypes
import fcntl
import gc
import itertools
import json
import multiprocessing
import os
import re
import shutil
import threading
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import notes as notes_mod
from .analyzer import Analyzer, from_settings
from .scoring import Params, Postings, ScoreCache, accumulate, idf, length_norms

if TYPE_CHECKING:
    import scipy.sparse as sp  # imported where a build needs it: `ask` starts 0.1 s sooner

FORMAT = "notebot-index"
FORMAT_VERSION = 5
_GEN = re.compile(r"gen-(\d{6,})")
# Below this many notes to analyse, worker processes cost more than they save: starting two
# from the fork server took 0.5 s here, and one core analyses about 300 notes a second.
PARALLEL_MIN_NOTES = 500
# Each worker gets its notes in about this many tasks, so that the workers finish together; at
# most MAX_CHUNK_NOTES (a second or so of work). Not many more: each task's result is sent back
# whole (its notes' counts, records, and the terms the worker had not sent before).
CHUNKS_PER_WORKER = 16
MAX_CHUNK_NOTES = 1000
# The small segment and the deleted notes may grow to this share of the large segment before a
# build merges them (rewriting the whole index).
MERGE_FRACTION = 0.1
_SEGMENT_ARRAYS = ("indptr", "notes", "title", "body", "lengths", "docs.offsets", "docs.crc32")


class IndexUnusable(Exception):
    """The index is missing, damaged, stale in format, or made by another analyzer."""


@dataclass
class BuildReport:
    """What a build did, for its one-line summary."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    skipped: int = 0
    unchanged: int = 0
    seconds: float = 0.0
    full: bool = False
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        kind = "full build" if self.full else "build"
        return (f"{kind}: {self.added} added, {self.changed} changed, {self.removed} removed, "
                f"{self.skipped} skipped, {self.unchanged} unchanged "
                f"({self.added + self.changed + self.unchanged} notes) in {self.seconds:.2f}s")


@dataclass
class Segment:
    """One segment of a loaded generation: its postings and its stored records."""

    name: str
    postings: Postings
    lengths: np.ndarray
    offsets: np.ndarray
    crc32: np.ndarray
    docs_file: object

    @property
    def n_docs(self) -> int:
        return len(self.lengths)


@dataclass
class IndexData:
    """A loaded generation: what search needs, memory-mapped where it can be.

    Notes are numbered across the segments, in order; a number in ``deleted`` is a note that
    was replaced or removed and never answers. ``terms`` are all the index's terms (a term's
    position is its id); ``vocab`` maps those in the notes in use to their id, so that an index
    built bit by bit knows the same words as one built at once."""

    path: Path
    manifest: dict
    terms: list[str]
    df: np.ndarray
    segments: list[Segment]
    idf: np.ndarray
    norm: np.ndarray
    deleted: np.ndarray

    @cached_property
    def vocab(self) -> dict:
        # Made when first asked for: a build, which numbers every term, never needs it.
        return dict(itertools.compress(zip(self.terms, range(len(self.terms))),
                                       (self.df > 0).tolist()))

    @property
    def n_notes(self) -> int:
        return len(self.manifest["notes"]["path"])

    @property
    def params(self) -> Params:
        return Params(**self.manifest["scoring"])

    def score(self, term_ids, weights, k: int | None = None,
              without: np.ndarray | None = None) -> np.ndarray:
        """Per note number: the sum of ``weights[i] * score(note, term_ids[i])``, zero for the
        note numbers ``without``; with ``k``, exact only for the notes that can be among the k
        best (see scoring.accumulate)."""
        deleted = self.deleted if without is None else np.union1d(self.deleted, without)
        return accumulate([s.postings for s in self.segments], term_ids, weights, self.norm,
                          self.idf, self.params, deleted, k, self._scores)

    def path_rank(self) -> np.ndarray:
        """Per note number: its place in the order of the notes' paths (deleted notes last),
        which breaks ties the same way however the index was built."""
        return self._path_rank

    @cached_property
    def _path_rank(self) -> np.ndarray:
        notes = self.manifest["notes"]
        rank = np.full(len(self.norm), len(self.norm), dtype=np.int64)
        by_path = sorted(range(len(notes["path"])), key=notes["path"].__getitem__)
        rank[np.asarray(notes["doc"], dtype=np.int64)[by_path]] = np.arange(len(by_path))
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
                return json.loads(_record(seg, i))
            i -= seg.n_docs
        raise IndexError(f"no note number {i}")

    def doc_by_path(self, path: str) -> dict | None:
        """The stored record of the note at ``path``, or None."""
        notes = self.manifest["notes"]
        try:
            return self.doc(notes["doc"][notes["path"].index(path)])
        except ValueError:
            return None

    def close(self):
        _close(self.segments)


def _record(seg: Segment, i: int) -> bytes:
    start, end = int(seg.offsets[i]), int(seg.offsets[i + 1])
    record = os.pread(seg.docs_file.fileno(), end - start, start)
    if zlib.crc32(record) != seg.crc32[i]:
        raise IndexUnusable(f"{seg.name}.docs.jsonl is damaged (stored note {i})")
    return record


# ---------------------------------------------------------------- files

def _fsync_dir(path: Path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_bytes(path: Path, data: bytes) -> int:
    """Write ``data`` durably; returns its CRC-32."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return zlib.crc32(data)


class _Checksummed:
    """A file being written, with the CRC-32 of what was written to it so far."""

    def __init__(self, f):
        self.f, self.crc = f, 0

    def write(self, data) -> int:
        self.crc = zlib.crc32(data, self.crc)
        return self.f.write(data)


def _save_array(path: Path, array: np.ndarray) -> int:
    """Write ``array`` durably as .npy; returns the file's CRC-32."""
    with open(path, "wb") as f:
        out = _Checksummed(f)
        np.save(out, np.ascontiguousarray(array), allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())
    return out.crc


def _load_array(path: Path) -> np.ndarray:
    # A plain ndarray over the mapping: np.memmap's Python hooks cost microseconds per slice.
    try:
        return np.asarray(np.load(path, mmap_mode="r", allow_pickle=False))
    except ValueError:  # (numpy's own message suggests loading it with pickle)
        raise IndexUnusable(f"{path} is damaged: not a NumPy array file") from None


def _crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            crc = zlib.crc32(chunk, crc)
    return crc


def verify(data: IndexData) -> list[str]:
    """The files of a loaded generation whose content is not what the build wrote (by CRC-32;
    reads the whole index)."""
    return [name for name, crc in data.manifest["checksums"].items()
            if _crc32(data.path / name) != crc]


def _link(src: Path, dst: Path):
    """Share an unchanged file with the previous generation (a copy where links are refused)."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
        with open(dst, "rb") as f:
            os.fsync(f.fileno())


def write_atomic(path: Path, data: bytes):
    """Write a small file so that readers see the old or the new content, never a mix."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    _write_bytes(tmp, data)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


# ---------------------------------------------------------------- loading

def current_generation(index_dir: Path) -> Path:
    """The generation directory ``CURRENT`` names (raises IndexUnusable when there is none)."""
    try:
        name = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexUnusable(f"no index in {index_dir}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise IndexUnusable(f"cannot read {index_dir / 'CURRENT'}: {err}") from None
    if not _GEN.fullmatch(name):
        raise IndexUnusable(f"{index_dir / 'CURRENT'} is damaged")
    return index_dir / name


def load(index_dir: str | os.PathLike) -> IndexData:
    """Open the index in ``index_dir`` for searching; IndexUnusable says why it can't be used."""
    index_dir = Path(index_dir)
    for attempt in range(3):
        gen = current_generation(index_dir)
        try:
            return _load_generation(gen)
        except FileNotFoundError:
            # A build published a newer generation and removed this one meanwhile: look again.
            if current_generation(index_dir) == gen or attempt == 2:
                raise IndexUnusable(f"{gen} is incomplete") from None
    raise AssertionError("unreachable")


def _load_generation(gen: Path) -> IndexData:
    segments = []
    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
            raise IndexUnusable(f"{gen} has index format {manifest.get('format_version')}, "
                                f"this notebot reads {FORMAT_VERSION}")
        if not isinstance(manifest["analyzer"], dict):
            raise IndexUnusable(f"{gen}: the manifest does not record the analyzer")
        Params(**manifest["scoring"])  # raises when the scoring settings are missing or wrong
        if manifest["checksums"].keys() != manifest["files"].keys():
            raise IndexUnusable(f"{gen}: the manifest's file list is damaged")
        for name, size in manifest["files"].items():
            if (gen / name).stat().st_size != size:
                raise IndexUnusable(f"{gen / name} has the wrong size (damaged or truncated)")
        vocab_list = json.loads((gen / "vocab.json").read_text(encoding="utf-8"))
        n_docs = 0
        for seg in manifest["segments"]:
            segments.append(_load_segment(gen, seg["name"], n_docs, len(vocab_list)))
            n_docs += segments[-1].n_docs
        term_idf, norm = _load_array(gen / "idf.npy"), _load_array(gen / "norm.npy")
        norm = np.asarray(norm, np.float32)  # (float64 in indexes made before 2026-11-25)
        df = _load_array(gen / "df.npy")
        deleted = np.load(gen / "deleted.npy", allow_pickle=False)
        notes = manifest["notes"]
        numbers = np.asarray(notes["doc"], dtype=np.int64)
        if not (np.isfinite(term_idf).all() and (term_idf >= 0).all()
                and np.isfinite(norm).all() and (norm >= 0).all() and (df >= 0).all()):
            raise IndexUnusable(f"{gen}: idf.npy, norm.npy or df.npy is damaged")
        if (len(term_idf) != len(vocab_list) or len(df) != len(vocab_list) or len(norm) != n_docs
                or not len(notes["path"]) == len(notes["size"]) == len(notes["changed_ns"])
                == len(notes["hash"]) == len(numbers) == n_docs - len(deleted)
                or not np.all((numbers >= 0) & (numbers < n_docs))
                or not np.all((deleted >= 0) & (deleted < n_docs))):
            raise IndexUnusable(f"{gen}: arrays do not match the manifest")
    except (FileNotFoundError, IndexUnusable):
        _close(segments)
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        _close(segments)
        raise IndexUnusable(f"{gen} is damaged: {err}") from None
    return IndexData(gen, manifest, vocab_list, df, segments, term_idf, norm, deleted)


def _close(segments: list[Segment]):
    for seg in segments:
        seg.docs_file.close()


def _load_segment(gen: Path, name: str, start: int, n_terms: int) -> Segment:
    a = {part: _load_array(gen / f"{name}.{part}.npy") for part in _SEGMENT_ARRAYS}
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


def analyzer_for(data: IndexData) -> Analyzer:
    """The analyzer this index was made with; IndexUnusable if this installation differs."""
    try:
        return from_settings(data.manifest["analyzer"])
    except ValueError as err:
        raise IndexUnusable(str(err)) from None


def _as_scanned(manifest: dict, scan: notes_mod.Scan) -> bool:
    """Whether the index records exactly the files of ``scan``, none skipped: the usual case,
    settled by three list comparisons (notes are recorded in the order a scan finds them)."""
    notes = manifest["notes"]
    return (not manifest.get("skipped") and [f.path for f in scan.files] == notes["path"]
            and [f.changed_ns for f in scan.files] == notes["changed_ns"]
            and [f.size for f in scan.files] == notes["size"])


def stale_reason(manifest: dict, scan: notes_mod.Scan) -> str | None:
    """Why the index no longer matches the corpus (None when it does)."""
    if _as_scanned(manifest, scan):
        return None
    notes = manifest["notes"]
    known = dict(zip(notes["path"], zip(notes["size"], notes["changed_ns"])))
    known.update({p: tuple(v) for p, v in manifest.get("skipped", {}).items()})
    found = {f.path: (f.size, f.changed_ns) for f in scan.files}
    if found == known:
        return None
    added = found.keys() - known.keys()
    removed = known.keys() - found.keys()
    changed = [p for p in found.keys() & known.keys() if found[p] != known[p]]
    return f"{len(added)} new, {len(changed)} changed, {len(removed)} removed notes"


# ---------------------------------------------------------------- analysing

class _TermNumbers(dict):
    """A process's numbers for the terms it has met, kept from one list of notes to the next, so
    that each list tells the main process only the terms it has not told before."""

    def __init__(self):
        super().__init__()
        self.process = os.getpid()
        self.new = []  # numbered since the last list

    def __missing__(self, term: str) -> int:
        number = self[term] = len(self)
        self.new.append(term)
        return number


@dataclass
class _Analysed:
    """What a process made of a list of note files (terms numbered by its _TermNumbers)."""

    process: int = 0  # whose numbers
    first: int = 0    # the number of terms[0]
    terms: list[str] = field(default_factory=list)  # the terms it numbered first
    hashes: list[str | None] = field(default_factory=list)   # per file; None: skipped
    reasons: list[str | None] = field(default_factory=list)  # why it was skipped
    fresh: list[bool] = field(default_factory=list)         # analysed (not an unchanged hash)
    records: list[bytes] = field(default_factory=list)      # per analysed note
    lengths: list[int] = field(default_factory=list)        # body length, in terms
    sizes: list[int] = field(default_factory=list)          # distinct terms
    ids: np.ndarray | None = None     # term numbers (int32), note after note
    counts: np.ndarray | None = None  # title count << 32 | body count (int64), likewise
    warnings: list[str] = field(default_factory=list)


def _analyze_files(analyzer: Analyzer, numbers: _TermNumbers, jobs: list) -> _Analysed:
    """Read, parse and analyse ``jobs`` (file, hash it had or None); a file whose hash is
    unchanged is not analysed again."""
    out, keys, counts = _Analysed(numbers.process, len(numbers)), [], []
    for info, old_hash in jobs:
        data, reason = notes_mod.read_bytes(info)
        digest = notes_mod.content_hash(data) if data is not None else None
        out.hashes.append(digest)
        out.reasons.append(reason)
        out.fresh.append(data is not None and digest != old_hash)
        if not out.fresh[-1]:
            continue
        note, warnings = notes_mod.parse(info.path, data)
        out.warnings.extend(warnings)
        out.records.append(json.dumps(
            {"path": note.path, "title": note.title, "url": note.url, "date": note.date,
             "tags": list(note.tags), "text": note.text}, ensure_ascii=False).encode() + b"\n")
        body = analyzer.counts(note.text)
        packed = dict(body)  # term → title count << 32 | body count; few terms are in the title
        for term, n in analyzer.counts(note.title).items():
            packed[term] = packed.get(term, 0) | n << 32
        keys.extend(packed)
        counts.extend(packed.values())
        out.sizes.append(len(packed))
        out.lengths.append(sum(body.values()))
    # Number the terms without a Python step per term (but one per new term).
    numbers.new = []
    out.ids = np.fromiter(map(numbers.__getitem__, keys), dtype=np.int32, count=len(keys))
    out.terms = numbers.new
    out.counts = np.array(counts, dtype=np.int64)
    return out


_worker: tuple[Analyzer, _TermNumbers] | None = None  # each worker process's own


# How often a worker process checks that the build it works for is still running.
WORKER_WATCH_SECONDS = 0.5


def _start_worker(analyzer: Analyzer, build_pid: int):
    global _worker
    _worker = analyzer, _TermNumbers()
    threading.Thread(target=_exit_with, args=(build_pid,), daemon=True).start()


def _exit_with(build_pid: int):
    """End this worker process once the build process is gone: killed (SIGKILL, SIGTERM),
    it cannot tell its workers, which would otherwise analyse on for minutes, or for ever.
    (The forkserver that started the worker ends with the build, so the worker's parent
    changes even while the build is an unreaped zombie.)"""
    parent = os.getppid()
    while True:
        time.sleep(WORKER_WATCH_SECONDS)
        try:
            os.kill(build_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        if os.getppid() != parent:
            os._exit(1)


def _analyze_in_worker(jobs: list) -> _Analysed:
    return _analyze_files(*_worker, jobs)


def _analyze_all(analyzer: Analyzer, jobs: list, workers: int):
    """``_Analysed`` for consecutive slices of ``jobs``, in order; on ``workers`` processes
    when there are enough notes to be worth starting them."""
    size = max(1, min(MAX_CHUNK_NOTES, -(-len(jobs) // (workers * CHUNKS_PER_WORKER))))
    parts = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    if workers <= 1 or len(jobs) < PARALLEL_MIN_NOTES:
        numbers = _TermNumbers()
        yield from (_analyze_files(analyzer, numbers, part) for part in parts)
        return
    # Not fork: a build may run inside a threaded process (the Slack bot), and a child forked
    # while another thread holds a lock can hang for ever.
    with ProcessPoolExecutor(max_workers=workers, initializer=_start_worker,
                             initargs=(analyzer, os.getpid()),
                             mp_context=multiprocessing.get_context("forkserver")) as pool:
        yield from pool.map(_analyze_in_worker, parts)


# ---------------------------------------------------------------- building

def _lock(index_dir: Path, say):
    index_dir.mkdir(parents=True, exist_ok=True)
    f = open(index_dir / "lock", "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        say(f"waiting for another build of {index_dir} to finish")
        fcntl.flock(f, fcntl.LOCK_EX)
    return f


def _previous(index_dir: Path, analyzer: Analyzer, report: BuildReport) -> IndexData | None:
    """The generation to build on, or None for a full build."""
    try:
        data = load(index_dir)
    except IndexUnusable as err:
        if (index_dir / "CURRENT").exists():
            report.warnings.append(f"index unusable ({err}); rebuilding from scratch")
        return None
    if data.manifest["analyzer"] != analyzer.settings():
        report.warnings.append("analyzer changed since the last build; rebuilding from scratch")
        data.close()
        return None
    return data


@dataclass
class _Member:
    """A note of the new generation: where its counts and record come from."""

    meta: dict               # path, size, changed_ns, hash
    segment: int | None      # index of its segment in the previous generation; None: analysed
    number: int              # its number within that segment, or among the analysed notes


def build(corpus: str | os.PathLike, index_dir: str | os.PathLike,
          analyzer: Analyzer | None = None, params: Params = Params(), full: bool = False,
          workers: int | None = None, say=lambda line: None, progress=None) -> BuildReport:
    """Bring the index in ``index_dir`` up to date with the notes under ``corpus``.

    Only new or changed notes (by size and change time, then content hash) are analysed, unless
    ``full``. Builds are serialised by a lock; the new generation is published atomically.
    A stored note of the previous generation found damaged on the way makes it a full build.
    ``say`` hears when the build must wait for another one to finish; ``progress(done, total)``,
    how many of the notes to analyse are done, before the first and after each batch.
    """
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        # A worker process is importing the main script, which calls build() at its top level:
        # this build would wait for ever for the lock the real one holds.
        raise RuntimeError("build() was called while a worker process imported the main script: "
                           "call it under `if __name__ == '__main__':`")
    with _no_gc():
        try:
            return _build(corpus, index_dir, analyzer, params, full, workers, say, progress)
        except IndexUnusable as err:
            if full:
                raise
            report = _build(corpus, index_dir, analyzer, params, True, workers, say, progress)
            report.warnings.insert(0, f"index unusable ({err}); rebuilt from scratch")
            return report


@contextlib.contextmanager
def _no_gc():
    """Python's cycle collector off while a build runs: it makes a few objects per note (at
    100k notes, hundreds of thousands) that all live until it ends, and the collector would go
    over them again and again (a fifth of adding one note at 100k). The few cycles a build may
    leave are collected once the collector is back on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _meta(info: notes_mod.FileInfo, digest: str | None) -> dict:
    """A note's entry in the manifest (see _Member.meta)."""
    return dict(path=info.path, size=info.size, changed_ns=info.changed_ns, hash=digest)


def _build(corpus, index_dir, analyzer, params, full, workers, say, progress) -> BuildReport:
    started = time.perf_counter()
    analyzer = analyzer or Analyzer()
    index_dir = Path(index_dir)
    workers = workers or os.cpu_count() or 1
    report = BuildReport(full=full)
    lock = _lock(index_dir, say)
    prev = None
    try:
        scan = notes_mod.scan(corpus)
        report.warnings.extend(scan.warnings)
        if not scan.files:
            report.warnings.append(f"no notes (*.md, *.markdown, *.txt) in {corpus}")
        prev = None if full else _previous(index_dir, analyzer, report)
        report.full = prev is None
        # (Without skipped files, the comparison is enough: a changed corpus skips the slower
        # stale_reason, which makes two dicts of every note.)
        if prev is not None and (_as_scanned(prev.manifest, scan) or (
                prev.manifest.get("skipped") and stale_reason(prev.manifest, scan) is None)):
            report.unchanged = prev.n_notes
            report.skipped = len(prev.manifest.get("skipped", {}))
            report.seconds = time.perf_counter() - started
            return report
        old, ends = {}, []
        if prev is not None:
            ends = list(itertools.accumulate(seg.n_docs for seg in prev.segments))
            n = prev.manifest["notes"]
            old = {p: (s, m, h, d) for p, s, m, h, d in
                   zip(n["path"], n["size"], n["changed_ns"], n["hash"], n["doc"])}
        vocab = {} if prev is None else dict(zip(prev.terms, range(len(prev.terms))))

        members, jobs, kept = [], [], 0
        for info in scan.files:
            was = old.get(info.path)
            if was and was[:2] == (info.size, info.changed_ns):
                members.append(_located(ends, was[3], _meta(info, was[2])))
                kept += 1
            else:
                jobs.append((info, was[2] if was else None))
                members.append(None)
        new = _NewNotes()
        skipped, at = {}, 0
        job_slots = [i for i, m in enumerate(members) if m is None]
        luts = {}  # each analysing process's term numbers → the index's
        progress = progress or (lambda done, total: None)
        progress(0, len(jobs))
        for part in _analyze_all(analyzer, jobs, workers):
            report.warnings.extend(part.warnings)
            lut = luts.get(part.process, np.zeros(0, np.int32))
            if len(lut) != part.first:  # (a process's parts come in the order it made them)
                raise RuntimeError(f"terms of process {part.process} came out of order")
            luts[part.process] = lut = np.concatenate([lut, _number(vocab, part.terms)])
            new.add(part, lut)
            for digest, reason, fresh in zip(part.hashes, part.reasons, part.fresh):
                info, _ = jobs[at]
                slot, was, at = job_slots[at], old.get(info.path), at + 1
                meta = _meta(info, digest)
                if digest is None:
                    report.warnings.append(f"{info.path}: skipped: {reason}")
                    skipped[info.path] = [info.size, info.changed_ns]
                elif not fresh:
                    members[slot] = _located(ends, was[3], meta)
                else:
                    members[slot] = _Member(meta, None, new.count)
                    new.count += 1
                    if was:
                        report.changed += 1
                    else:
                        report.added += 1
            progress(at, len(jobs))
        members = [m for m in members if m is not None]
        report.skipped = len(skipped)
        report.removed = len(old.keys() - {m.meta["path"] for m in members})
        report.unchanged = len(members) - new.count

        gen = _publish(index_dir, analyzer, params, prev, members, new, list(vocab), skipped)
        _remove_old_generations(index_dir, keep={gen.name, prev.path.name if prev else ""})
    finally:
        if prev is not None:
            prev.close()
        lock.close()
    report.seconds = time.perf_counter() - started
    return report


def _number(vocab: dict, terms: list[str]) -> np.ndarray:
    """Index-wide numbers of ``terms``, new ones added to ``vocab`` (no Python step per term:
    this runs in the main process while the workers analyse)."""
    ids = np.fromiter(map(vocab.get, terms, itertools.repeat(-1)), dtype=np.int32,
                      count=len(terms))
    unseen = np.flatnonzero(ids < 0)  # (one look-up per term: most are known after a few parts)
    ids[unseen] = np.arange(len(vocab), len(vocab) + len(unseen))
    vocab.update(zip(map(terms.__getitem__, unseen.tolist()), ids[unseen].tolist()))
    return ids


def _located(ends: list[int], doc: int, meta: dict) -> _Member:
    """The member for note number ``doc`` of a generation whose segments end at ``ends``."""
    i = bisect.bisect_right(ends, doc)
    return _Member(meta, i, doc - ends[i - 1] if i else doc)


class _NewNotes:
    """The analysed notes, gathered from the workers' parts, with terms numbered globally."""

    def __init__(self):
        self.count, self.records, self.lengths, self.sizes = 0, [], [], []
        self.ids, self.counts = [], []

    def add(self, part: _Analysed, lut: np.ndarray):
        self.records.extend(part.records)
        self.lengths.extend(part.lengths)
        self.sizes.extend(part.sizes)
        self.ids.append(lut[part.ids])
        self.counts.append(part.counts)

    def rows(self, n_terms: int) -> sp.csr_matrix:
        """Note-major counts (title << 32 | body), one row per analysed note."""
        import scipy.sparse as sp

        indptr = np.zeros(len(self.sizes) + 1, dtype=np.int64)
        np.cumsum(self.sizes, out=indptr[1:])
        ids = np.concatenate(self.ids) if self.ids else np.zeros(0, np.int32)
        counts = np.concatenate(self.counts) if self.counts else np.zeros(0, np.int64)
        self.ids, self.counts = [], []  # (the parts' copies: a full build's largest arrays)
        _return_free_memory()
        return sp.csr_matrix((counts, ids, indptr), shape=(len(self.sizes), n_terms))


def _return_free_memory():
    """Give the memory freed so far back to the system. The C library keeps freed blocks for
    reuse, and the parts' arrays lay among a build's other objects: at 100k notes they stayed
    in its peak memory, beside the two larger arrays made from them (+600 MB)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)  # (GNU C library; others have no such call)
    except (AttributeError, OSError):
        pass


def _note_rows(seg: Segment, n_terms: int) -> sp.csr_matrix:
    """A segment's counts note-major (title << 32 | body), widened to ``n_terms`` terms."""
    import scipy.sparse as sp

    p = seg.postings
    packed = np.asarray(p.title, dtype=np.int64) << 32 | np.asarray(p.body, dtype=np.int64)
    m = sp.csc_matrix((packed, np.asarray(p.notes), np.asarray(p.indptr)),
                      shape=(seg.n_docs, len(p.indptr) - 1)).tocsr()
    return sp.csr_matrix((m.data, m.indices, m.indptr), shape=(seg.n_docs, n_terms))


def _smallest(counts: np.ndarray) -> np.ndarray:
    """Counts as uint16 where they fit (they nearly always do): half the bytes to read."""
    return counts.astype(np.uint16 if not len(counts) or counts.max() < 2**16 else np.int64)


def _write_segment(gen: Path, name: str, postings: sp.csc_matrix, lengths, records) -> dict:
    """Write a segment from term-major ``postings`` (notes × terms, title << 32 | body), body
    ``lengths`` and stored ``records`` (JSON lines), all in note order; returns each file's
    CRC-32 by name."""
    # title << 32 | body as two uint32 columns (little-endian: body first), without copies.
    body, title = np.asarray(postings.data, dtype="<i8").view("<u4").reshape(-1, 2).T
    offsets, crc32 = [0], []
    with open(gen / f"{name}.docs.jsonl", "wb") as f:
        out = _Checksummed(f)
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
        checksums[f"{name}.{part}.npy"] = _save_array(gen / f"{name}.{part}.npy", array)
    return checksums


def _segment_files(name: str) -> list[str]:
    return [f"{name}.docs.jsonl"] + [f"{name}.{part}.npy" for part in _SEGMENT_ARRAYS]


def _publish(index_dir: Path, analyzer, params, prev, members, new, vocab_list, skipped):
    n_terms = len(vocab_list)
    gens = [int(m.group(1)) for p in index_dir.iterdir() if (m := _GEN.fullmatch(p.name))]
    number = max(gens, default=0) + 1
    gen = index_dir / f"gen-{number:06d}"
    shutil.rmtree(gen, ignore_errors=True)
    gen.mkdir()

    # Keep the previous large segment when what changed is small next to it; the other notes
    # go to one new segment, in corpus order.
    base = prev.segments[0] if prev is not None else None
    keep_base = False
    if base is not None:
        in_base = sum(1 for m in members if m.segment == 0)
        keep_base = (len(members) - in_base + base.n_docs - in_base
                     <= MERGE_FRACTION * base.n_docs)
    kept = [base] if keep_base else []
    moved = [m for m in members if not (keep_base and m.segment == 0)]

    sources = {}  # previous segment index → its rows, then the analysed notes' rows
    for m in moved:
        if m.segment is not None and m.segment not in sources:
            sources[m.segment] = _note_rows(prev.segments[m.segment], n_terms)
    sources[None] = new.rows(n_terms)
    first_row, row = {}, 0
    for key, rows in sources.items():
        first_row[key], row = row, row + rows.shape[0]
    order = [first_row[m.segment] + m.number for m in moved]
    segment_names, checksums = [], {}
    for seg in kept:
        for f in _segment_files(seg.name):
            _link(prev.path / f, gen / f)
            checksums[f] = prev.manifest["checksums"][f]
        segment_names.append(seg.name)
    lengths = [np.asarray(seg.lengths) for seg in kept]
    if moved:
        import scipy.sparse as sp

        name = f"seg-{number:06d}"
        rows = list(sources.values())
        rows = rows[0] if len(rows) == 1 else sp.vstack(rows, format="csr")
        if order != list(range(rows.shape[0])):  # (a full build's notes are in order already)
            rows = rows[order]
        sources.clear()
        postings = rows.tocsc()
        del rows
        moved_lengths = np.array([new.lengths[m.number] if m.segment is None
                                  else prev.segments[m.segment].lengths[m.number]
                                  for m in moved], dtype=np.int64)
        records = (new.records[m.number] if m.segment is None
                   else _record(prev.segments[m.segment], m.number) for m in moved)
        checksums.update(_write_segment(gen, name, postings, moved_lengths, records))
        segment_names.append(name)
        lengths.append(moved_lengths)

    # Numbers: the kept segment's notes keep theirs, the moved ones follow in order.
    n_kept = sum(seg.n_docs for seg in kept)
    docs = {}
    for i, m in enumerate(moved):
        docs[m.meta["path"]] = n_kept + i
    for m in members:
        if keep_base and m.segment == 0:
            docs[m.meta["path"]] = m.number
    live = np.zeros(n_kept + len(moved), dtype=bool)
    live[list(docs.values())] = True
    deleted = np.flatnonzero(~live)

    lengths = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
    norm = np.zeros(len(lengths), np.float32)
    norm[live] = length_norms(lengths[live], params)
    df = np.zeros(n_terms, dtype=np.int64)
    for seg_name in segment_names:
        indptr = _load_array(gen / f"{seg_name}.indptr.npy")
        df[:len(indptr) - 1] += np.diff(indptr)
    if len(deleted):
        df -= _term_counts(kept[0], deleted, n_terms)
    checksums["idf.npy"] = _save_array(gen / "idf.npy", idf(df, int(live.sum())))
    checksums["df.npy"] = _save_array(gen / "df.npy", df.astype(np.int32))
    checksums["norm.npy"] = _save_array(gen / "norm.npy", norm)
    checksums["deleted.npy"] = _save_array(gen / "deleted.npy", deleted.astype(np.int64))
    checksums["vocab.json"] = _write_bytes(
        gen / "vocab.json", json.dumps(vocab_list, ensure_ascii=False).encode("utf-8"))

    ordered = [m.meta for m in members]
    files = sorted(gen.iterdir())
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "analyzer": analyzer.settings(), "scoring": params.to_dict(),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "segments": [{"name": n} for n in segment_names],
        "notes": {"path": [m["path"] for m in ordered], "size": [m["size"] for m in ordered],
                  "changed_ns": [m["changed_ns"] for m in ordered],
                  "hash": [m["hash"] for m in ordered],
                  "doc": [docs[m["path"]] for m in ordered]},
        "skipped": skipped,
        "files": {p.name: p.stat().st_size for p in files},
        "checksums": {p.name: checksums[p.name] for p in files},
    }
    _write_bytes(gen / "manifest.json", json.dumps(manifest, ensure_ascii=False).encode("utf-8"))
    _fsync_dir(gen)
    write_atomic(index_dir / "CURRENT", gen.name.encode("utf-8"))
    return gen


def _term_counts(seg: Segment, notes: np.ndarray, n_terms: int) -> np.ndarray:
    """For each term, how many of ``notes`` (numbers within ``seg``) contain it."""
    chosen = np.zeros(seg.n_docs, dtype=bool)
    chosen[notes] = True
    where = np.flatnonzero(chosen[seg.postings.notes])
    terms = np.searchsorted(seg.postings.indptr, where, side="right") - 1
    return np.bincount(terms, minlength=n_terms)


def _remove_old_generations(index_dir: Path, keep: set[str]):
    """Drop every generation but ``keep`` (the new one, and the one before it, which a reader
    may still be opening) -- including half-written ones left by killed builds."""
    for p in index_dir.iterdir():
        if _GEN.fullmatch(p.name) and p.name not in keep:
            shutil.rmtree(p, ignore_errors=True)


def load_fresh(corpus: str | os.PathLike, index_dir: str | os.PathLike, say=print,
               progress=None) -> IndexData:
    """The index, first built or brought up to date if it is missing, stale or unusable.

    ``say`` receives one line about what was done, ``progress`` the build's (see build). When
    the index can't be written (read-only location) an existing index is used as it is.
    """
    scan = notes_mod.scan(corpus)
    data = None
    try:
        data = load(index_dir)
        analyzer_for(data)
        reason = stale_reason(data.manifest, scan)
    except IndexUnusable as err:
        reason = str(err)
    if reason is None:
        return data
    say(f"index out of date ({reason}); updating from {corpus}")
    try:
        report = build(corpus, index_dir, say=say, progress=progress)
    except OSError as err:
        if data is None:
            raise
        say(f"cannot update the index ({err.strerror or err}); answering from the old one")
        return data
    for w in report.warnings:
        say(f"warning: {w}")
    say(report.summary())
    if data is not None:
        data.close()
    return load(index_dir)
