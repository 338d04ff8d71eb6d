"""Analysis of note files, in worker processes when there are enough of them: each note read,
parsed, analysed into term counts and a stored record, its terms numbered by the process that met
them (the build maps those numbers onto the index's)."""
from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from . import notes as notes_mod
from .analyzer import Analyzer

# Below this many notes to analyse, worker processes cost more than they save: starting them
# from the fork server takes longer than one core needs for that many notes.
PARALLEL_MIN_NOTES = 500
# Each worker gets its notes in about this many tasks, so that the workers finish together; at
# most MAX_CHUNK_NOTES (a second or so of work). Not many more: each task's result is sent back
# whole (its notes' counts, records, and the terms the worker had not sent before).
CHUNKS_PER_WORKER = 16
MAX_CHUNK_NOTES = 1000


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
class Analysed:
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


def _analyze_files(analyzer: Analyzer, numbers: _TermNumbers, jobs: list) -> Analysed:
    """Read, parse and analyse ``jobs`` (file, hash it had or None); a file whose hash is
    unchanged is not analysed again."""
    keys: list[str]
    counts: list[int]
    out, keys, counts = Analysed(numbers.process, len(numbers)), [], []
    for info, old_hash in jobs:
        data, reason = notes_mod.read_bytes(info)
        digest = notes_mod.content_hash(data) if data is not None else None
        out.hashes.append(digest)
        out.reasons.append(reason)
        out.fresh.append(data is not None and digest != old_hash)
        if not out.fresh[-1]:
            continue
        assert data is not None  # (a fresh note is one that was read)
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


def _analyze_in_worker(jobs: list) -> Analysed:
    assert _worker is not None  # (set by _start_worker, the pool's initializer)
    return _analyze_files(*_worker, jobs)


def analyze_all(analyzer: Analyzer, jobs: list, workers: int):
    """``Analysed`` for consecutive slices of ``jobs``, in order; on ``workers`` processes
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
