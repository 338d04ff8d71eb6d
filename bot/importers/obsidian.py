"""Obsidian: a vault is a folder of Markdown files with YAML properties, ``#tags`` and
``[[wikilinks]]``; ``.obsidian/`` (settings) and other hidden files are not notes."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from index import NOTE_SUFFIXES

from .common import (ExportUnreadable, Post, Report, entries, markdown_files, tag_list,
                     text)

_WIKILINK = re.compile(r"(!?)\[\[([^\]|#]*)(?:#[^\]|]*)?(?:\|([^\]]*))?\]\]")
_INLINE_TAG = re.compile(r"(?<![\w#&])#([^\s#\[\](){}.,;:!?、。]+)")


def read(source: Path, report: Report) -> Iterator[Post]:
    """Posts of a vault: ``[[links]]`` become their text; embeds and files other than notes
    are attachments."""
    if not source.is_dir():
        raise ExportUnreadable(f"{source} is not a folder; an Obsidian vault is the folder itself")
    shown = (e for e in entries(source, report)
             if not any(part.startswith(".") for part in e.path.parts))
    for entry, meta, body in markdown_files(shown, report, NOTE_SUFFIXES):
        rel = entry.path
        report.attachments += len([m for m in _WIKILINK.finditer(body) if m.group(1)])
        body = _WIKILINK.sub(lambda m: "" if m.group(1) else (m.group(3) or m.group(2)), body)
        tags = tag_list(meta.get("tags") or meta.get("tag") or [])
        tags += [t for t in _INLINE_TAG.findall(body) if t not in tags]
        yield Post(key=rel.as_posix(), title=str(meta.get("title") or rel.stem), body=body,
                   date=text(meta.get("date") or meta.get("created")), tags=tags,
                   url=text(meta.get("url") or meta.get("source")),
                   author=text(meta.get("author")), folder=rel.parent.as_posix(),
                   draft=meta.get("draft") is True or meta.get("publish") is False)
