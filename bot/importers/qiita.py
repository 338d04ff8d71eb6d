"""Qiita Team: the team's export is a ZIP with ``articles/<id>.json`` (one article each), beside
``groups/`` and ``projects/``. An article has ``id``, ``title``, ``body`` (Markdown),
``rendered_body`` (HTML), ``tags`` (``[{name, versions}]``), ``created_at``, ``updated_at``,
``url``, ``user`` (``{id, name}``), ``group`` (set when only a group may read it), ``private``
and ``comments``. Older exports are one JSON file: a list of articles, or an object whose
``articles`` is that list; it can be large, so it is read one article at a time.

The group is the note's folder (a group's articles stay apart from the team's); a private
article (Qiita's link-only sharing) is a draft; comments follow the body."""
from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

from .common import (ExportUnreadable, Post, Report, day, entries, html_markdown,
                     json_records, text)

def read(source: Path, report: Report) -> Iterator[Post]:
    """Posts of a team's export: the ZIP (or its unpacked folder), or an old single JSON."""
    if source.is_dir() or source.suffix.lower() == ".zip" or zipfile.is_zipfile(source):
        yield from _archive(source, report)
        return
    found = False
    for n, article in enumerate(json_records(source, "articles")):
        found = True
        if post := _post(article, f"article {n}", report):
            yield post
    if not found:
        raise ExportUnreadable(f"{source} is not a Qiita Team export (no list of articles, nor "
                               "an object with \"articles\")")


def _archive(source: Path, report: Report) -> Iterator[Post]:
    found = False
    for entry in entries(source, report):
        if entry.path.parent.name != "articles" or entry.path.suffix.lower() != ".json":
            continue
        found = True
        data = entry.text(report)
        if data is None:
            continue
        try:
            article = json.loads(data)
        except (ValueError, RecursionError) as err:
            report.warnings.append(f"{entry.name}: skipped: not valid JSON "
                                   f"({str(err).splitlines()[0]})")
            continue
        if post := _post(article, entry.name, report):
            yield post
    if not found:
        raise ExportUnreadable(f"{source} is not a Qiita Team export (no articles/*.json in it)")


def _post(article, where: str, report: Report) -> Post | None:
    if not isinstance(article, dict) or not text(article.get("id")) \
            or not text(article.get("title")):
        report.warnings.append(f"{where}: skipped: not an article (no id or title)")
        return None
    body = article.get("body")
    if not isinstance(body, str) or not body.strip():
        html = article.get("rendered_body")
        body = html_markdown(html, report) if isinstance(html, str) else ""
    user = article.get("user") if isinstance(article.get("user"), dict) else {}
    group = article.get("group") if isinstance(article.get("group"), dict) else {}
    tags = article.get("tags") if isinstance(article.get("tags"), list) else []
    tags = [t.get("name") if isinstance(t, dict) else t for t in tags]
    return Post(key=text(article["id"]), title=text(article["title"]),
                body=body.strip() + _comments(article.get("comments"), report),
                date=day(article.get("created_at")),
                tags=[t.strip() for t in tags if isinstance(t, str) and t.strip()],
                url=text(article.get("url")),
                author=text(user.get("name")) or text(user.get("id")),
                folder=text(group.get("name")) or "", draft=article.get("private") is True)


def _comments(comments, report: Report) -> str:
    """The comments as a section after the body: each its author's name, then its text."""
    parts = []
    for c in comments if isinstance(comments, list) else []:
        if not isinstance(c, dict):
            continue
        body = c.get("body")
        if not isinstance(body, str) or not body.strip():
            html = c.get("rendered_body")
            body = html_markdown(html, report) if isinstance(html, str) else ""
        user = c.get("user") if isinstance(c.get("user"), dict) else {}
        who = text(user.get("name")) or text(user.get("id")) or "?"
        if body.strip():
            parts.append(f"**{who}**:\n\n{body.strip()}")
    return "\n\n## コメント\n\n" + "\n\n".join(parts) if parts else ""
