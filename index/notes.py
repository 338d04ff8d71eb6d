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
from pathlib import Path
from typing import Any, Iterable

import frontmatter
import lxml.etree
import lxml.html
import yaml
from markdown_it import MarkdownIt

from .analyzer import printable

NOTE_SUFFIXES = (".md", ".markdown", ".txt")
MAX_NOTE_BYTES = 32 * 1024 * 1024
# What a note's body may hold of text to index, quote and search for an excerpt: a note is a
# page someone wrote, not a log, and this bounds what a build and an answer spend on one.
MAX_TEXT_CHARS = 1_000_000
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n.*?\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_markdown = MarkdownIt("commonmark").enable("table").enable("strikethrough")
# See _markdown_text.
MARKDOWN_MAX_CHARS = 64 * 1024
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
    """Find note files under ``root``: depth first, in name order, hidden names skipped. Links
    are followed within the corpus, never around a loop, and never out of it: a note or folder
    whose real path lies outside ``root`` is skipped with a warning (it could be anything on
    the machine, and answers quote what they index)."""
    result = Scan()
    top = os.fspath(root)
    real_top = os.path.realpath(top)
    inside = os.path.join(real_top, "")
    seen_paths: set[str]
    seen_dirs, seen_paths = set(), set()
    # A stack, not recursion: folders may nest deeper than Python's recursion limit.
    stack = [(top, "")]  # a folder, and its path relative to ``root`` ("" or ending in "/")
    while stack:
        dirpath, folder = stack.pop()
        try:
            st = os.stat(dirpath)
            if (st.st_dev, st.st_ino) in seen_dirs:
                result.warnings.append(f"{_shown(dirpath)}: skipped: directory link loop")
                continue
            seen_dirs.add((st.st_dev, st.st_ino))
            entries: Iterable[os.DirEntry[str]]
            with os.scandir(dirpath) as entries:
                entries = sorted((e for e in entries if not e.name.startswith(".")),
                                 key=lambda e: e.name)
        except OSError as err:
            result.warnings.append(f"{_shown(dirpath)}: skipped: {err.strerror or err}")
            continue
        subdirs = []
        for entry in entries:
            rel = folder + entry.name
            try:
                if entry.is_symlink() and not (real := os.path.realpath(entry.path)).startswith(
                        inside) and real != real_top:
                    result.warnings.append(f"{_shown(rel)}: skipped: a link to outside the "
                                           "corpus")
                    continue
                if entry.is_dir():
                    subdirs.append((entry.path, rel + "/"))
                    continue
            except OSError as err:
                result.warnings.append(f"{_shown(rel)}: skipped: {err.strerror or err}")
                continue
            if entry.name.lower().endswith(NOTE_SUFFIXES):
                _found(result, entry.path, rel, seen_paths)
        stack.extend(reversed(subdirs))
    return result


def _shown(path: str) -> str:
    """A path as it can be shown: invalid UTF-8 in file names replaced."""
    return path if path.isascii() else (
        path.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def _found(result: Scan, abspath: str, rel: str, seen_paths: set):
    """Record the note file at ``abspath`` (``rel`` in the corpus), or why it is skipped."""
    shown = _shown(rel)
    if shown in seen_paths:  # (only names with invalid UTF-8 can meet another's)
        result.warnings.append(f"{shown}: skipped: another file's name reads the same "
                               "once invalid UTF-8 is replaced; rename one of them")
        return
    seen_paths.add(shown)
    if shown != rel:
        result.warnings.append(f"{shown}: file name is not valid UTF-8; indexed as shown")
    try:
        st = os.stat(abspath)
    except OSError as err:
        result.warnings.append(f"{shown}: skipped: {err.strerror or err}")
        return
    if stat.S_ISREG(st.st_mode):
        result.files.append(FileInfo(shown, abspath, st.st_size,
                                     max(st.st_mtime_ns, st.st_ctime_ns)))


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
            # first, and notes are small.
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
    meta = _plain_values(path, meta, warnings)
    if len(body) > MAX_TEXT_CHARS:
        cut = body.rfind("\n", 0, MAX_TEXT_CHARS) + 1 or MAX_TEXT_CHARS
        body = body[:cut]
        warnings.append(f"{path}: longer than {MAX_TEXT_CHARS:,} characters; only the first "
                        f"{cut:,} are indexed")
    plain = path.lower().endswith(".txt")
    text, heading = _markdown_text(body, text=not plain)
    title = _text_field(meta.get("title")) or heading or Path(path).stem
    if plain:
        text = body.strip()
    return Note(
        path=path,
        title=" ".join(_CONTROL.sub(" ", title).split()),
        text=_CONTROL.sub(" ", text),
        url=_text_field(meta.get("url")),
        date=_date_field(meta.get("date")),
        tags=tuple(printable(t) for t in _tags_field(meta.get("tags"))),
    ), warnings


def _markdown_text(body: str, text: bool = True) -> tuple[str, str | None]:
    """The plain text of a Markdown ``body`` (if ``text``) and its first ``# heading``.
    markdown-it reads the first MARKDOWN_MAX_CHARS (cut at a line break); the rest of a
    longer body is taken as it is written: markdown-it is slow on some inputs (unmatched "!["
    repeated) and holds a token for every piece of what it parses, while a note may be large."""
    head, rest = body, ""
    if len(body) > MARKDOWN_MAX_CHARS:
        cut = body.rfind("\n", 0, MARKDOWN_MAX_CHARS) + 1 or MARKDOWN_MAX_CHARS
        head, rest = body[:cut], body[cut:]
    tokens = _markdown.parse(head)
    parts = [_plain_text(tokens), rest.strip()] if text else []
    return "\n".join(p for p in parts if p), _first_heading(tokens)


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


def _html_text(html: str) -> str:
    """The text of an HTML fragment, tags and comments dropped (lxml: libxml2's parser takes
    time in proportion to the input, however broken; html.parser's can take its square)."""
    if not html.strip():
        return ""
    try:
        return lxml.html.fragment_fromstring(html, create_parent="div").text_content().strip()
    except (lxml.etree.ParserError, ValueError):  # nothing it can read as HTML
        return html.strip()


def _first_heading(tokens) -> str | None:
    for tok_index, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.tag == "h1":
            return "".join(_inline_text(tokens[tok_index + 1].children or [])).strip() or None
    return None


# What a front-matter value may be: YAML's plain scalars (aliases to lists of lists can make a
# 1 KB value that is billions of items long once written out).
_SCALARS = (str, int, float, bool, datetime.date)


def _plain_values(path: str, meta: dict, warnings: list) -> dict:
    """The front-matter fields a note uses, each a plain value (tags: a list of them); any
    other value is dropped with a warning."""
    kept: dict[str, Any] = {}
    for key in ("title", "url", "date", "tags"):
        value = meta.get(key)
        if key == "tags" and isinstance(value, list) and all(
                isinstance(v, _SCALARS) or v is None for v in value):
            kept[key] = value
        elif isinstance(value, _SCALARS):
            kept[key] = value
        elif value is not None:
            warnings.append(f"{path}: front matter '{key}' ignored: not a plain value"
                            + (" or a list of them" if key == "tags" else ""))
    return kept


def _text_field(value) -> str | None:
    if value is None:
        return None
    value = printable(str(value)).strip()
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
