"""Notion: the "Markdown & CSV" export is a ZIP, often of ZIPs (``Export-<uuid>.zip`` holding
``Export-<uuid>-Part-1.zip``…), of pages named ``Title <32 hex id>.md``; the sub-pages of a
page are in the folder ``Title <id>/`` beside it, and a teamspace's pages under its name. A
database is ``Name <id>.csv`` (its table, not a note) and the folder ``Name <id>/`` of its rows,
each a page. A page starts with ``# Title``; a row's properties follow as a paragraph of
``Property: value`` lines (``Created: 2023年4月1日 10:00``, ``Tags: a, b``). Images and other
files are attachments.

The id is the key (it stays the same from one export to the next) and never part of a title or
folder; a page named without one is keyed by its path."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from .common import ExportUnreadable, Post, Report, entries

_ID = re.compile(r"(?:^|\s+)([0-9a-f]{32})$")
# the folder a ZIP's pages sit in: Export-<uuid>, ExportBlock-<uuid>-Part-1 and the like
_WRAPPER = re.compile(r"Export(?:Block)?-[0-9a-f-]{36}(?:-Part-\d+)?", re.IGNORECASE)
_PROPERTY = re.compile(r"([^\s:#>*`|\[!\-][^:]{0,60}):(?: (.*))?")
# [text](target) and ![alt](target): a target with no scheme is a file of the export
_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(([^)\s]*)\)")
_DATE_KEYS = ("created", "created time", "作成日時", "作成日", "date", "日付")
_TAG_KEYS = ("tags", "tag", "タグ")
_AUTHOR_KEYS = ("created by", "作成者", "author")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_DATES = (re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日"),
          re.compile(r"(?P<y>\d{4})[/-](?P<m>\d{1,2})[/-](?P<d>\d{1,2})"),
          re.compile(r"(?P<m>[A-Za-z]+) (?P<d>\d{1,2}), (?P<y>\d{4})"))


def read(source: Path, report: Report) -> Iterator[Post]:
    """Posts of a workspace's export (the ZIP as Notion gives it, or unpacked)."""
    found = False
    for entry in entries(source, report):
        parts = [p for p in entry.path.parts[:-1]
                 if not p.lower().endswith(".zip") and not _WRAPPER.fullmatch(p)]
        name = entry.path.name
        if name.startswith(".") or "__MACOSX" in parts:
            continue
        if name.lower().endswith(".csv"):
            continue  # a database's table: its rows are the pages in its folder
        if not name.lower().endswith(".md"):
            report.attachments += 1
            continue
        page = entry.text(report)
        if page is None:
            continue
        found = True
        title, id_ = _split(name[:-3])
        yield _post(page, title, id_ or "/".join(parts + [name]),
                    "/".join(t for t in (_split(p)[0] for p in parts) if t), report)
    if not found:
        raise ExportUnreadable(f"{source} is not a Notion export (no Markdown page in it; "
                               "export as \"Markdown & CSV\")")


def _split(name: str) -> tuple[str, str | None]:
    """A file or folder name as its title and its 32-hex id (None when it has none)."""
    found = _ID.search(name)
    return (name[:found.start()].strip(), found.group(1)) if found else (name.strip(), None)


def _post(page: str, title: str, key: str, folder: str, report: Report) -> Post:
    lines = page.splitlines()
    if lines and lines[0].startswith("# "):
        title = lines.pop(0)[2:].strip() or title
    start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    end = start
    while end < len(lines) and _PROPERTY.fullmatch(lines[end]):
        end += 1
    meta: dict[str, str] = {}
    if end > start and (end == len(lines) or not lines[end].strip()):
        kept = []
        for line in lines[start:end]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if value and name not in meta and _use(name, value):
                meta[name] = value
            else:
                kept.append(line)
        lines[start:end] = kept
    date = next((_date(meta[k]) for k in _DATE_KEYS if k in meta), None)
    tags = next((meta[k] for k in _TAG_KEYS if k in meta), "")
    return Post(key=key, title=title or key, body=_links("\n".join(lines)), date=date,
                tags=[t.strip() for t in tags.split(",") if t.strip()],
                url=meta.get("url"), author=next((meta[k] for k in _AUTHOR_KEYS if k in meta),
                                                 None), folder=folder)


def _use(name: str, value: str) -> bool:
    """Whether a property line goes to the note's front matter (it leaves the body then)."""
    if name in _DATE_KEYS:
        return _date(value) is not None
    return name in _TAG_KEYS + _AUTHOR_KEYS or (name == "url" and "://" in value)


def _date(value: str) -> str | None:
    """YYYY-MM-DD from a date as Notion writes it: ``2023年4月1日 10:00``, ``2023/04/01``,
    ``April 1, 2023 10:00 AM``."""
    for pattern in _DATES:
        found = pattern.search(value)
        if not found:
            continue
        month = found.group("m")
        month = _MONTHS.index(month.lower()) + 1 if month.lower() in _MONTHS else \
            int(month) if month.isdigit() else 0
        if 1 <= month <= 12 and 1 <= int(found.group("d")) <= 31:
            return f"{found.group('y')}-{month:02d}-{int(found.group('d')):02d}"
    return None


def _links(body: str) -> str:
    """Links to other files of the export become their text, embedded images nothing (the
    files are counted as attachments); links to the web stay."""
    def local(m: re.Match) -> str:
        target = m.group(3)
        if "://" in target or target.startswith(("mailto:", "#")):
            return m.group(0)
        return "" if m.group(1) else m.group(2)

    return _LINK.sub(local, body)

