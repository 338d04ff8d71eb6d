"""Scrapbox / Cosense: one JSON file ``{name, pages: [{title, created, updated, lines}]}``,
lines as strings or ``{text: ...}`` objects, the first being the title."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from .common import ExportUnreadable, Post, Report, epoch, json_records, url_part

# [** bold], [/ italic], [- strike], [link], [text https://…], [https://… text]: the text
_BRACKET = re.compile(r"\[(?:[*/\-!\"#%{}<>_~]+\s+)?([^\[\]]*)\]")
_URL = re.compile(r"https?://\S+")
_TAG = re.compile(r"(?<!\S)#([^\s#\[\]]+)")


def read(source: Path, report: Report) -> Iterator[Post]:
    """Posts of a project export: brackets become their text, indentation a bullet."""
    top: dict = {}
    n = -1
    for n, page in enumerate(json_records(source, "pages", top)):
        if not isinstance(page.get("title"), str):
            report.warnings.append(f"page {n}: skipped: no title")
            continue
        project = top.get("name")
        lines = [line.get("text", "") if isinstance(line, dict) else str(line)
                 for line in page.get("lines") or []]
        if lines and lines[0] == page["title"]:
            lines = lines[1:]
        tags = sorted({m for line in lines for m in _TAG.findall(line)})
        url = (f"https://scrapbox.io/{url_part(project)}/{url_part(page['title'])}"
               if isinstance(project, str) else None)
        yield Post(key=str(page.get("id") or page["title"]), title=page["title"],
                   body="\n".join(_line(line) for line in lines),
                   date=epoch(page.get("created")), tags=tags, url=url)
    if n < 0:
        raise ExportUnreadable(f"{source} is not a Scrapbox export (no \"pages\" list)")


def _line(line: str) -> str:
    indent = len(line) - len(line.lstrip(" \t\u3000"))
    text = _BRACKET.sub(_bracket_text, line.strip())
    return f"{'  ' * (indent - 1)}- {text}" if indent and text else text


def _bracket_text(m: re.Match) -> str:
    inner = m.group(1).strip()
    url = _URL.search(inner)
    if url:
        text = (inner[:url.start()] + inner[url.end():]).strip()
        return f"{text} ({url.group()})" if text else url.group()
    return inner
