"""``notebot import``: a note service's export turned into Markdown notes in the corpus.

Each format's reader yields Posts; ``write`` turns them into one note per post under a folder of
the corpus. The same post always lands in the same file (named from the post's id in the
source), so importing again changes only what changed; posts gone from the export are reported
and kept (removed with ``prune``). Nothing is ever written outside the folder: every file name
is made from the post's id and title, cleaned, and checked to resolve inside it.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import Iterable
from pathlib import Path

from index import write_atomic

from . import esa, hatena, kibela, notion, obsidian, qiita, scrapbox, wordpress
from .common import ExportUnreadable, Post, Report, clean_name, inside

__all__ = ["FORMATS", "ExportUnreadable", "Post", "Report", "run", "write"]

# Each format's reader: the export at a path → its Posts (see common.py), warnings and counts in
# the Report.
READERS = {"esa": esa.read, "kibela": kibela.read, "qiita": qiita.read,
           "scrapbox": scrapbox.read, "notion": notion.read, "obsidian": obsidian.read,
           "hatena": hatena.read, "wordpress": wordpress.read}
FORMATS = tuple(READERS)
# Where the importer remembers which post it wrote to which file (hidden: never a note).
RECORD = ".notebot-import.json"


def file_name(post: Post) -> str:
    """The post's file, relative to the import folder: its folder, then its title and a short
    hash of its key (so that two posts with one title never meet), cleaned of anything that
    could leave the folder or confuse a file system."""
    parts = [clean_name(p) for p in post.folder.split("/")]
    digest = hashlib.blake2b(post.key.encode("utf-8"), digest_size=4).hexdigest()
    name = f"{clean_name(post.title) or 'untitled'}-{digest}.md"
    return "/".join([p for p in parts if p] + [name])


def write(posts: Iterable[Post], into: Path, include_drafts: bool = False,
          prune: bool = False, report: Report | None = None) -> Report:
    """Write ``posts`` as notes under ``into``; see the module's docstring."""
    started = time.perf_counter()
    report = report or Report()
    into.mkdir(parents=True, exist_ok=True)
    root = into.resolve()
    before = _read_record(into)
    now: dict[str, str] = {}
    written: set[str] = set()
    for post in posts:
        if post.draft and not include_drafts:
            report.drafts += 1
            continue
        rel = file_name(post)
        path = inside(root, rel)
        if path is None or path.suffix != ".md":
            report.warnings.append(f"{post.key}: skipped: its file would be outside {into}")
            continue
        if post.key in now or rel in written:
            report.warnings.append(f"{post.key}: skipped: the export holds it twice")
            continue
        now[post.key] = rel
        written.add(rel)
        data = post.markdown().encode("utf-8")
        old = before.get(post.key)
        if old and old != rel and (gone := inside(root, old)) and gone.is_file():
            gone.unlink()  # retitled: the new name replaces the old one
        try:
            same = path.read_bytes() == data
        except OSError:
            same = False
        if same:
            report.unchanged += 1
            continue
        report.added += old is None
        report.changed += old is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    for key, rel in before.items():
        if key not in now:
            if prune and (gone := inside(root, rel)) and gone.is_file():
                gone.unlink()
                report.pruned += 1
            else:
                report.gone.append(rel)
                now.setdefault(key, rel)
    write_atomic(into / RECORD, json.dumps(now, ensure_ascii=False, indent=1).encode())
    report.seconds = time.perf_counter() - started
    return report


def _read_record(into: Path) -> dict[str, str]:
    try:
        record = json.loads((into / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in record.items() if isinstance(k, str) and isinstance(v, str)} \
        if isinstance(record, dict) else {}


def run(fmt: str, source: Path, into: Path, include_drafts: bool = False,
        prune: bool = False) -> Report:
    """Import ``source`` (an export in ``fmt``) into the folder ``into``."""
    if fmt not in READERS:
        raise ExportUnreadable(f"unknown format {fmt}: choose one of {', '.join(FORMATS)}")
    if not source.exists():
        raise ExportUnreadable(f"{source} not found")
    report = Report()
    posts = READERS[fmt](source, report)
    first = next(posts, None)  # (an export that cannot be read says so before anything is written)
    return write(itertools.chain([first] if first else [], posts), into, include_drafts, prune,
                 report)
