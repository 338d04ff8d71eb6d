"""``notebot import esa`` and ``notebot import kibela``: ZIPs written here in the services' own
shapes, imported, then asked."""
from __future__ import annotations

import json
import zipfile

import pytest

from bot import importers
from conftest import write_note

ESA = {
    "開発/インフラ/123.html.md": """---
title: Kubernetesのポッド再起動手順
category: 開発/インフラ
tags: kubernetes, 障害対応
created_at: '2024-03-01T10:15:00+09:00'
updated_at: '2024-03-05T18:00:00+09:00'
published: true
number: 123
---

## 症状
ポッドが**CrashLoopBackOff**になり、再起動を繰り返す。

<img width="640" alt="image.png (50.0 kB)" src="https://img.esa.io/uploads/1/a.png">

![構成図](https://img.esa.io/uploads/1/b.png)

- `kubectl describe pod` でイベントを確かめる
- livenessProbeの閾値を見直す
""",
    "日報/2024/03/01/124.html.md": """---
title: 書きかけの日報
category: 日報/2024/03/01
tags:
created_at: '2024-03-01T19:00:00+09:00'
updated_at: '2024-03-01T19:00:00+09:00'
published: false
number: 124
---
今日は証明書の更新手順をまとめ始めた。
""",
    "125.html.md": """---
title: 新メンバーへの案内
category:
tags:
- オンボーディング
created_at: '2023-11-20T09:00:00+09:00'
updated_at: '2023-11-20T09:00:00+09:00'
published: true
number: 125
---
入社初日はアカウントの発行とVPNの設定を行う。
""",
    "images/diagram.png": b"\x89PNG\r\n\x1a\n",
}


def kibela_note(number: int, title: str, body: str, folders: str = "[]", published: str =
                "'2024-02-10 11:20:30 +0900'", archived: str = "") -> str:
    return f"""---
id: QmxvZy8{number}
path: "/notes/{number}"
author: "@tanaka"
contributors:
- "@tanaka"
- "@suzuki"
coediting: true
folders: {folders}
groups:
- Home
published_at: {published}
updated_at: '2024-02-11 09:00:00 +0900'
archived_at: {archived}
comments:
- id: Q29tbWVudC8x
  path: "/notes/{number}#comment_1"
  author: "@suzuki"
  published_at: '2024-02-10 12:00:00 +0900'
  updated_at: '2024-02-10 12:00:00 +0900'
  content: 確認しました
---

# {title}

{body}
"""


KIBELA_1 = {
    "kibela-acme-1/notes/45-本番デプロイの手順.md": kibela_note(
        45, "本番デプロイの手順",
        "リリース判定の後、**メンテナンス画面**を出してからマイグレーションを流す。\n\n"
        "<img title='flow.png' alt='デプロイの流れ' src='../attachments/1.png' width=\"260\">\n",
        folders="\n- 開発 / 手順書/本番 \n- Home / まとめ"),
    "kibela-acme-1/blogs/46-先月の週報.md": kibela_note(
        46, "先月の週報", "先月はログ基盤を移行した。", archived="'2024-03-01 10:00:00 +0900'"),
    "kibela-acme-1/attachments/1.png": b"\x89PNG\r\n\x1a\n",
}
KIBELA_2 = {
    "kibela-acme-2/wikis/設計/47-認証の設計.md": kibela_note(
        47, "認証の設計", "セッションの有効期限は二週間とし、リフレッシュトークンは使わない。"),
    "kibela-acme-2/notes/48-下書きのメモ.md": kibela_note(
        48, "下書きのメモ", "まだ書きかけ。", published=""),
}


def make_zip(path, files: dict) -> object:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            z.writestr(name, content)
    return path


@pytest.fixture
def esa_zip(tmp_path):
    return make_zip(tmp_path / "acme.esa.zip", ESA)


@pytest.fixture
def kibela_zips(tmp_path):
    """The way Kibela hands a large team's export over: a folder of numbered ZIPs."""
    folder = tmp_path / "kibela-export"
    folder.mkdir()
    make_zip(folder / "kibela-acme-1.zip", KIBELA_1)
    make_zip(folder / "kibela-acme-2.zip", KIBELA_2)
    return folder


def front_and_body(path) -> tuple[str, str]:
    _, front, body = path.read_text(encoding="utf-8").split("---\n", 2)
    return front, body


def test_an_esa_export_becomes_notes_that_answer(run_cli, tmp_path, esa_zip):
    corpus = tmp_path / "corpus"
    write_note(corpus, "python/gil.md", "# GIL\nスレッドの話。")
    result = run_cli(["import", "esa", esa_zip, "--corpus", corpus])
    assert result.rc == 0, result.err
    assert result.out.splitlines()[0].startswith(
        "import esa: 2 added, 0 changed, 0 unchanged, 1 drafts skipped, 3 attachments")
    [note] = (corpus / "esa" / "開発" / "インフラ").glob("*.md")
    front, body = front_and_body(note)
    assert note.name.startswith("Kubernetesのポッド再起動手順-")
    assert "title: Kubernetesのポッド再起動手順" in front and "date: '2024-03-01'" in front
    assert "- kubernetes\n- 障害対応" in front and "url" not in front
    assert "**CrashLoopBackOff**" in body and "- livenessProbeの閾値を見直す" in body
    assert "構成図" in body and "<img" not in body and "image.png" not in body
    assert "img.esa.io" not in body
    [top] = [p for p in (corpus / "esa").glob("*.md")]
    assert "- オンボーディング" in top.read_text(encoding="utf-8")
    assert not list((corpus / "esa").rglob("*日報*")) and not (corpus / "esa" / "日報").exists()
    answer = json.loads(run_cli(["ask", "--json", "ポッドがCrashLoopBackOffになる",
                                 "--corpus", corpus]).out)
    assert answer["results"][0]["path"].startswith("esa/開発/インフラ/Kubernetes")
    assert answer["answered"]


def test_a_kibela_export_becomes_notes_that_answer(run_cli, tmp_path, kibela_zips):
    corpus = tmp_path / "corpus"
    write_note(corpus, "python/gil.md", "# GIL\nスレッドの話。")
    result = run_cli(["import", "kibela", kibela_zips, "--corpus", corpus])
    assert result.rc == 0, result.err
    assert result.out.splitlines()[0].startswith(
        "import kibela: 2 added, 0 changed, 0 unchanged, 2 drafts skipped, 2 attachments")
    [note] = (corpus / "kibela" / "開発" / "手順書" / "本番").glob("*.md")
    front, body = front_and_body(note)
    assert "title: 本番デプロイの手順" in front and "date: '2024-02-10'" in front
    assert "url: https://acme.kibe.la/notes/45" in front and "author: tanaka" in front
    assert "# 本番デプロイの手順" not in body and body.lstrip().startswith("リリース判定の後")
    assert "**メンテナンス画面**" in body and "デプロイの流れ" in body and "<img" not in body
    [wiki] = (corpus / "kibela" / "wikis" / "設計").glob("*.md")
    assert "セッションの有効期限は二週間" in wiki.read_text(encoding="utf-8")
    names = [p.name for p in (corpus / "kibela").rglob("*.md")]
    assert not [n for n in names if "週報" in n or "下書き" in n]
    answer = json.loads(run_cli(["ask", "--json", "本番デプロイでメンテナンス画面を出す",
                                 "--corpus", corpus]).out)
    assert answer["results"][0]["path"].startswith("kibela/開発/手順書/本番/本番デプロイの手順")
    assert answer["answered"]


def test_one_kibela_zip_is_read_as_well(tmp_path):
    source = make_zip(tmp_path / "kibela-acme-2.zip", KIBELA_2)
    report = importers.run("kibela", source, tmp_path / "notes")
    assert (report.added, report.drafts) == (1, 1)
    [note] = (tmp_path / "notes").rglob("*.md")
    assert "url: https://acme.kibe.la/notes/47" in note.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt, source, notes", [("esa", "esa_zip", 2),
                                                 ("kibela", "kibela_zips", 2)])
def test_importing_again_changes_nothing_and_drafts_come_when_asked(request, tmp_path, fmt,
                                                                    source, notes):
    source = request.getfixturevalue(source)
    into = tmp_path / "corpus" / fmt
    importers.run(fmt, source, into)
    files = {p: p.read_bytes() for p in into.rglob("*.md")}
    assert len(files) == notes
    again = importers.run(fmt, source, into)
    assert (again.added, again.changed, again.unchanged) == (0, 0, notes)
    assert {p: p.read_bytes() for p in into.rglob("*.md")} == files
    with_drafts = importers.run(fmt, source, into, include_drafts=True)
    assert (with_drafts.added, with_drafts.unchanged, with_drafts.drafts) == (
        {"esa": 1, "kibela": 2}[fmt], notes, 0)
    text = "".join(p.read_text(encoding="utf-8") for p in into.rglob("*.md"))
    assert ("今日は証明書の更新手順" in text if fmt == "esa"
            else "先月はログ基盤を移行した" in text and "まだ書きかけ" in text)


def test_entries_naming_places_outside_are_warned_and_not_written(run_cli, tmp_path):
    post = ESA["125.html.md"]
    source = make_zip(tmp_path / "evil.zip", {
        "../evil.md": post.replace("number: 125", "number: 901"),
        "/tmp/abs.md": post.replace("number: 125", "number: 902"),
        "ok/125.html.md": post})
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    result = run_cli(["import", "esa", source, "--corpus", corpus, "--no-build"])
    assert result.rc == 0, result.err
    assert "warning: ../evil.md: skipped: it names a place outside the export" in result.err
    assert "warning: /tmp/abs.md: skipped: it names a place outside the export" in result.err
    assert result.out.startswith("import esa: 1 added")
    written = [p for p in tmp_path.rglob("*.md")]
    assert len(written) == 1 and written[0].is_relative_to(corpus / "esa")


@pytest.mark.parametrize("fmt, make, says", [
    ("esa", lambda p: p.write_bytes(b"PK\x03\x04 not really a zip"), "is not a readable ZIP"),
    ("kibela", lambda p: p.write_bytes(b""), "is not a readable ZIP"),
    ("esa", lambda p: p.write_text('{"pages": []}'), "is not a readable ZIP"),
    ("kibela", lambda p: make_zip(p, ESA), "is not a Kibela export"),
    ("esa", lambda p: make_zip(p, KIBELA_1), "is not an esa export"),
    ("esa", lambda p: make_zip(p, {"images/a.png": b"\x89PNG"}), "is not an esa export"),
])
def test_an_unreadable_or_other_export_is_one_line_exit_2(run_cli, tmp_path, fmt, make, says):
    source = tmp_path / "export.zip"
    make(source)
    (tmp_path / "corpus").mkdir()
    result = run_cli(["import", fmt, source, "--corpus", tmp_path / "corpus"])
    assert result.rc == 2 and says in result.err and result.err.count("\n") == 1, result.err
    assert list((tmp_path / "corpus").iterdir()) == []
