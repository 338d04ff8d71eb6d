"""What every reader shares: the Post it yields, the Report it fills, and the parsing of the
pieces exports are made of (ZIP or folder entries, JSON, YAML front matter, HTML, dates)."""
from __future__ import annotations

import re
import shutil
import stat
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import quote

import frontmatter
import ijson
import yaml
from ijson.common import ObjectBuilder
from markdownify import MarkdownConverter

from index import MAX_NOTE_BYTES


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


# ---------------------------------------------------------------- names and places in the corpus

_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def clean_name(part: str, max_bytes: int = 200) -> str:
    """A file or folder name from ``part``: no separators or control characters, no leading
    or trailing dots, and at most ``max_bytes`` bytes (file systems allow 255)."""
    part = " ".join(_UNSAFE.sub(" ", part).strip().strip(".").split())
    while len(part.encode("utf-8")) > max_bytes:
        part = part[:-1]
    return part.strip(". ")


def inside(root: Path, rel: str) -> Path | None:
    """``root / rel`` if it resolves inside ``root`` (links followed), else None."""
    root = root.resolve()
    path = (root / rel).resolve()
    return path if path.is_relative_to(root) else None


# ---------------------------------------------------------------- pieces of posts

# ![alt](src) and <img ... alt="alt" ...>: both become their alt text
_MARKDOWN_IMAGE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_HTML_IMAGE = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ALT = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
# esa's own alt text of an uploaded image, "image.png (50.0 kB)": a file name, not words
_FILE_ALT = re.compile(r"\S+\.(?:png|jpe?g|gif|webp|svg|bmp)(?:\s*\([^)]*\))?", re.IGNORECASE)
_DAY = re.compile(r"\d{4}-\d\d-\d\d")
_PRE = re.compile(r"(<pre\b.*?</pre>)", re.DOTALL | re.IGNORECASE)
_BLOCK = re.compile(r"\s*</?(?:p|div|h[1-6]|ul|ol|li|dl|pre|blockquote|table|figure|hr|"
                    r"address|section|article|aside|form|iframe)\b", re.IGNORECASE)


# A post is a few levels deep; an export nested deeper than this is not one, and refusing it
# keeps a hostile file from costing memory level by level.
_DEEPEST = 64


def json_records(source: Path, key: str, top: dict | None = None) -> Iterator[dict]:
    """The objects in a JSON file's list, built one at a time from the parser's events, so that
    the file is never in memory whole: the list is the whole file, or the value of the top
    object's ``key``. The top object's plain values (strings, numbers) go into ``top`` as they
    are met. ExportUnreadable when the file is not JSON, or is nested too deep."""
    try:
        f = open(source, "rb")
    except OSError as err:
        raise ExportUnreadable(f"cannot read {source}: {err.strerror or err}") from None
    with f:
        if f.read(3) != b"\xef\xbb\xbf":
            f.seek(0)
        yield from _records(f, source, key, {} if top is None else top)


def _records(f, source: Path, key: str, top: dict) -> Iterator[dict]:
    depth, level, name, builder = 0, None, None, None
    try:
        for event, value in ijson.basic_parse(f, use_float=True):
            if builder is not None:
                builder.event(event, value)
            elif event == "start_map" and depth == level:
                builder = ObjectBuilder()
                builder.event(event, value)
            elif event == "start_array" and level is None and (
                    depth == 0 or (depth == 1 and name == key)):
                level = depth + 1
            elif event == "map_key" and depth == 1:
                name = value
            elif depth == 1 and event in ("string", "number"):
                top[name] = value
            if event in ("start_map", "start_array"):
                depth += 1
                if depth > _DEEPEST:
                    raise ExportUnreadable(f"{source} is nested more than {_DEEPEST} levels "
                                           "deep: not an export")
            elif event in ("end_map", "end_array"):
                depth -= 1
                if builder is not None and depth == level:
                    yield builder.value
                    builder = None
    except ijson.JSONError as err:
        raise ExportUnreadable(f"{source} is not valid JSON "
                               f"({str(err).splitlines()[0]})") from None
    except OSError as err:
        raise ExportUnreadable(f"cannot read {source}: {err.strerror or err}") from None


def markdown_files(found: Iterable[Entry], report: Report,
                   suffixes: tuple[str, ...] = (".md", ".markdown")
                   ) -> Iterator[tuple[Entry, dict, str]]:
    """The Markdown files among ``found``, each with its front matter and body; the other files
    are counted as attachments, and those that cannot be read are warned about (Entry.text)."""
    for entry in found:
        if not entry.path.name.lower().endswith(suffixes):
            report.attachments += 1
            continue
        content = entry.text(report)
        if content is not None:
            meta, body = front_matter(content)
            yield entry, meta, body


def front_matter(text: str) -> tuple[dict, str]:
    """A Markdown file's YAML front matter and body (no front matter where it cannot be read)."""
    try:
        post = frontmatter.loads(text)
    except (yaml.YAMLError, ValueError, TypeError):
        return {}, text
    return (post.metadata if isinstance(post.metadata, dict) else {}), post.content


class _Converter(MarkdownConverter):
    """markdownify's converter, with images left out and counted (they are attachments), and
    ``_`` and ``*`` left as they are: identifiers such as fastcgi_read_timeout stay searchable."""

    def __init__(self, **options):
        super().__init__(heading_style="ATX", bullets="-", escape_underscores=False,
                         escape_asterisks=False, **options)
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


def day(value) -> str | None:
    """The day (YYYY-MM-DD, as written) a timestamp such as ``2024-04-01T10:00:00+09:00`` or
    ``2024-04-01 10:00:00 +0900`` names, or None."""
    found = _DAY.match(text(value) or "")
    return found.group() if found else None


def without_images(body: str, report: Report) -> str:
    """``body`` with each image replaced by its alt text, and counted as an attachment
    (esa and Kibela both write images as Markdown or as ``<img>`` tags)."""
    def alt(m: re.Match) -> str:
        report.attachments += 1
        if m.group(0).startswith("!"):
            words = m.group(1)
        else:
            found = _ALT.search(m.group(0))
            words = (found.group(1) or found.group(2) or "") if found else ""
        return "" if _FILE_ALT.fullmatch(words.strip()) else words.strip()

    return _HTML_IMAGE.sub(alt, _MARKDOWN_IMAGE.sub(alt, body))


def paragraphs(html: str) -> str:
    """HTML whose paragraphs are blank lines and whose line breaks are newlines (WordPress's
    classic editor, Movable Type's "convert breaks") with ``<p>`` and ``<br>`` written out;
    blocks that are already HTML, and ``<pre>``, are left as they are."""
    out = []
    for part in _PRE.split(html.replace("\r\n", "\n")):
        if _PRE.fullmatch(part):
            out.append(part)
            continue
        for block in re.split(r"\n\s*\n", part):
            if not block.strip():
                continue
            out.append(block if _BLOCK.match(block) else
                       "<p>" + block.strip().replace("\n", "<br>\n") + "</p>")
    return "\n\n".join(out)
