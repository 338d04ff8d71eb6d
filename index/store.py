"""The build: brings an index directory up to date with the corpus, incrementally, and publishes
the result as a new generation.

A build analyses only new and changed notes (see analysis.py), writes them with the notes of the
previous small segment as one new segment (segment.py), keeps or merges the large one (merge.py),
and writes the new generation's arrays and manifest (generation.py, manifest.py) next to the old
generation; only then does it point ``CURRENT`` at it (files.write_atomic). So a build killed at
any moment leaves the previous index in use, and a reader never sees half a build. Builds of one
index directory are serialised by a lock.
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
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np

from . import generation
from . import notes as notes_mod
from . import segment as segment_mod
from . import vocab as vocab_mod
from .analysis import Analysed, analyze_all
from .analyzer import Analyzer
from .errors import IndexUnusable
from .files import fsync_dir, link, load_array, save_array, write_atomic, write_bytes
from .generation import Generation
from .manifest import Manifest, NoteTable
from .merge import keeps_large
from .scoring import Params, idf, length_norms


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


def _lock(index_dir: Path, say):
    index_dir.mkdir(parents=True, exist_ok=True)
    f = open(index_dir / "lock", "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        say(f"waiting for another build of {index_dir} to finish")
        fcntl.flock(f, fcntl.LOCK_EX)
    return f


def _previous(index_dir: Path, analyzer: Analyzer, report: BuildReport) -> Generation | None:
    """The generation to build on, or None for a full build."""
    try:
        data = generation.load(index_dir)
    except IndexUnusable as err:
        if (index_dir / "CURRENT").exists():
            report.warnings.append(f"index unusable ({err}); rebuilding from scratch")
        return None
    if data.manifest.analyzer != analyzer.settings():
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


# What a build keeps of the notes it analyses before writing them out (see build).
DEFAULT_BUFFER_MB = 256


def build(corpus: str | os.PathLike, index_dir: str | os.PathLike,
          analyzer: Analyzer | None = None, params: Params = Params(), full: bool = False,
          workers: int | None = None, say=lambda line: None, progress=None,
          buffer_mb: float = DEFAULT_BUFFER_MB) -> BuildReport:
    """Bring the index in ``index_dir`` up to date with the notes under ``corpus``.

    Only new or changed notes (by size and change time, then content hash) are analysed, unless
    ``full``. The analysed notes are written to disk whenever their counts and records pass
    ``buffer_mb`` megabytes, and those pieces merged into one segment at the end a range of
    terms at a time: what a build holds in memory does not grow with the archive (but for a few
    numbers per note and the vocabulary). Builds are serialised by a lock; the new generation is
    published atomically.
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
            return _build(corpus, index_dir, analyzer, params, full, workers, say, progress,
                          buffer_mb)
        except IndexUnusable as err:
            if full:
                raise
            report = _build(corpus, index_dir, analyzer, params, True, workers, say, progress,
                            buffer_mb)
            report.warnings.insert(0, f"index unusable ({err}); rebuilt from scratch")
            return report


@contextlib.contextmanager
def _no_gc():
    """Python's cycle collector off while a build runs: it makes a few objects per note that
    all live until it ends, and the collector would go over them again and again. The few
    cycles a build may leave are collected once the collector is back on."""
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


def _build(corpus, index_dir, analyzer, params, full, workers, say, progress,
           buffer_mb) -> BuildReport:
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
        if prev is not None and (prev.manifest.as_scanned(scan) or (
                prev.manifest.skipped and prev.manifest.stale_reason(scan) is None)):
            report.unchanged = prev.n_notes
            report.skipped = len(prev.manifest.skipped)
            report.seconds = time.perf_counter() - started
            return report
        old, ends = {}, []
        if prev is not None:
            ends = list(itertools.accumulate(seg.n_docs for seg in prev.segments))
            n = prev.manifest.notes
            old = {p: (s, m, h, d) for p, s, m, h, d in
                   zip(n.path, n.size, n.changed_ns, n.hash, n.doc)}
        vocab = _Numbering(None if prev is None else prev.terms)
        gen = index_dir / f"gen-{generation.next_number(index_dir):06d}"
        shutil.rmtree(gen, ignore_errors=True)
        gen.mkdir()

        members, jobs, kept = [], [], 0
        for info in scan.files:
            was = old.get(info.path)
            if was and was[:2] == (info.size, info.changed_ns):
                members.append(_located(ends, was[3], _meta(info, was[2])))
                kept += 1
            else:
                jobs.append((info, was[2] if was else None))
                members.append(None)  # type: ignore[arg-type]  # (a slot, filled below)
        new = _NewNotes(gen, int(buffer_mb * 2**20))
        skipped, at = {}, 0
        job_slots = [i for i, m in enumerate(members) if m is None]
        luts: dict[int, np.ndarray] = {}  # each analysing process's term numbers → the index's
        progress = progress or (lambda done, total: None)
        progress(0, len(jobs))
        for part in analyze_all(analyzer, jobs, workers):
            report.warnings.extend(part.warnings)
            lut = luts.get(part.process, np.zeros(0, np.int32))
            if len(lut) != part.first:  # (a process's parts come in the order it made them)
                raise RuntimeError(f"terms of process {part.process} came out of order")
            luts[part.process] = lut = np.concatenate([lut, vocab.number(part.terms)])
            new.add(part, lut)
            if new.full():
                new.flush(len(vocab))
            for digest, reason, fresh in zip(part.hashes, part.reasons, part.fresh):
                info, _ = jobs[at]
                slot, was, at = job_slots[at], old.get(info.path), at + 1
                meta = _meta(info, digest)
                if digest is None:
                    report.warnings.append(f"{info.path}: skipped: {reason}")
                    skipped[info.path] = [info.size, info.changed_ns]
                elif not fresh:
                    assert was is not None  # (an unchanged hash is one the index has)
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

        new.flush(len(vocab))
        _publish(index_dir, gen, analyzer, params, prev, members, new, vocab, skipped)
        generation.remove_old(index_dir, keep={gen.name, prev.path.name if prev else ""})
    finally:
        if prev is not None:
            prev.close()
        lock.close()
    report.seconds = time.perf_counter() - started
    return report


class _Numbering:
    """The index's numbers for terms: the previous generation's terms keep theirs (looked up in
    its files), the terms this build meets first are numbered after them."""

    def __init__(self, prev: vocab_mod.Terms | None):
        self.prev = prev
        self.first = len(prev) if prev is not None else 0
        self.added: dict[str, int] = {}

    def __len__(self) -> int:
        return self.first + len(self.added)

    def number(self, terms: list[str]) -> np.ndarray:
        """The numbers of ``terms``, new ones numbered (no Python step per known term: this
        runs in the main process while the workers analyse)."""
        if self.prev is not None:
            ids = self.prev.find_all(terms).astype(np.int32)
            rest = np.flatnonzero(ids < 0)
            ids[rest] = self._number([terms[i] for i in rest.tolist()])
            return ids
        return self._number(terms)

    def _number(self, terms: list[str]) -> np.ndarray:
        added = self.added
        ids = np.fromiter(map(added.get, terms, itertools.repeat(-1)), dtype=np.int32,
                          count=len(terms))
        unseen = np.flatnonzero(ids < 0)  # (one look-up per term: most are known after a while)
        ids[unseen] = np.arange(len(self), len(self) + len(unseen))
        added.update(zip(map(terms.__getitem__, unseen.tolist()), ids[unseen].tolist()))
        return ids

    def added_terms(self) -> list[str]:
        return list(self.added)  # (in the order they were numbered)


def _located(ends: list[int], doc: int, meta: dict) -> _Member:
    """The member for note number ``doc`` of a generation whose segments end at ``ends``."""
    i = bisect.bisect_right(ends, doc)
    return _Member(meta, i, doc - ends[i - 1] if i else doc)


class _NewNotes:
    """The analysed notes, gathered from the workers' parts with terms numbered globally, and
    written to segments of their own in ``gen`` (``new-0000`` ...) whenever their counts and
    records take ``buffer_bytes`` or more."""

    def __init__(self, gen: Path, buffer_bytes: int):
        self.gen, self.buffer_bytes = gen, buffer_bytes
        self.count = 0           # notes analysed so far (numbered in that order)
        self.flushed: list[str] = []
        self.starts = [0]        # the number of each flushed segment's first note, then the next
        self.checksums: dict[str, int] = {}
        self._clear()

    def _clear(self):
        self.records: list[bytes] = []
        self.lengths: list[int] = []
        self.sizes: list[int] = []
        self.ids: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        self.bytes = 0

    def add(self, part: Analysed, lut: np.ndarray):
        assert part.ids is not None and part.counts is not None  # (set by the analysis)
        self.records.extend(part.records)
        self.lengths.extend(part.lengths)
        self.sizes.extend(part.sizes)
        self.ids.append(lut[part.ids])
        self.counts.append(part.counts)
        self.bytes += sum(map(len, part.records)) + self.ids[-1].nbytes + part.counts.nbytes

    def full(self) -> bool:
        return self.bytes >= self.buffer_bytes

    def flush(self, n_terms: int):
        """Write the notes gathered since the last flush as a segment of ``n_terms`` terms."""
        if not self.sizes:
            return
        import scipy.sparse as sp

        indptr = np.zeros(len(self.sizes) + 1, dtype=np.int64)
        np.cumsum(self.sizes, out=indptr[1:])
        ids, counts = np.concatenate(self.ids), np.concatenate(self.counts)
        self.ids, self.counts = [], []  # (the parts' copies)
        rows = sp.csr_matrix((counts, ids, indptr), shape=(len(self.sizes), n_terms))
        del ids, counts
        postings = rows.tocsc()
        del rows
        name = f"new-{len(self.flushed):04d}"
        self.checksums.update(segment_mod.write(self.gen, name, postings, self.lengths,
                                                self.records))
        del postings
        self.flushed.append(name)
        self.starts.append(self.starts[-1] + len(self.sizes))
        self._clear()
        _return_free_memory()

    def remove(self):
        """Delete the flushed segments' files (once merged)."""
        for name in self.flushed:
            for f in segment_mod.files(name):
                (self.gen / f).unlink(missing_ok=True)


def _return_free_memory():
    """Give the memory freed so far back to the system. The C library keeps freed blocks for
    reuse, and the parts' arrays lay among a build's other objects: they would stay in its
    peak memory, beside the two larger arrays made from them."""
    try:
        ctypes.CDLL(None).malloc_trim(0)  # (GNU C library; others have no such call)
    except (AttributeError, OSError):
        pass


def _publish(index_dir: Path, gen: Path, analyzer, params, prev, members, new: _NewNotes,
             vocab: _Numbering, skipped):
    n_terms = len(vocab)

    # Keep the previous large segment when what changed is small next to it; the other notes
    # go to one new segment, in corpus order.
    base = prev.segments[0] if prev is not None else None
    keep_base = base is not None and keeps_large(
        base.n_docs, sum(1 for m in members if m.segment == 0), len(members))
    kept: list[segment_mod.Segment] = [cast(segment_mod.Segment, base)] if keep_base else []
    moved = [m for m in members if not (keep_base and m.segment == 0)]

    segment_names, checksums = [], {}
    for seg in kept:
        for f in segment_mod.files(seg.name):
            link(prev.path / f, gen / f)
            checksums[f] = prev.manifest.checksums[f]
        segment_names.append(seg.name)
    lengths: list[np.ndarray] | np.ndarray
    lengths = [np.asarray(seg.lengths) for seg in kept]
    if moved:
        name = gen.name.replace("gen-", "seg-")
        sources = _sources(prev, moved, new)
        if (len(sources) == 1 and new.flushed and sources[0][1] == new.flushed[0]
                and np.array_equal(sources[0][2], np.arange(len(moved)))):
            # One piece holding just these notes, in order: it is the segment.
            for part in segment_mod.files(name):
                was = part.replace(name, new.flushed[0])
                os.replace(gen / was, gen / part)
                checksums[part] = new.checksums[was]
            moved_lengths = np.load(gen / f"{name}.lengths.npy", allow_pickle=False)
        else:
            written, moved_lengths = segment_mod.merge(gen, name, sources, len(moved), n_terms)
            checksums.update(written)
        new.remove()
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
        indptr = load_array(gen / f"{seg_name}.indptr.npy")
        df[:len(indptr) - 1] += np.diff(indptr)
    if len(deleted):
        df -= _deleted_counts(prev, deleted, n_terms, analyzer)
    checksums["idf.npy"] = save_array(gen / "idf.npy", idf(df, int(live.sum())))
    checksums["df.npy"] = save_array(gen / "df.npy", df.astype(np.int32))
    checksums["norm.npy"] = save_array(gen / "norm.npy", norm)
    checksums["deleted.npy"] = save_array(gen / "deleted.npy", deleted.astype(np.int64))
    if prev is None:
        checksums.update(vocab_mod.write(gen, vocab.added_terms()))
    else:
        checksums.update(vocab_mod.write(gen, vocab.added_terms(), prev.terms, prev.path,
                                         prev.manifest.checksums))

    ordered = [m.meta for m in members]
    notes = NoteTable(path=[m["path"] for m in ordered], size=[m["size"] for m in ordered],
                      changed_ns=[m["changed_ns"] for m in ordered],
                      hash=[m["hash"] for m in ordered], doc=[docs[m["path"]] for m in ordered])
    checksums.update(notes.write(gen))
    files = sorted(gen.iterdir())
    manifest = Manifest(
        analyzer=analyzer.settings(), scoring=params,
        built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        segments=segment_names, notes=notes, skipped=skipped,
        files={p.name: p.stat().st_size for p in files},
        checksums={p.name: checksums[p.name] for p in files})
    write_bytes(gen / "manifest.json", manifest.to_json())
    fsync_dir(gen)
    write_atomic(index_dir / "CURRENT", gen.name.encode("utf-8"))


def _deleted_counts(prev: Generation, deleted: np.ndarray, n_terms: int,
                    analyzer: Analyzer) -> np.ndarray:
    """For each term, how many of the ``deleted`` notes of the previous generation's large
    segment, which the new one keeps, have it. Counting them in the segment reads all of its
    postings; instead, the previous generation's document frequencies tell the count of the
    notes it had deleted already (its segments' postings less its df), and the notes deleted
    since are analysed again from their stored title and text, which give the same terms."""
    large = prev.segments[0]
    before = np.asarray(prev.deleted, dtype=np.int64)
    if len(before) and before.max() >= large.n_docs:
        return large.term_counts(deleted, n_terms)
    counts = np.zeros(n_terms, dtype=np.int64)
    for seg in prev.segments:
        counts[:len(seg.postings.indptr) - 1] += np.diff(seg.postings.indptr)
    counts[:len(prev.df)] -= prev.df
    terms: list[str] = []
    for i in np.setdiff1d(deleted, before).tolist():
        record = json.loads(large.record(i))
        terms.extend(analyzer.counts(record["text"]).keys()
                     | analyzer.counts(record["title"]).keys())
    ids = prev.terms.find_all(terms)
    if (ids < 0).any():  # (not the terms it was indexed with: count them in the segment)
        return large.term_counts(deleted, n_terms)
    counts += np.bincount(ids, minlength=n_terms)
    return counts


def _sources(prev: Generation | None, moved: list[_Member], new: _NewNotes) -> list:
    """The segments the ``moved`` notes come from -- the previous generation's and the flushed
    ones -- as segment_mod.merge takes them: where each of their notes goes among ``moved``."""
    where = np.fromiter((-1 if m.segment is None else m.segment for m in moved), np.int64,
                        count=len(moved))
    number = np.fromiter((m.number for m in moved), np.int64, count=len(moved))
    sources = []
    for s in sorted(set(where.tolist()) - {-1}):
        assert prev is not None  # (a note from a previous segment)
        numbers = np.full(prev.segments[s].n_docs, -1, dtype=np.int64)
        mine = np.flatnonzero(where == s)
        numbers[number[mine]] = mine
        sources.append((prev.path, prev.segments[s].name, numbers))
    analysed = np.flatnonzero(where == -1)
    piece = np.searchsorted(new.starts, number[analysed], side="right") - 1
    for j, name in enumerate(new.flushed):
        numbers = np.full(new.starts[j + 1] - new.starts[j], -1, dtype=np.int64)
        mine = analysed[piece == j]
        numbers[number[mine] - new.starts[j]] = mine
        sources.append((new.gen, name, numbers))
    return sources


def load_fresh(corpus: str | os.PathLike, index_dir: str | os.PathLike, say=print,
               progress=None) -> Generation:
    """The index, first built or brought up to date if it is missing, stale or unusable.

    ``say`` receives one line about what was done, ``progress`` the build's (see build). When
    the index can't be written (read-only location) an existing index is used as it is.
    """
    scan = notes_mod.scan(corpus)
    data = None
    try:
        data = generation.load(index_dir)
        data.analyzer()
        reason = data.manifest.stale_reason(scan)
    except IndexUnusable as err:
        reason = str(err)
    if reason is None:
        assert data is not None  # (loaded: else reason says why not)
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
    return generation.load(index_dir)
