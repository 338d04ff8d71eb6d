"""esa: a ZIP (or its unpacked folder) of Markdown posts laid out by category, such as
``開発/インフラ/123.html.md``, each with front matter ``title``, ``category`` (``a/b/c``),
``tags`` (a list or one comma-separated string), ``created_at``, ``updated_at``, ``published``
(false for a WIP post) and ``number``. Files other than posts and the images in a body are
attachments. The export holds no post's URL; a ``url`` in the front matter is kept."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from .common import (ExportUnreadable, Post, Report, day, entries, markdown_files,
                     tag_list, text, without_images)

_SUFFIX = re.compile(r"(?:\.html)?\.(?:md|markdown)$", re.IGNORECASE)


def read(source: Path, report: Report) -> Iterator[Post]:
    """Posts of a team's export: the category is the folder, the number the key."""
    found = False
    for entry, meta, body in markdown_files(entries(source, report), report):
        rel = entry.path
        if "title" not in meta or not {"number", "published"} & meta.keys():
            report.warnings.append(f"{entry.name}: skipped: no esa front matter "
                                   "(title, number, published)")
            continue
        found = True
        number = text(meta.get("number"))
        yield Post(key=number or rel.as_posix(),
                   title=text(meta.get("title")) or _SUFFIX.sub("", rel.name),
                   body=without_images(body, report), date=day(meta.get("created_at")),
                   tags=tag_list(meta.get("tags")), url=text(meta.get("url")),
                   folder=text(meta.get("category")) or "",
                   draft=meta.get("published") in (False, "false"))
    if not found:
        raise ExportUnreadable(f"{source} is not an esa export (no Markdown post with esa's "
                               "front matter: title, number, published)")
