"""The index on disk: building it (incrementally), publishing it atomically, loading it safely.

Layout of an index directory::

    CURRENT           name of the generation in use, replaced atomically when a build ends
    lock              held by the one build that may run at a time
    gen-000007/       one complete generation, never changed once published
        manifest.json     format, analyzer and scoring settings, notes with hashes, file sizes
        vocab.json        the terms; a term's position is its id
        docs.jsonl        one JSON object per note (title, text, url, ...); docs.offsets.npy
        tf_title.*.npy    per-note term counts (CSR), reused by the next incremental build
        tf_body.*.npy
        scores.*.npy      BM25F scores, terms × notes (CSR), what a question reads
        idf.npy

Nothing is pickled; every array is a ``.npy`` loaded with ``allow_pickle=False`` and memory-mapped.
A build writes a new generation next to the old one and only then points ``CURRENT`` at it, so a
build killed at any moment leaves the previous index in use, and a reader never sees half a build.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from . import notes as notes_mod
from .analyzer import Analyzer, from_settings
from .scoring import Params, bm25f

FORMAT = "notebot-index"
FORMAT_VERSION = 1
_GEN = re.compile(r"gen-(\d{6,})")
# Below this many notes to analyse, worker processes cost more than they save.
PARALLEL_MIN_NOTES = 64


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
class IndexData:
    """A loaded generation: what search needs, memory-mapped where it can be."""

    path: Path
    manifest: dict
    vocab: dict
    scores: sp.csr_matrix
    idf: np.ndarray
    offsets: np.ndarray
    docs_file: object

    @property
    def n_notes(self) -> int:
        return len(self.manifest["notes"])

    def doc(self, i: int) -> dict:
        """The stored record (path, title, text, url, date, tags) of note number ``i``."""
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        return json.loads(os.pread(self.docs_file.fileno(), end - start, start))

    def doc_by_path(self, path: str) -> dict | None:
        """The stored record of the note at ``path``, or None."""
        for i, note in enumerate(self.manifest["notes"]):
            if note["path"] == path:
                return self.doc(i)
        return None

    def close(self):
        self.docs_file.close()


# ---------------------------------------------------------------- files

def _fsync_dir(path: Path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_bytes(path: Path, data: bytes):
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _save_array(path: Path, array: np.ndarray):
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(array), allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


def _save_csr(folder: Path, name: str, m: sp.csr_matrix):
    for part in ("indptr", "indices", "data"):
        _save_array(folder / f"{name}.{part}.npy", getattr(m, part))


def _load_csr(folder: Path, name: str, shape) -> sp.csr_matrix:
    indptr, indices, data = (np.load(folder / f"{name}.{part}.npy", mmap_mode="r",
                                     allow_pickle=False)
                             for part in ("indptr", "indices", "data"))
    if (len(indptr) != shape[0] + 1 or indptr[0] != 0 or indptr[-1] != len(indices)
            or len(indices) != len(data)):
        raise IndexUnusable(f"{name} arrays do not fit together")
    if len(indices) and int(indices.max()) >= shape[1]:
        raise IndexUnusable(f"{name} refers to columns that do not exist")
    m = sp.csr_matrix(shape, dtype=data.dtype)
    m.indptr, m.indices, m.data = indptr, indices, data
    return m


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
    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
            raise IndexUnusable(f"{gen} has index format {manifest.get('format_version')}, "
                                f"this notebot reads {FORMAT_VERSION}")
        for name, size in manifest["files"].items():
            if (gen / name).stat().st_size != size:
                raise IndexUnusable(f"{gen / name} has the wrong size (damaged or truncated)")
        vocab_list = json.loads((gen / "vocab.json").read_text(encoding="utf-8"))
        n_notes, n_terms = len(manifest["notes"]), len(vocab_list)
        scores = _load_csr(gen, "scores", (n_terms, n_notes))
        idf = np.load(gen / "idf.npy", mmap_mode="r", allow_pickle=False)
        offsets = np.load(gen / "docs.offsets.npy", allow_pickle=False)
        if len(idf) != n_terms or len(offsets) != n_notes + 1:
            raise IndexUnusable(f"{gen}: arrays do not match the manifest")
        docs_file = open(gen / "docs.jsonl", "rb")
    except FileNotFoundError:
        raise
    except IndexUnusable:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise IndexUnusable(f"{gen} is damaged: {err}") from None
    return IndexData(gen, manifest, {t: i for i, t in enumerate(vocab_list)}, scores, idf,
                     offsets, docs_file)


def analyzer_for(data: IndexData) -> Analyzer:
    """The analyzer this index was made with; IndexUnusable if this installation differs."""
    try:
        return from_settings(data.manifest["analyzer"])
    except ValueError as err:
        raise IndexUnusable(str(err)) from None


def stale_reason(manifest: dict, scan: notes_mod.Scan) -> str | None:
    """Why the index no longer matches the corpus (None when it does)."""
    known = {n["path"]: (n["size"], n["mtime_ns"]) for n in manifest["notes"]}
    known.update({p: tuple(v) for p, v in manifest.get("skipped", {}).items()})
    found = {f.path: (f.size, f.mtime_ns) for f in scan.files}
    if found == known:
        return None
    added = found.keys() - known.keys()
    removed = known.keys() - found.keys()
    changed = [p for p in found.keys() & known.keys() if found[p] != known[p]]
    return f"{len(added)} new, {len(changed)} changed, {len(removed)} removed notes"


# ---------------------------------------------------------------- building

def _analyze(analyzer: Analyzer, info: notes_mod.FileInfo, data: bytes):
    note, warnings = notes_mod.parse(info.path, data)
    return note, Counter(analyzer(note.title)), Counter(analyzer(note.text)), warnings


def _analyze_job(args):
    analyzer, info, data = args
    return _analyze(analyzer, info, data)


def _analyze_all(analyzer: Analyzer, jobs: list, workers: int):
    if workers <= 1 or len(jobs) < PARALLEL_MIN_NOTES:
        return [_analyze(analyzer, info, data) for info, data in jobs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_analyze_job, [(analyzer, i, d) for i, d in jobs],
                             chunksize=max(1, len(jobs) // (workers * 8))))


def _lock(index_dir: Path):
    index_dir.mkdir(parents=True, exist_ok=True)
    f = open(index_dir / "lock", "a+")
    fcntl.flock(f, fcntl.LOCK_EX)
    return f


def _previous(index_dir: Path, analyzer: Analyzer, report: BuildReport):
    """The generation to build on, with its counts, or None for a full build."""
    try:
        data = load(index_dir)
    except IndexUnusable as err:
        if (index_dir / "CURRENT").exists():
            report.warnings.append(f"index unusable ({err}); rebuilding from scratch")
        return None
    try:
        if data.manifest["analyzer"] != analyzer.settings():
            report.warnings.append("analyzer changed since the last build; rebuilding from scratch")
            data.close()
            return None
        n_notes, n_terms = data.n_notes, len(data.vocab)
        tf_title = _load_csr(data.path, "tf_title", (n_notes, n_terms))
        tf_body = _load_csr(data.path, "tf_body", (n_notes, n_terms))
    except (IndexUnusable, OSError, ValueError) as err:
        report.warnings.append(f"index unusable ({err}); rebuilding from scratch")
        data.close()
        return None
    return data, tf_title, tf_body


def build(corpus: str | os.PathLike, index_dir: str | os.PathLike,
          analyzer: Analyzer | None = None, params: Params = Params(), full: bool = False,
          workers: int | None = None) -> BuildReport:
    """Bring the index in ``index_dir`` up to date with the notes under ``corpus``.

    Only new or changed notes (by size and mtime, then content hash) are analysed, unless
    ``full``. Builds are serialised by a lock; the new generation is published atomically.
    """
    started = time.perf_counter()
    analyzer = analyzer or Analyzer()
    index_dir = Path(index_dir)
    workers = workers or os.cpu_count() or 1
    report = BuildReport(full=full)
    lock = _lock(index_dir)
    prev = None
    try:
        scan = notes_mod.scan(corpus)
        report.warnings.extend(scan.warnings)
        prev = None if full else _previous(index_dir, analyzer, report)
        report.full = prev is None
        if prev is not None and stale_reason(prev[0].manifest, scan) is None:
            report.unchanged = prev[0].n_notes
            report.skipped = len(prev[0].manifest.get("skipped", {}))
            report.seconds = time.perf_counter() - started
            return report
        if prev is None:
            old_notes, vocab_list = {}, []
        else:
            old_notes = {n["path"]: (i, n) for i, n in enumerate(prev[0].manifest["notes"])}
            vocab_list = list(prev[0].vocab)

        entries, jobs, skipped = [], [], {}
        for info in scan.files:
            old = old_notes.get(info.path)
            if old and (old[1]["size"], old[1]["mtime_ns"]) == (info.size, info.mtime_ns):
                entries.append(("old", old[0], dict(old[1])))
                continue
            data, reason = notes_mod.read_bytes(info)
            if data is None:
                report.warnings.append(f"{info.path}: skipped: {reason}")
                skipped[info.path] = [info.size, info.mtime_ns]
                continue
            meta = {"path": info.path, "hash": notes_mod.content_hash(data),
                    "size": info.size, "mtime_ns": info.mtime_ns}
            if old and old[1]["hash"] == meta["hash"]:
                entries.append(("old", old[0], meta))
            else:
                entries.append(("new", len(jobs), meta))
                jobs.append((info, data))
                if old:
                    report.changed += 1
                else:
                    report.added += 1
        report.skipped = len(skipped)
        report.removed = len(old_notes.keys() - {e[2]["path"] for e in entries})
        report.unchanged = len(entries) - len(jobs)

        analysed = _analyze_all(analyzer, jobs, workers)
        vocab = {t: i for i, t in enumerate(vocab_list)}
        new_rows = []
        for note, title_counts, body_counts, warnings in analysed:
            report.warnings.extend(warnings)
            new_rows.append((note, _row(title_counts, vocab), _row(body_counts, vocab)))
        vocab_list.extend(list(vocab)[len(vocab_list):])

        gen = _publish(index_dir, analyzer, params, entries, new_rows, prev, vocab_list, skipped)
        _remove_old_generations(index_dir, keep={gen.name, prev[0].path.name if prev else ""})
    finally:
        if prev is not None:
            prev[0].close()
        lock.close()
    report.seconds = time.perf_counter() - started
    return report


def _row(counts: Counter, vocab: dict) -> tuple[np.ndarray, np.ndarray]:
    ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in counts), dtype=np.int32,
                      count=len(counts))
    values = np.fromiter(counts.values(), dtype=np.int32, count=len(counts))
    order = np.argsort(ids)
    return ids[order], values[order]


def _stack(rows: list, n_terms: int) -> sp.csr_matrix:
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(ids) for ids, _ in rows])
    indices = np.concatenate([ids for ids, _ in rows]) if rows else np.zeros(0, np.int32)
    data = np.concatenate([v for _, v in rows]) if rows else np.zeros(0, np.int32)
    return sp.csr_matrix((data, indices, indptr), shape=(len(rows), n_terms))


def _counts(entries, new_rows, old_matrix, field_index: int, n_terms: int) -> sp.csr_matrix:
    rows = []
    for kind, i, _ in entries:
        if kind == "new":
            rows.append(new_rows[i][field_index])
        else:
            lo, hi = old_matrix.indptr[i], old_matrix.indptr[i + 1]
            rows.append((np.asarray(old_matrix.indices[lo:hi]), np.asarray(old_matrix.data[lo:hi])))
    return _stack(rows, n_terms)


def _publish(index_dir: Path, analyzer, params, entries, new_rows, prev, vocab_list, skipped):
    n_terms = len(vocab_list)
    tf_title = _counts(entries, new_rows, prev and prev[1], 1, n_terms)
    tf_body = _counts(entries, new_rows, prev and prev[2], 2, n_terms)
    scores, term_idf = bm25f(tf_title, tf_body, params)

    gens = [int(m.group(1)) for p in index_dir.iterdir() if (m := _GEN.fullmatch(p.name))]
    gen = index_dir / f"gen-{max(gens, default=0) + 1:06d}"
    shutil.rmtree(gen, ignore_errors=True)
    gen.mkdir()

    offsets = [0]
    with open(gen / "docs.jsonl", "wb") as out:
        for kind, i, _ in entries:
            if kind == "new":
                note = new_rows[i][0]
                line = json.dumps({"path": note.path, "title": note.title, "url": note.url,
                                   "date": note.date, "tags": list(note.tags), "text": note.text},
                                  ensure_ascii=False).encode("utf-8") + b"\n"
            else:
                data = prev[0]
                line = os.pread(data.docs_file.fileno(),
                                int(data.offsets[i + 1] - data.offsets[i]), int(data.offsets[i]))
            out.write(line)
            offsets.append(offsets[-1] + len(line))
        out.flush()
        os.fsync(out.fileno())
    _save_array(gen / "docs.offsets.npy", np.asarray(offsets, dtype=np.int64))
    _save_csr(gen, "tf_title", tf_title)
    _save_csr(gen, "tf_body", tf_body)
    _save_csr(gen, "scores", scores)
    _save_array(gen / "idf.npy", term_idf)
    _write_bytes(gen / "vocab.json", json.dumps(vocab_list, ensure_ascii=False).encode("utf-8"))

    titles = {}
    for kind, i, meta in entries:
        titles[meta["path"]] = (new_rows[i][0].title if kind == "new"
                                else prev[0].manifest["notes"][i]["title"])
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "analyzer": analyzer.settings(), "scoring": params.to_dict(),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "notes": [dict(meta, title=titles[meta["path"]]) for _, _, meta in entries],
        "skipped": skipped,
        "files": {p.name: p.stat().st_size for p in sorted(gen.iterdir())},
    }
    _write_bytes(gen / "manifest.json", json.dumps(manifest, ensure_ascii=False).encode("utf-8"))
    _fsync_dir(gen)
    write_atomic(index_dir / "CURRENT", gen.name.encode("utf-8"))
    return gen


def _remove_old_generations(index_dir: Path, keep: set[str]):
    """Drop every generation but ``keep`` (the new one, and the one before it, which a reader
    may still be opening) -- including half-written ones left by killed builds."""
    for p in index_dir.iterdir():
        if _GEN.fullmatch(p.name) and p.name not in keep:
            shutil.rmtree(p, ignore_errors=True)


def load_fresh(corpus: str | os.PathLike, index_dir: str | os.PathLike, say=print) -> IndexData:
    """The index, first built or brought up to date if it is missing, stale or unusable.

    ``say`` receives one line about what was done. When the index can't be written (read-only
    location) an existing index is used as it is.
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
        report = build(corpus, index_dir)
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
