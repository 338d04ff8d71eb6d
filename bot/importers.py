"""``notebot import``: a note service's export turned into Markdown notes in the corpus.

Each format's reader yields Posts; ``write`` turns them into one note per post under a folder of
the corpus. The same post always lands in the same file (named from the post's id in the
source), so importing again changes only what changed; posts gone from the export are reported
and kept (removed with ``prune``). Nothing is ever written outside the folder: every file name
is made from the post's id and title, cleaned, and checked to resolve inside it.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import frontmatter
import yaml

from index.notes import MAX_NOTE_BYTES, NOTE_SUFFIXES
from index.store import write_atomic

FORMATS = ("esa", "kibela", "qiita", "scrapbox", "notion", "obsidian", "hatena", "wordpress")
# Where the importer remembers which post it wrote to which file (hidden: never a note).
RECORD = ".notebot-import.json"
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


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


def file_name(post: Post) -> str:
    """The post's file, relative to the import folder: its folder, then its title and a short
    hash of its key (so that two posts with one title never meet), cleaned of anything that
    could leave the folder or confuse a file system."""
    parts = [_clean(p) for p in post.folder.split("/")]
    digest = hashlib.blake2b(post.key.encode("utf-8"), digest_size=4).hexdigest()
    name = f"{_clean(post.title) or 'untitled'}-{digest}.md"
    return "/".join([p for p in parts if p] + [name])


def _clean(part: str) -> str:
    """A file or folder name from ``part``: no separators or control characters, no leading
    or trailing dots, and at most 200 bytes (file systems allow 255)."""
    part = " ".join(_UNSAFE.sub(" ", part).strip().strip(".").split())
    while len(part.encode("utf-8")) > 200:
        part = part[:-1]
    return part.strip(". ")


def write(posts: Iterable[Post], into: Path, include_drafts: bool = False,
          prune: bool = False, report: Report | None = None) -> Report:
    """Write ``posts`` as notes under ``into``; see the module's docstring."""
    started = time.perf_counter()
    report = report or Report()
    into.mkdir(parents=True, exist_ok=True)
    root = into.resolve()
    before = _read_record(into)
    now: dict[str, str] = {}
    written: set[str] = set()
    for post in posts:
        if post.draft and not include_drafts:
            report.drafts += 1
            continue
        rel = file_name(post)
        path = _inside(root, rel)
        if path is None or path.suffix != ".md":
            report.warnings.append(f"{post.key}: skipped: its file would be outside {into}")
            continue
        if post.key in now or rel in written:
            report.warnings.append(f"{post.key}: skipped: the export holds it twice")
            continue
        now[post.key] = rel
        written.add(rel)
        data = post.markdown().encode("utf-8")
        old = before.get(post.key)
        if old and old != rel and (gone := _inside(root, old)) and gone.is_file():
            gone.unlink()  # retitled: the new name replaces the old one
        try:
            same = path.read_bytes() == data
        except OSError:
            same = False
        if same:
            report.unchanged += 1
            continue
        report.added += old is None
        report.changed += old is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    for key, rel in before.items():
        if key not in now:
            if prune and (gone := _inside(root, rel)) and gone.is_file():
                gone.unlink()
                report.pruned += 1
            else:
                report.gone.append(rel)
                now.setdefault(key, rel)
    write_atomic(into / RECORD, json.dumps(now, ensure_ascii=False, indent=1).encode())
    report.seconds = time.perf_counter() - started
    return report


def _inside(root: Path, rel: str) -> Path | None:
    """``root / rel`` if it resolves inside ``root`` (links followed), else None."""
    path = (root / rel).resolve()
    return path if path.is_relative_to(root) else None


def _read_record(into: Path) -> dict[str, str]:
    try:
        record = json.loads((into / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in record.items() if isinstance(k, str) and isinstance(v, str)} \
        if isinstance(record, dict) else {}


# ---------------------------------------------------------------- Scrapbox (Cosense)

# [** bold], [/ italic], [- strike], [link], [text https://…], [https://… text]: the text
_BRACKET = re.compile(r"\[(?:[*/\-!\"#%{}<>_~]+\s+)?([^\[\]]*)\]")
_URL = re.compile(r"https?://\S+")


def scrapbox(source: Path, report: Report) -> Iterator[Post]:
    """Posts of a Scrapbox / Cosense project export: ``{name, pages: [{title, created,
    updated, lines}]}``, lines as strings or ``{text: ...}`` objects, the first being the
    title. Brackets become their text, indentation a bullet."""
    data = _json(source)
    project = data.get("name") if isinstance(data, dict) else None
    pages = data.get("pages") if isinstance(data, dict) else None
    if not isinstance(pages, list):
        raise ExportUnreadable(f"{source} is not a Scrapbox export (no \"pages\" list)")
    for n, page in enumerate(pages):
        if not isinstance(page, dict) or not isinstance(page.get("title"), str):
            report.warnings.append(f"page {n}: skipped: no title")
            continue
        lines = [line.get("text", "") if isinstance(line, dict) else str(line)
                 for line in page.get("lines") or []]
        if lines and lines[0] == page["title"]:
            lines = lines[1:]
        tags = sorted({m for line in lines for m in re.findall(r"(?<!\S)#([^\s#\[\]]+)", line)})
        url = (f"https://scrapbox.io/{_quote(project)}/{_quote(page['title'])}"
               if isinstance(project, str) else None)
        yield Post(key=str(page.get("id") or page["title"]), title=page["title"],
                   body="\n".join(_scrapbox_line(line) for line in lines),
                   date=_epoch(page.get("created")), tags=tags, url=url)


def _scrapbox_line(line: str) -> str:
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


# ---------------------------------------------------------------- Obsidian

_WIKILINK = re.compile(r"(!?)\[\[([^\]|#]*)(?:#[^\]|]*)?(?:\|([^\]]*))?\]\]")
_INLINE_TAG = re.compile(r"(?<![\w#&])#([^\s#\[\](){}.,;:!?、。]+)")


def obsidian(source: Path, report: Report) -> Iterator[Post]:
    """Posts of an Obsidian vault (a folder): each Markdown file, its YAML properties, its
    ``#tags``; ``[[links]]`` become their text, embeds and other files are attachments;
    ``.obsidian/`` and hidden files are left out."""
    if not source.is_dir():
        raise ExportUnreadable(f"{source} is not a folder; an Obsidian vault is the folder itself")
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(source.resolve()):
            report.warnings.append(f"{rel}: skipped: a link to outside the vault")
            continue
        if not path.name.lower().endswith(NOTE_SUFFIXES):
            report.attachments += 1
            continue
        if path.stat().st_size > MAX_NOTE_BYTES:
            report.warnings.append(f"{rel}: skipped: larger than {MAX_NOTE_BYTES // 2**20} MB")
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        meta, body = _front_matter(text)
        report.attachments += len([m for m in _WIKILINK.finditer(body) if m.group(1)])
        body = _WIKILINK.sub(lambda m: "" if m.group(1) else (m.group(3) or m.group(2)), body)
        tags = meta.get("tags") or meta.get("tag") or []
        tags = [tags] if isinstance(tags, str) else [str(t) for t in tags if t is not None]
        tags += [t for t in _INLINE_TAG.findall(body) if t not in tags]
        yield Post(key=rel.as_posix(), title=str(meta.get("title") or path.stem), body=body,
                   date=_text(meta.get("date") or meta.get("created")), tags=tags,
                   url=_text(meta.get("url") or meta.get("source")),
                   author=_text(meta.get("author")), folder=rel.parent.as_posix(),
                   draft=meta.get("draft") is True or meta.get("publish") is False)


def _front_matter(text: str) -> tuple[dict, str]:
    """A vault note's properties and body (no properties where they cannot be read)."""
    try:
        post = frontmatter.loads(text)
    except (yaml.YAMLError, ValueError, TypeError):
        return {}, text
    return (post.metadata if isinstance(post.metadata, dict) else {}), post.content


# ---------------------------------------------------------------- shared

def _json(source: Path):
    try:
        with open(source, encoding="utf-8-sig") as f:
            return json.load(f)
    except OSError as err:
        raise ExportUnreadable(f"cannot read {source}: {err.strerror or err}") from None
    except (ValueError, RecursionError) as err:
        raise ExportUnreadable(f"{source} is not valid JSON ({str(err).splitlines()[0]})") from None


def _epoch(value) -> str | None:
    if isinstance(value, (int, float)) and value > 0:
        return time.strftime("%Y-%m-%d", time.gmtime(value))
    return None


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text.replace(" ", "_"), safe="")


def _text(value) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value).strip() or None


READERS = {"scrapbox": scrapbox, "obsidian": obsidian}


def run(fmt: str, source: Path, into: Path, include_drafts: bool = False,
        prune: bool = False) -> Report:
    """Import ``source`` (an export in ``fmt``) into the folder ``into``."""
    if fmt not in READERS:
        raise ExportUnreadable(f"importing from {fmt} is not supported yet; this notebot reads "
                           f"{', '.join(sorted(READERS))}")
    if not source.exists():
        raise ExportUnreadable(f"{source} not found")
    report = Report()
    posts = READERS[fmt](source, report)
    first = next(posts, None)  # (an export that cannot be read says so before anything is written)
    return write(itertools.chain([first] if first else [], posts), into, include_drafts, prune,
                 report)
