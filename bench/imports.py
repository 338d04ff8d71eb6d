"""Importing a generated export of many posts: time and peak memory, per format.

    python bench/imports.py [--posts 10000]

Each export is generated here in the service's shape (Japanese prose from the shipped notes),
then ``notebot import FORMAT SOURCE --no-build`` runs in a child process, twice: the first
import writes every note, the second finds them unchanged.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def prose(n: int) -> list[str]:
    lines = [line for p in sorted((REPO / "corpus").rglob("*.md"))
             for line in p.read_text(encoding="utf-8").splitlines() if len(line) > 40]
    return [lines[(i * 7) % len(lines)] for i in range(n)]


def scrapbox(path: Path, posts: int):
    text = prose(posts * 3)
    pages = [{"id": f"id{i}", "title": f"ページ{i}", "created": 1690000000 + i,
              "lines": [f"ページ{i}", *text[3 * i:3 * i + 3], f" [リンク{i}] #tag{i % 50}"]}
             for i in range(posts)]
    path.write_text(json.dumps({"name": "bench", "pages": pages}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def obsidian(path: Path, posts: int):
    text = prose(posts * 3)
    for i in range(posts):
        note = path / f"folder{i % 20}" / f"メモ{i}.md"
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(f"---\ntags: [t{i % 30}]\n---\n" + "\n".join(text[3 * i:3 * i + 3])
                        + f"\n[[メモ{i + 1}]] #運用\n", encoding="utf-8")
    return path


def esa(path: Path, posts: int):
    """A team's ZIP: posts by category, one in 50 a WIP, each with an uploaded image."""
    text = prose(posts * 3)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(posts):
            category = f"開発/チーム{i % 20}/{2020 + i % 5}"
            z.writestr(f"{category}/{i + 1}.html.md", (
                f"---\ntitle: 記事{i}\ncategory: {category}\ntags: t{i % 30}, 運用\n"
                f"created_at: '2024-01-{1 + i % 28:02d}T10:00:00+09:00'\n"
                f"updated_at: '2024-02-01T10:00:00+09:00'\npublished: {str(i % 50 != 0).lower()}"
                f"\nnumber: {i + 1}\n---\n\n" + "\n".join(text[3 * i:3 * i + 3])
                + f'\n\n<img alt="image.png (50.0 kB)" src="https://img.esa.io/{i}.png">\n'))
    return path


def kibela(path: Path, posts: int):
    """A team's ZIP: notes in folders, one in 50 archived, and an attachment per 100 notes."""
    text = prose(posts * 3)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(posts):
            archived = "'2024-03-01 10:00:00 +0900'" if i % 50 == 0 else ""
            z.writestr(f"kibela-bench-1/notes/{i + 1}-ノート{i}.md", (
                f"---\nid: QmxvZy8{i + 1}\npath: \"/notes/{i + 1}\"\nauthor: \"@user{i % 40}\"\n"
                f"contributors:\n- \"@user{i % 40}\"\ncoediting: true\nfolders:\n"
                f"- 開発 / フォルダ{i % 20}\ngroups:\n- Home\n"
                f"published_at: '2024-01-{1 + i % 28:02d} 10:00:00 +0900'\n"
                f"updated_at: '2024-02-01 10:00:00 +0900'\narchived_at: {archived}\n"
                f"comments: []\n---\n\n# ノート{i}\n\n" + "\n".join(text[3 * i:3 * i + 3])
                + "\n"))
            if i % 100 == 0:
                z.writestr(f"kibela-bench-1/attachments/{i}.png", b"\x89PNG\r\n\x1a\n")
    return path


def qiita_articles(posts: int):
    """Articles as Qiita Team writes them: one in 50 private, one in 10 in a group, one in 7
    with a comment."""
    text = prose(posts * 3)
    for i in range(posts):
        lines = text[3 * i:3 * i + 3]
        yield {"id": f"{i:020x}", "title": f"記事{i}",
               "body": "\n\n".join(lines) + f"\n\n```sh\necho {i}\n```\n",
               "rendered_body": "".join(f"<p>{line}</p>\n" for line in lines),
               "tags": [{"name": f"t{i % 30}", "versions": []}, {"name": "運用", "versions": []}],
               "created_at": f"2024-01-{1 + i % 28:02d}T10:00:00+09:00",
               "updated_at": "2024-02-01T10:00:00+09:00",
               "url": f"https://bench.qiita.com/user{i % 40}/items/{i:020x}",
               "user": {"id": f"user{i % 40}", "name": f"ユーザー{i % 40}"},
               "group": {"name": f"グループ{i % 5}", "url_name": f"g{i % 5}"} if i % 10 == 0
               else None, "private": i % 50 == 0, "coediting": False,
               "comments": [{"body": "確認しました。", "user": {"id": "rev", "name": "レビュアー"}}]
               if i % 7 == 0 else []}


def qiita(path: Path, posts: int):
    """A team's ZIP: ``articles/<id>.json``, one article each."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for a in qiita_articles(posts):
            z.writestr(f"articles/{a['id']}.json", json.dumps(a, ensure_ascii=False))
    return path


def qiita_json(path: Path, posts: int):
    """An older export: one JSON object whose ``articles`` holds every article."""
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"articles": [')
        for i, a in enumerate(qiita_articles(posts)):
            f.write(("," if i else "") + json.dumps(a, ensure_ascii=False))
        f.write("]}")
    return path


def notion(path: Path, posts: int):
    """Notion's download: a ZIP holding one part, a ZIP of 20 top pages and, in their folders,
    the rest as database rows (properties first), with an image per 100 pages."""
    text = prose(posts * 3)
    part = path.with_name("part.zip")
    with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(posts):
            top = f"ページ{i % 20} {i % 20:032x}"
            body = "\n\n".join(text[3 * i:3 * i + 3])
            if i < 20:
                z.writestr(f"{top}.md", f"# ページ{i}\n\n{body}\n")
                continue
            z.writestr(f"{top}/メモ{i} {i:032x}.md", (
                f"# メモ{i}\n\nCreated: 2024年1月{1 + i % 28}日 10:00\nStatus: 完了\n"
                f"Tags: t{i % 30}, 運用\n\n{body}\n"))
            if i % 100 == 0:
                z.writestr(f"{top}/image{i}.png", b"\x89PNG\r\n\x1a\n")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(part, "Export-0b5e6f1a-2c3d-4e5f-8a9b-0c1d2e3f4a5b-Part-1.zip")
    part.unlink()
    return path


def hatena(path: Path, posts: int):
    """A blog's Movable Type text: one in 50 a draft, each with two categories, an image, an
    extended body, and a comment on one in ten."""
    text = prose(posts * 3)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(posts):
            day = f"{1 + i % 12:02d}/{1 + i % 28:02d}/{2015 + i % 10}"
            f.write(f"AUTHOR: user{i % 5}\nTITLE: 記事{i}\nBASENAME: {2015 + i % 10}/"
                    f"{1 + i % 12:02d}/{1 + i % 28:02d}/{i:06d}\n"
                    f"STATUS: {'Draft' if i % 50 == 0 else 'Publish'}\nALLOW COMMENTS: 1\n"
                    f"CONVERT BREAKS: 0\nDATE: {day} 12:00:00\nCATEGORY: 運用\n"
                    f"CATEGORY: カテゴリ{i % 30}\n-----\nBODY:\n<p>{text[3 * i]}</p>\n"
                    f'<p><img src="https://cdn-ak.f.st-hatena.com/images/{i}.png" alt="図{i}">'
                    f"</p>\n<p>{text[3 * i + 1]}</p>\n-----\nEXTENDED BODY:\n"
                    f"<h4>続き</h4>\n<p>{text[3 * i + 2]}</p>\n-----\n")
            if i % 10 == 0:
                f.write(f"COMMENT:\nAUTHOR: reader\nDATE: {day} 13:00:00\nコメントです。\n-----\n")
            f.write("--------\n")
    return path


def wordpress(path: Path, posts: int):
    """A WXR file: block-editor posts, one in 50 a draft and one in ten classic (no <p>), each
    with two terms and an image, an attachment item per ten posts and a revision per 20."""
    text = prose(posts * 3)
    wp = "http://wordpress.org/export/1.2/"
    with open(path, "w", encoding="utf-8") as f:
        f.write(f'<?xml version="1.0" encoding="UTF-8" ?>\n<rss version="2.0" '
                f'xmlns:excerpt="{wp}excerpt/" '
                'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/" '
                f'xmlns:wp="{wp}">\n<channel>\n<title>ベンチ</title>\n'
                "<wp:wxr_version>1.2</wp:wxr_version>\n")
        for i in range(posts):
            a, b, c = text[3 * i:3 * i + 3]
            content = (f"{a}\n{b}\n\n{c}" if i % 10 == 1 else
                       f"<!-- wp:paragraph -->\n<p>{a}</p>\n<!-- /wp:paragraph -->\n\n"
                       f'<!-- wp:image -->\n<figure><img src="https://example.jp/{i}.png" '
                       f'alt="図{i}"/></figure>\n<!-- /wp:image -->\n\n'
                       f"<!-- wp:paragraph -->\n<p>{b}{c}</p>\n<!-- /wp:paragraph -->")
            f.write(_wxr_item(i + 1, f"記事{i}", "post", "draft" if i % 50 == 0 else "publish",
                              content, f'<category domain="category" nicename="c{i % 30}">'
                              f'<![CDATA[カテゴリ{i % 30}]]></category><category '
                              'domain="post_tag" nicename="ops"><![CDATA[運用]]></category>'))
            if i % 10 == 0:
                f.write(_wxr_item(posts + i + 1, f"{i}.png", "attachment", "inherit", "", ""))
            if i % 20 == 0:
                f.write(_wxr_item(2 * posts + i + 1, f"記事{i}", "revision", "inherit", a, ""))
        f.write("</channel>\n</rss>\n")
    return path


def _wxr_item(post_id: int, title: str, kind: str, status: str, content: str,
              terms: str) -> str:
    return (f"<item>\n<title><![CDATA[{title}]]></title>\n"
            f"<link>https://example.jp/?p={post_id}</link>\n"
            f"<dc:creator><![CDATA[user{post_id % 5}]]></dc:creator>\n"
            f"<content:encoded><![CDATA[{content}]]></content:encoded>\n"
            f"<excerpt:encoded><![CDATA[]]></excerpt:encoded>\n"
            f"<wp:post_id>{post_id}</wp:post_id>\n"
            f"<wp:post_date><![CDATA[2024-01-{1 + post_id % 28:02d} 10:00:00]]></wp:post_date>\n"
            f"<wp:status><![CDATA[{status}]]></wp:status>\n"
            f"<wp:post_type><![CDATA[{kind}]]></wp:post_type>\n{terms}\n</item>\n")


def run(args: list[str]) -> tuple[float, int, str]:
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "bot", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=dict(os.environ,
                                                                 PYTHONPATH=str(REPO)))
    out = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, args
    return time.perf_counter() - start, usage.ru_maxrss // 1024, out.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    args = parser.parse_args()
    print("| format | import | peak | again | summary of the first |")
    print("|---|---|---|---|---|")
    for fmt, make, name in (("scrapbox", scrapbox, "export.json"),
                            ("obsidian", obsidian, "vault"),
                            ("esa", esa, "esa.zip"),
                            ("kibela", kibela, "kibela-bench-1.zip"),
                            ("qiita", qiita, "qiita-team-export.zip"),
                            ("qiita", qiita_json, "qiita_team_export.json"),
                            ("notion", notion, "Export-0b5e6f1a-2c3d-4e5f-8a9b-0c1d2e3f4a5b.zip"),
                            ("hatena", hatena, "export.txt"),
                            ("wordpress", wordpress, "export.xml")):
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / name
            if fmt == "obsidian":
                source.mkdir()
            make(source, args.posts)
            corpus = Path(tmp) / "corpus"
            corpus.mkdir()
            cmd = ["import", fmt, str(source), "--corpus", str(corpus), "--no-build"]
            first, peak, summary = run(cmd)
            again, _, _ = run(cmd)
            print(f"| {fmt} ({name}) | {first:.2f} s | {peak} MB | {again:.2f} s | {summary} |",
                  flush=True)


if __name__ == "__main__":
    main()
