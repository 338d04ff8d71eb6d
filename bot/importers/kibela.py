"""Kibela: one ZIP or more (given one by one, or as the folder holding them), each with a top
folder ``kibela-<team>-<n>/`` holding ``notes/`` (``blogs/`` and ``wikis/`` in older exports,
wikis in subfolders) of ``<number>-<title>.md`` and ``attachments/``. A note's front matter
has ``id``, ``path`` (``/notes/123``, its URL on ``<team>.kibe.la``), ``author``
(``@account``), ``folders`` (``Group / Folder/Sub``), ``groups``, ``published_at`` (empty for
a draft), ``updated_at``, ``archived_at`` and ``comments``; the body starts with ``# Title``.
Archived notes count as drafts; files other than notes and the images in a body are
attachments."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from .common import (ExportUnreadable, Entry, Post, Report, day, entries, markdown_files,
                     text, without_images)

_TOP = re.compile(r"kibela-(.+)-\d+")
_TITLE = re.compile(r"\s*# +([^\n]*)\n?")
_MARKS = {"id", "path", "published_at"}


def read(source: Path, report: Report) -> Iterator[Post]:
    """Notes of a team's export: the first of its folders is the note's folder (else the
    folder it has in the export), its id the key."""
    found = False
    for entry, meta, body in markdown_files(_entries(source, report), report):
        team, rel = _team(entry.path)
        if not _MARKS <= meta.keys():
            report.warnings.append(f"{entry.name}: skipped: no Kibela front matter "
                                   "(id, path, published_at)")
            continue
        found = True
        heading = _TITLE.match(body)
        title = heading.group(1).strip() if heading else ""
        body = body[heading.end():] if heading else body
        path = text(meta.get("path"))
        published = text(meta.get("published_at"))
        folders = meta.get("folders")
        folder = (str(folders[0]) if isinstance(folders, list) and folders
                  else rel.parent.as_posix())
        yield Post(key=text(meta.get("id")) or path or rel.as_posix(),
                   title=title or _name(rel), body=without_images(body, report),
                   date=day(published),
                   url=f"https://{team}.kibe.la{path}" if team and path
                   and path.startswith("/") else None,
                   author=(text(meta.get("author")) or "").lstrip("@") or None,
                   folder="/".join(p.strip() for p in folder.split("/")),
                   draft=not published or text(meta.get("archived_at")) is not None)
    if not found:
        raise ExportUnreadable(f"{source} is not a Kibela export (no Markdown note with "
                               "Kibela's front matter: id, path, published_at)")


def _entries(source: Path, report: Report) -> Iterator[Entry]:
    """The entries of the export, and of each ZIP in it when it is a folder of ZIPs."""
    for entry in entries(source, report):
        if not (source.is_dir() and entry.name.lower().endswith(".zip")):
            yield entry
            continue
        try:
            yield from entries(source / entry.name, report)
        except ExportUnreadable as err:
            report.warnings.append(f"{entry.name}: skipped: {err}")


def _team(path: PurePosixPath) -> tuple[str | None, PurePosixPath]:
    """The team a ``kibela-<team>-<n>`` folder on ``path`` names, and the path inside it
    (the same note can be in another of the numbered ZIPs next time)."""
    for n, part in enumerate(path.parts[:-1]):
        if m := _TOP.fullmatch(part):
            return m.group(1), PurePosixPath(*path.parts[n + 1:])
    return None, path


def _name(rel: PurePosixPath) -> str:
    """The title in a file name ``<number>-<title>.md`` (spaces written as underscores)."""
    stem = rel.stem
    number, dash, rest = stem.partition("-")
    return (rest if dash and number.isdigit() else stem).replace("_", " ")
