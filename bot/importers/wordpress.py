"""WordPress: the WXR file of Tools → Export, an RSS 2.0 document whose ``<channel>`` holds
``<wp:wxr_version>``, the site's authors and terms, then one ``<item>`` per post, page,
attachment, menu item, revision and so on. An item has ``<title>``, ``<link>``,
``<dc:creator>``, ``<content:encoded>`` (the HTML, in CDATA), ``<wp:post_id>``,
``<wp:post_date>`` (``YYYY-MM-DD hh:mm:ss``, zeros when never published), ``<wp:status>``
(publish, draft, pending, private, future, trash, ...), ``<wp:post_type>`` and
``<category domain="category|post_tag" nicename="...">`` elements; its comments are
``<wp:comment>`` elements. The ``wp`` namespace carries the WXR version
(``http://wordpress.org/export/1.2/``), so elements are matched by local name."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from index import MAX_NOTE_BYTES

from .common import ExportUnreadable, Post, Report, html_markdown, paragraphs

_WP = "http://wordpress.org/export/"
_CONTENT = "http://purl.org/rss/1.0/modules/content/"
_DC = "http://purl.org/dc/elements/1.1/"
_NOTES = {"post", "page"}
# Not content: trashed posts, autosaves never shown to anyone, and the status of revisions
# and attachments
_GONE = {"trash", "auto-draft", "inherit"}
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_GUTENBERG = re.compile(r"\s*<!-- /?wp:.*?-->\s*", re.DOTALL)  # the block editor's marks
_SHORTCODE = re.compile(r"\[/?(?:caption|gallery|embed|audio|video|playlist)\b[^\]]*\]")



def read(source: Path, report: Report) -> Iterator[Post]:
    """Posts and pages of a WXR file, read as a stream (one item in memory at a time).
    Drafts, pending, scheduled and private posts are drafts; attachments are counted; other
    item types are not notes. The DTD is neither loaded nor expanded, and nothing is fetched."""
    root, wxr = None, False
    try:
        for _, el in etree.iterparse(str(source), events=("end",), resolve_entities=False,
                                     no_network=True, load_dtd=False, huge_tree=False):
            if root is None:
                root = etree.QName(el.getroottree().getroot()).localname
                if root != "rss":
                    raise ExportUnreadable(f"{source} is not a WordPress export (WXR): its "
                                           f"root is <{root}>, not <rss>")
            if el.tag == "item":
                if not wxr:
                    break
                post = _post(el, report)
                el.clear()
                while el.getprevious() is not None:  # what came before: authors, terms, items
                    del el.getparent()[0]
                if post:
                    yield post
            elif isinstance(el.tag, str) and el.tag.startswith(f"{{{_WP}"):
                wxr = wxr or el.tag.endswith("}wxr_version")
    except etree.XMLSyntaxError as err:
        msg = (err.msg or "malformed").splitlines()[0]
        where = "" if "line" in msg else f" (line {err.lineno})"
        raise ExportUnreadable(f"{source} is not readable XML: {msg}{where}") from None
    except OSError as err:
        raise ExportUnreadable(f"cannot read {source}: {err.strerror or err}") from None
    if not wxr:
        raise ExportUnreadable(f"{source} is not a WordPress export (WXR): no <wp:wxr_version>")


def _post(item, report: Report) -> Post | None:
    """The item as a Post; None (with a warning when it is malformed) when it is not one."""
    fields: dict[str, str] = {}
    tags: list[str] = []
    for child in item:
        if not isinstance(child.tag, str):
            continue
        name = _name(child)
        if name == "category":
            tag = _text(child).strip()
            if (child.get("domain") in ("category", "post_tag") and tag and tag not in tags
                    and child.get("nicename") != "uncategorized"):
                tags.append(tag)
        else:
            fields.setdefault(name, _text(child).strip())
    kind, status = fields.get("wp:post_type"), fields.get("wp:status", "publish")
    key = fields.get("wp:post_id")
    where = f"item at line {item.sourceline}"
    if kind == "attachment":
        report.attachments += 1
        return None
    if kind is None or not key:
        report.warnings.append(f"{where}: skipped: no <wp:post_type> or <wp:post_id>")
        return None
    if kind not in _NOTES or status in _GONE:
        return None
    html = fields.get("content:encoded", "")
    if len(html) > MAX_NOTE_BYTES:
        report.warnings.append(f"{where}: skipped: larger than {MAX_NOTE_BYTES // 2**20} MB")
        return None
    if "<!-- wp:" in html:
        html = _GUTENBERG.sub("\n", html)
    else:  # the classic editor's: WordPress adds the paragraphs when showing it
        html = paragraphs(html)
    date = _DATE.match(fields.get("wp:post_date", ""))
    title = (fields.get("title") or unquote(fields.get("wp:post_name", "")).strip()
             or f"{kind} {key}")
    return Post(key=key, title=title, body=html_markdown(_SHORTCODE.sub("", html), report),
                date=date.group() if date and date.group(1) != "0000" else None, tags=tags,
                url=fields.get("link") or None, author=fields.get("dc:creator") or None,
                draft=status != "publish" or bool(fields.get("wp:post_password")))


def _name(el) -> str:
    """``prefix:local`` for WXR's namespaces whatever their version, the local name else."""
    qname = etree.QName(el)
    ns = qname.namespace or ""
    if ns.startswith(_WP):
        return ("excerpt:" if ns.rstrip("/").endswith("excerpt") else "wp:") + qname.localname
    prefix = {_CONTENT: "content:", _DC: "dc:"}.get(ns, "")
    return prefix + qname.localname


def _text(el) -> str:
    """The element's text; entity references the file declares itself are left out."""
    return (el.text or "") + "".join(child.tail or "" for child in el)
