"""Hatena Blog: the Movable Type import/export text of the blog's export page, one file for
the whole blog. An entry is a header of ``KEY: value`` lines (AUTHOR, TITLE, BASENAME such as
``2019/05/01/120000``, STATUS ``Publish`` or ``Draft``, ALLOW COMMENTS, CONVERT BREAKS, DATE
as ``MM/DD/YYYY hh:mm:ss``, CATEGORY once per category, IMAGE), then sections that start
with a ``NAME:`` line and end with a ``-----`` line: BODY and EXTENDED BODY (HTML), EXCERPT,
KEYWORDS, and one COMMENT per comment (its own AUTHOR and DATE lines, then its text). A
``--------`` line ends the entry. The blog's address is not in the file, so posts have no
URL; comments are not part of the note."""
from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from index import MAX_NOTE_BYTES

from .common import ExportUnreadable, Post, Report, html_markdown, paragraphs

_HEADER = re.compile(r"([A-Z][A-Z0-9_ ]*): ?(.*)")
_KEYS = {"AUTHOR", "TITLE", "BASENAME", "STATUS", "ALLOW COMMENTS", "ALLOW PINGS",
         "CONVERT BREAKS", "DATE", "PRIMARY CATEGORY", "CATEGORY", "TAGS", "IMAGE", "NO ENTRY"}
_SECTIONS = {"BODY", "EXTENDED BODY", "EXCERPT", "KEYWORDS", "COMMENT", "PING"}
_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})\b")
_LINE = 1 << 16  # the longest piece read at once: a line without end never fills memory


@dataclass
class _Entry:
    line: int
    fields: dict[str, list[str]] = field(default_factory=dict)
    body: list[str] = field(default_factory=list)  # BODY then EXTENDED BODY, as read
    size: int = 0
    has_body: bool = False
    odd: list[int] = field(default_factory=list)  # header lines that are not "KEY: value"

    def first(self, key: str) -> str:
        return (self.fields.get(key) or [""])[0]


def read(source: Path, report: Report) -> Iterator[Post]:
    """Posts of an export, read line by line (one entry in memory at a time). Drafts are
    drafts; images in the HTML are attachments."""
    try:
        f = open(source, encoding="utf-8-sig", errors="replace")
    except OSError as err:
        raise ExportUnreadable(f"cannot read {source}: {err.strerror or err}") from None
    with f:
        for entry in _entries(f, source):
            post = _post(entry, report)
            if post:
                yield post


def _entries(f, source: Path) -> Iterator[_Entry]:
    entry: _Entry | None = None
    section: str | None = None
    seen = False
    for n, raw in enumerate(iter(lambda: f.readline(_LINE), ""), 1):
        line = raw.rstrip("\r\n")
        if line == "--------":
            if entry:
                yield entry
            entry = section = None
            continue
        if section is not None:
            if line == "-----":
                section = None
            elif section in ("BODY", "EXTENDED BODY") and entry.size <= MAX_NOTE_BYTES:
                entry.body.append(raw)
                entry.size += len(raw.encode("utf-8"))
            continue
        if line == "-----" or not line.strip():
            continue
        if line.endswith(":") and line[:-1] in _SECTIONS:
            section = line[:-1]
        header = None if section else _HEADER.fullmatch(line)
        if not seen and not section and not (header and header[1] in _KEYS):
            raise ExportUnreadable(f"{source} is not a Movable Type export (Hatena Blog's): "
                                   f"line {n} is not a header such as \"TITLE: …\"")
        seen = True
        entry = entry or _Entry(n)
        if section == "EXTENDED BODY" and entry.body:
            entry.body.append("\n")
        entry.has_body |= section == "BODY"
        if header:
            entry.fields.setdefault(header[1], []).append(header[2].strip())
        elif not section:
            entry.odd.append(n)
    if entry:
        yield entry
    if not seen:
        raise ExportUnreadable(f"{source} is not a Movable Type export (Hatena Blog's): "
                               "no entry in it")


def _post(entry: _Entry, report: Report) -> Post | None:
    where = f"entry at line {entry.line}"
    if not entry.has_body:
        report.warnings.append(f"{where}: skipped: no BODY section")
        return None
    if entry.size > MAX_NOTE_BYTES:
        report.warnings.append(f"{where}: skipped: larger than {MAX_NOTE_BYTES // 2**20} MB")
        return None
    if entry.odd:
        report.warnings.append(f"{where}: line {entry.odd[0]} is not a \"KEY: value\" line "
                               f"(left out)")
    html = "".join(entry.body)
    if entry.first("CONVERT BREAKS") in ("1", "__default__", "convert_breaks"):
        html = paragraphs(html)  # plain text whose line breaks are the paragraphs
    date = _DATE.match(entry.first("DATE"))
    day = (f"{date[3]}-{int(date[1]):02}-{int(date[2]):02}"
           if date and 1 <= int(date[1]) <= 12 and 1 <= int(date[2]) <= 31 else None)
    basename, title = entry.first("BASENAME"), entry.first("TITLE")
    tags: list[str] = []
    for tag in [*entry.fields.get("PRIMARY CATEGORY", []), *entry.fields.get("CATEGORY", []),
                *(t for v in entry.fields.get("TAGS", []) for t in next(csv.reader([v])))]:
        if tag.strip() and tag.strip() not in tags:
            tags.append(tag.strip())
    return Post(key=basename or f"{title} {day or ''}".strip(),
                title=title or basename or day or "untitled",
                body=html_markdown(html, report), date=day, tags=tags,
                author=entry.first("AUTHOR") or None,
                draft=entry.first("STATUS").lower() not in ("", "publish"))
