"""What every reader shares: the Post it yields, the Report it fills, and the parsing of the
pieces exports are made of (ZIP or folder entries, JSON, YAML front matter, HTML, dates)."""
from __future__ import annotations

import json
import shutil
import stat
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import quote

import frontmatter
import yaml
from markdownify import MarkdownConverter

from index.notes import MAX_NOTE_BYTES


class ExportUnreadable(Exception):
    """The export cannot be read at all; the message says why (exit status 2)."""


@dataclass
class Post:
    """One post of an export, as a note: ``key`` identifies it in the source."""

    key: str
    title: str
    body: str
    date: str | None = None
    tags: list[str] = field(default_factory=list)
    url: str | None = None
    author: str | None = None
    folder: str = ""
    draft: bool = False

    def markdown(self) -> str:
        front = {"title": self.title}
        front.update((k, v) for k, v in (("date", self.date), ("tags", self.tags),
                                         ("url", self.url), ("author", self.author)) if v)
        meta = yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
        return f"---\n{meta}---\n{self.body.strip()}\n"


@dataclass
class Report:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    drafts: int = 0
    attachments: int = 0
    gone: list[str] = field(default_factory=list)
    pruned: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self, fmt: str) -> str:
        gone = (f", {self.pruned} removed" if self.pruned else
                f", {len(self.gone)} gone from the export (kept; --prune removes them)"
                if self.gone else "")
        return (f"import {fmt}: {self.added} added, {self.changed} changed, {self.unchanged} "
                f"unchanged, {self.drafts} drafts skipped, {self.attachments} attachments "
                f"skipped{gone} in {self.seconds:.2f}s")


# ---------------------------------------------------------------- entries of a ZIP or folder

@dataclass
class Entry:
    """A file of an export: its path inside the export (``/``-separated), its size, and a way
    to read it that never holds more than one note's worth of bytes."""

    name: str
    size: int
    _open: object

    @property
    def path(self) -> PurePosixPath:
        return PurePosixPath(self.name)

    def text(self, report: Report) -> str | None:
        """The entry as text (UTF-8, a BOM dropped), or None with a warning when it is larger
        than a note may be or cannot be read."""
        if self.size > MAX_NOTE_BYTES:
            report.warnings.append(f"{self.name}: skipped: larger than "
                                   f"{MAX_NOTE_BYTES // 2**20} MB")
            return None
        try:
            with self._open() as f:
                data = f.read(MAX_NOTE_BYTES + 1)
        except (OSError, zipfile.BadZipFile, EOFError, RuntimeError) as err:
            report.warnings.append(f"{self.name}: skipped: cannot be read ({err})")
            return None
        if len(data) > MAX_NOTE_BYTES:
            report.warnings.append(f"{self.name}: skipped: larger than "
                                   f"{MAX_NOTE_BYTES // 2**20} MB")
            return None
        return data.decode("utf-8-sig", errors="replace")

    def open(self):
        """A binary file object for streaming parsers (JSON, XML)."""
        return self._open()


def entries(source: Path, report: Report) -> Iterator[Entry]:
    """The files of an export given as a ZIP (ZIPs inside it opened in turn, as Notion nests
    them) or as an unpacked folder, in name order. Entries with absolute names, ``..`` parts
    or that are links are skipped with a warning: nothing in an export names a place outside
    it. Only the ZIP's directory is read up front; each entry is read when asked for."""
    if source.is_dir():
        yield from _folder(source, report)
        return
    try:
        archive = zipfile.ZipFile(source)
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise ExportUnreadable(f"{source} is not a readable ZIP file ({err})") from None
    with archive:
        yield from _zip(archive, "", report)


def _zip(archive: zipfile.ZipFile, outer: str, report: Report) -> Iterator[Entry]:
    for info in sorted(archive.infolist(), key=lambda i: i.filename):
        name = outer + info.filename
        if info.is_dir():
            continue
        if not _safe(info.filename) or stat.S_ISLNK(info.external_attr >> 16):
            report.warnings.append(f"{name}: skipped: it names a place outside the export")
            continue
        if info.filename.lower().endswith(".zip"):
            # Copied out first: read in place, each step back in the compressed inner ZIP
            # would decompress it again from its start.
            try:
                with tempfile.TemporaryFile() as copy:
                    with archive.open(info) as f:
                        shutil.copyfileobj(f, copy)
                    with zipfile.ZipFile(copy) as inner:
                        yield from _zip(inner, name + "/", report)
            except (OSError, zipfile.BadZipFile, EOFError, RuntimeError) as err:
                report.warnings.append(f"{name}: skipped: not a readable ZIP file ({err})")
            continue
        yield Entry(name, info.file_size, lambda info=info: archive.open(info))


def _folder(root: Path, report: Report) -> Iterator[Entry]:
    top = root.resolve()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink() and not path.resolve().is_relative_to(top):
            report.warnings.append(f"{rel}: skipped: a link to outside the export")
            continue
        if path.is_file():
            yield Entry(rel, path.stat().st_size, lambda path=path: open(path, "rb"))


def _safe(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return not name.startswith(("/", "\\")) and ".." not in parts and ":" not in parts[0]


# ---------------------------------------------------------------- pieces of posts

def json_file(source: Path):
    """A whole JSON file, or ExportUnreadable saying why not."""
    try:
        with open(source, encoding="utf-8-sig") as f:
            return json.load(f)
    except OSError as err:
        raise ExportUnreadable(f"cannot read {source}: {err.strerror or err}") from None
    except (ValueError, RecursionError) as err:
        raise ExportUnreadable(f"{source} is not valid JSON ({str(err).splitlines()[0]})") from None


def front_matter(text: str) -> tuple[dict, str]:
    """A Markdown file's YAML front matter and body (no front matter where it cannot be read)."""
    try:
        post = frontmatter.loads(text)
    except (yaml.YAMLError, ValueError, TypeError):
        return {}, text
    return (post.metadata if isinstance(post.metadata, dict) else {}), post.content


class _Converter(MarkdownConverter):
    """markdownify's converter, with images left out and counted (they are attachments)."""

    def __init__(self, **options):
        super().__init__(heading_style="ATX", bullets="-", **options)
        self.images = 0

    def convert_img(self, el, text, *args, **kwargs):
        self.images += 1
        return el.attrs.get("alt") or ""


def html_markdown(html: str, report: Report) -> str:
    """Readable Markdown from a post's HTML; scripts and styles dropped, images counted in
    the report as attachments and replaced by their alt text."""
    converter = _Converter()
    text = converter.convert(html)
    report.attachments += converter.images
    return text.strip()


def epoch(value) -> str | None:
    """A date (YYYY-MM-DD, UTC) from seconds since 1970, or None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return time.strftime("%Y-%m-%d", time.gmtime(value))
    return None


def text(value) -> str | None:
    """A front-matter value as a stripped string, or None for nothing, lists and tables."""
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value).strip() or None


def tag_list(value) -> list[str]:
    """Tags given as a list, or as one string separated by commas or spaces."""
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list):
        return []
    return [str(t).strip() for t in value if t is not None and str(t).strip()]


def url_part(text: str) -> str:
    """``text`` as one URL path segment (spaces as underscores, as Scrapbox writes them)."""
    return quote(text.replace(" ", "_"), safe="")
