"""Reading notes: Markdown (or plain text) files with optional YAML front matter.

Bad files never stop a build: each problem becomes a warning naming the file and the reason, and
the file is read leniently (invalid UTF-8 replaced, broken front matter ignored) or skipped
(binary, unreadable, too large).
"""
from __future__ import annotations

import datetime
import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import frontmatter
import yaml
from markdown_it import MarkdownIt

NOTE_SUFFIXES = (".md", ".markdown", ".txt")
MAX_NOTE_BYTES = 32 * 1024 * 1024
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n.*?\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_markdown = MarkdownIt("commonmark").enable("table").enable("strikethrough")
# Control characters other than tab and line feed: a note must not drive the reader's terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Note:
    """One note, as indexed: identity (``path``), metadata, and its body as plain text."""

    path: str
    title: str
    text: str
    url: str | None = None
    date: str | None = None
    tags: tuple[str, ...] = ()


@dataclass
class FileInfo:
    """A note file found in the corpus: its identity and what tells a change without reading it."""

    path: str
    abspath: str
    size: int
    # The later of its modification and status-change times: any edit moves it, even one that
    # keeps the size and sets the modification time back (cp -p, touch -r, rsync -t).
    changed_ns: int


@dataclass
class Scan:
    """The note files under a corpus root, and what could not be looked at."""

    files: list[FileInfo] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def scan(root: str | os.PathLike) -> Scan:
    """Find note files under ``root``, following symlinks but never around a loop."""
    root = Path(root)
    result = Scan()
    seen_dirs, seen_paths = set(), set()

    def on_error(err: OSError):
        result.warnings.append(f"{err.filename}: skipped: {err.strerror or err}")

    top = os.fspath(root)
    prefix = len(os.path.join(top, ""))  # os.walk's paths start with it: no relpath per file
    for dirpath, dirnames, filenames in os.walk(top, onerror=on_error, followlinks=True):
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen_dirs:
            result.warnings.append(f"{dirpath}: skipped: directory link loop")
            dirnames[:] = []
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        folder = dirpath[prefix:].replace(os.sep, "/")
        folder, base = folder + "/" if folder else "", os.path.join(dirpath, "")
        for name in sorted(filenames):
            if name.startswith(".") or not name.lower().endswith(NOTE_SUFFIXES):
                continue
            abspath, rel = base + name, folder + name
            shown = rel if rel.isascii() else (
                rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
            if shown in seen_paths:  # (only names with invalid UTF-8 can meet another's)
                result.warnings.append(f"{shown}: skipped: another file's name reads the same "
                                       "once invalid UTF-8 is replaced; rename one of them")
                continue
            seen_paths.add(shown)
            if shown != rel:
                result.warnings.append(f"{shown}: file name is not valid UTF-8; indexed as shown")
                rel = shown
            try:
                st = os.stat(abspath)
            except OSError as err:
                result.warnings.append(f"{rel}: skipped: {err.strerror or err}")
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            result.files.append(FileInfo(rel, abspath, st.st_size,
                                           max(st.st_mtime_ns, st.st_ctime_ns)))
    return result


def content_hash(data: bytes) -> str:
    """The hash that tells whether a note changed."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def read_bytes(info: FileInfo) -> tuple[bytes | None, str | None]:
    """The file's bytes, or None and the reason it can't be a note."""
    if info.size > MAX_NOTE_BYTES:
        return None, f"larger than {MAX_NOTE_BYTES // (1024 * 1024)} MB"
    try:
        with open(info.abspath, "rb") as f:
            # As much as the scan saw, and more if it grew since: f.read(n) allocates n bytes
            # first, and notes are small (at 100k notes, reading 32 MB each was 15 % of a build).
            data = f.read(info.size + 1)
            if len(data) > info.size:
                data += f.read(MAX_NOTE_BYTES + 1 - len(data))
    except OSError as err:
        return None, f"cannot be read: {err.strerror or err}"
    if len(data) > MAX_NOTE_BYTES:
        return None, f"larger than {MAX_NOTE_BYTES // (1024 * 1024)} MB"
    if b"\x00" in data[:8192]:
        return None, "looks binary (NUL bytes)"
    return data, None


def parse(path: str, data: bytes) -> tuple[Note, list[str]]:
    """Make a Note from a file's bytes; problems are returned as warnings, never raised."""
    warnings = []
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        warnings.append(f"{path}: invalid UTF-8 at byte {err.start}; bad bytes replaced")
        raw = data.decode("utf-8-sig", errors="replace")
    meta, body = {}, raw
    try:
        post = frontmatter.loads(raw)
        meta, body = post.metadata, post.content
        # (The library drops front matter that is not a mapping without a word.)
        if post.handler and not meta and not isinstance(
                post.handler.load(post.handler.split(raw.strip())[0]) or {}, dict):
            warnings.append(f"{path}: front matter ignored: not a mapping")
    except (yaml.YAMLError, ValueError, TypeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        warnings.append(f"{path}: front matter ignored: {reason}")
        body = _FRONT_MATTER.sub("", raw, count=1)
    tokens = None if path.lower().endswith(".txt") else _markdown.parse(body)
    text = body.strip() if tokens is None else _plain_text(tokens)
    title = (_text_field(meta.get("title")) or _first_heading(tokens or _markdown.parse(body))
             or Path(path).stem)
    return Note(
        path=path,
        title=" ".join(_CONTROL.sub(" ", title).split()),
        text=_CONTROL.sub(" ", text),
        url=_text_field(meta.get("url")),
        date=_date_field(meta.get("date")),
        tags=_tags_field(meta.get("tags")),
    ), warnings


def _plain_text(tokens) -> str:
    """Parsed Markdown reduced to plain text: one line per block, markup and link targets
    dropped."""
    lines = []
    for tok in tokens:
        if tok.type == "inline":
            lines.append("".join(_inline_text(tok.children or [])))
        elif tok.type in ("fence", "code_block"):
            lines.append(tok.content.rstrip("\n"))
        elif tok.type == "html_block":
            lines.append(_html_text(tok.content))
    return "\n".join(line for line in lines if line.strip())


def _inline_text(children) -> list[str]:
    out = []
    for child in children:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append("\n")
        elif child.type == "image":
            out.append("".join(_inline_text(child.children or [])))
    return out


class _HTMLText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)


def _html_text(html: str) -> str:
    """The text of an HTML fragment, tags and comments dropped."""
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip()


def _first_heading(tokens) -> str | None:
    for tok_index, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.tag == "h1":
            return "".join(_inline_text(tokens[tok_index + 1].children or [])).strip() or None
    return None


def _text_field(value) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _date_field(value) -> str | None:
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return _text_field(value)


def _tags_field(value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)):
        return ()
    return tuple(t for t in (str(v).strip() for v in value if v is not None) if t)
