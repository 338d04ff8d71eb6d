"""``notebot import qiita`` and ``notebot import notion``: exports written here in the services'
own shapes (Qiita Team's ZIP of article JSON and its older single JSON, Notion's ZIP of ZIPs of
``Title <id>.md`` pages), imported, then asked."""
from __future__ import annotations

import io
import json
import zipfile

import pytest

from bot import importers

USER = {"id": "tanaka", "name": "田中 太郎", "profile_image_url": "https://example.com/t.png"}


def article(id_, title, body, **more):
    """An article as Qiita Team exports it (the API's item, with its comments)."""
    return {"id": id_, "title": title, "body": body, "rendered_body": more.pop("html", ""),
            "coediting": False, "comments_count": 0, "created_at": "2023-06-01T09:30:00+09:00",
            "updated_at": "2023-06-02T10:00:00+09:00", "group": None, "likes_count": 0,
            "private": False, "reactions_count": 0,
            "tags": [{"name": "PostgreSQL", "versions": ["15"]}, {"name": "運用", "versions": []}],
            "url": f"https://example.qiita.com/tanaka/items/{id_}", "user": USER,
            "page_views_count": None, "comments": [], **more}


ARTICLES = [
    article("4bd431809afb1bb99e4f", "PostgreSQLのバキューム設定",
            "## 背景\nテーブルが**肥大化**して検索が遅くなった。\n\n```sql\nVACUUM ANALYZE;\n```\n"
            "autovacuum_vacuum_scale_factorを0.05に下げて解決した。",
            comments=[{"id": "c1", "body": "naptimeも短くすると効きました。",
                       "rendered_body": "<p>naptimeも短くすると効きました。</p>",
                       "created_at": "2023-06-03T12:00:00+09:00",
                       "user": {"id": "suzuki", "name": "鈴木"}}]),
    article("9e0a1c2f3b4d5e6f7a8b", "証明書の更新手順", "",
            html="<h2>手順</h2><p>Let's Encryptの証明書は<strong>certbot renew</strong>で"
                 "更新する。</p><p><img alt=\"更新画面\" src=\"https://example.com/a.png\"></p>",
            tags=[{"name": "TLS", "versions": []}]),
    article("0f1e2d3c4b5a69788796", "人事評価の下書き", "まだ共有しない評価メモ。", private=True),
    article("aa11bb22cc33dd44ee55", "インフラ班の夜間当番", "夜間当番はPagerDutyで回す。",
            group={"name": "インフラ班", "url_name": "infra", "private": True}),
]


@pytest.fixture
def qiita_zip(tmp_path):
    path = tmp_path / "qiita-team-export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for a in ARTICLES:
            z.writestr(f"articles/{a['id']}.json", json.dumps(a, ensure_ascii=False))
        z.writestr("articles/broken.json", "{\"id\": ")
        z.writestr("groups/infra.json", json.dumps({"name": "インフラ班", "url_name": "infra"},
                                                   ensure_ascii=False))
        z.writestr("projects/1.json", json.dumps({"id": 1, "name": "移行計画", "body": "…"},
                                                 ensure_ascii=False))
    return path


def test_a_qiita_team_zip_becomes_notes_that_answer(run_cli, tmp_path, qiita_zip):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    result = run_cli(["import", "qiita", qiita_zip, "--corpus", corpus])
    assert result.rc == 0, result.err
    assert result.out.splitlines()[0].startswith(
        "import qiita: 3 added, 0 changed, 0 unchanged, 1 drafts skipped, 1 attachments")
    assert "articles/broken.json: skipped: not valid JSON" in result.err
    [note] = (corpus / "qiita").glob("PostgreSQL*.md")
    text = note.read_text(encoding="utf-8")
    front, body = text.split("---\n")[1:3]
    assert "title: PostgreSQLのバキューム設定" in front and "date: '2023-06-01'" in front
    assert "- PostgreSQL\n- 運用" in front and "author: 田中 太郎" in front
    assert "url: https://example.qiita.com/tanaka/items/4bd431809afb1bb99e4f" in front
    assert "テーブルが**肥大化**して" in body and "```sql\nVACUUM ANALYZE;\n```" in body
    assert "## コメント\n\n**鈴木**:\n\nnaptimeも短くすると効きました。" in body
    [html] = (corpus / "qiita").glob("証明書*.md")
    text = html.read_text(encoding="utf-8")
    assert "## 手順" in text and "**certbot renew**で更新する。" in text and "更新画面" in text
    assert "<" not in text.split("---")[2] and "- TLS" in text
    [grouped] = (corpus / "qiita" / "インフラ班").glob("*.md")
    assert "PagerDutyで回す" in grouped.read_text(encoding="utf-8")
    assert not list(corpus.rglob("人事評価*"))
    answer = json.loads(run_cli(["ask", "--json", "autovacuumの設定でテーブルの肥大化を直すには",
                                 "--corpus", corpus]).out)
    assert answer["results"][0]["path"].startswith("qiita/PostgreSQL") and answer["answered"]


@pytest.mark.parametrize("shape", ["list", "object"])
def test_an_old_qiita_export_is_one_json_read_article_by_article(run_cli, tmp_path, shape):
    export = tmp_path / "qiita_team_export.json"
    data = ARTICLES if shape == "list" else {"team": {"name": "example"}, "articles": ARTICLES,
                                             "projects": [{"id": 1, "name": "移行計画"}]}
    export.write_bytes(b"\xef\xbb\xbf" + json.dumps(data, ensure_ascii=False).encode())
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    result = run_cli(["import", "qiita", export, "--corpus", corpus, "--include-drafts"])
    assert result.rc == 0, result.err
    assert result.out.startswith("import qiita: 4 added, 0 changed, 0 unchanged, 0 drafts")
    titles = sorted(p.read_text(encoding="utf-8").split("\n")[1] for p in corpus.rglob("*.md"))
    assert titles == ["title: PostgreSQLのバキューム設定", "title: インフラ班の夜間当番",
                      "title: 人事評価の下書き", "title: 証明書の更新手順"]
    answer = json.loads(run_cli(["ask", "--json", "certbot renewで証明書を更新",
                                 "--corpus", corpus]).out)
    assert answer["results"][0]["path"].startswith("qiita/証明書の更新手順")


def test_a_truncated_old_qiita_export_stops_without_pruning(run_cli, tmp_path):
    export, corpus = tmp_path / "export.json", tmp_path / "corpus"
    export.write_text(json.dumps(ARTICLES, ensure_ascii=False), encoding="utf-8")
    corpus.mkdir()
    assert run_cli(["import", "qiita", export, "--corpus", corpus, "--no-build"]).rc == 0
    notes = {p: p.read_bytes() for p in corpus.rglob("*.md")}
    full = json.dumps(ARTICLES[:2], ensure_ascii=False)
    export.write_text(full[:-2], encoding="utf-8")  # cut in the middle of the second article
    result = run_cli(["import", "qiita", export, "--corpus", corpus, "--prune", "--no-build"])
    assert result.rc == 2 and "is not valid JSON" in result.err
    assert result.err.count("\n") == 1
    assert {p: p.read_bytes() for p in corpus.rglob("*.md")} == notes


def notion_id(n: int) -> str:
    return f"{n:x}".rjust(32, "a")


WIKI, ONCALL, INCIDENTS, DNS = (notion_id(n) for n in (0x1001, 0x1002, 0x1003, 0x1004))
NOTION_PAGES = {
    f"チーム Wiki {WIKI}.md":
        "# チーム Wiki\n\nチームの決めごとをまとめる。\n\n"
        f"[オンコール手順](%E3%83%81%E3%83%BC%E3%83%A0%20Wiki%20{WIKI}/"
        f"%E3%82%AA%E3%83%B3%E3%82%B3%E3%83%BC%E3%83%AB%E6%89%8B%E9%A0%86%20{ONCALL}.md)\n\n"
        f"![%E6%A7%8B%E6%88%90%E5%9B%B3.png](%E3%83%81%E3%83%BC%E3%83%A0%20Wiki%20{WIKI}/"
        "%E6%A7%8B%E6%88%90%E5%9B%B3.png)\n\n"
        f"[障害記録](%E3%83%81%E3%83%BC%E3%83%A0%20Wiki%20{WIKI}/{INCIDENTS}.csv)\n",
    f"チーム Wiki {WIKI}/オンコール手順 {ONCALL}.md":
        "# オンコール手順\n\n注意: 夜間は二人で対応する。\n\n"
        "アラートが鳴ったら**5分以内**に[Slack](https://slack.com/)の#incidentで宣言する。\n",
    f"チーム Wiki {WIKI}/構成図.png": b"\x89PNG\r\n\x1a\n",
    f"チーム Wiki {WIKI}/障害記録 {INCIDENTS}.csv":
        "\ufeffName,Created,Status,Tags\n"
        "DNSの名前解決が遅い,2023年4月1日 10:00,完了,\"dns, 障害\"\n",
    f"チーム Wiki {WIKI}/障害記録 {INCIDENTS}/DNSの名前解決が遅い {DNS}.md":
        "# DNSの名前解決が遅い\n\nCreated: 2023年4月1日 10:00\nStatus: 完了\nTags: dns, 障害\n\n"
        "resolv.confのtimeoutが長すぎたため、名前解決に5秒かかっていた。\n",
    "メモ.md": "# 雑多なメモ\n\nIDのないページ。\n",
}


def notion_zip(path, pages, evil=()):
    """Notion's download: a ZIP holding the export's part, itself a ZIP of the pages."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in pages.items():
            z.writestr(name, content)
        for name in evil:
            z.writestr(name, "# 外\n\n外に書かれてはならない。\n")
    uuid = "8d6a2c10-4f3b-4e5a-9c7d-1e2f3a4b5c6d"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"Export-{uuid}-Part-1.zip", inner.getvalue())
    return path


@pytest.fixture
def notion_export(tmp_path):
    return notion_zip(tmp_path / "Export-8d6a2c10-4f3b-4e5a-9c7d-1e2f3a4b5c6d.zip", NOTION_PAGES)


def test_a_notion_export_becomes_notes_that_answer(run_cli, tmp_path, notion_export):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    result = run_cli(["import", "notion", notion_export, "--corpus", corpus])
    assert result.rc == 0, result.err
    assert result.out.splitlines()[0].startswith(
        "import notion: 4 added, 0 changed, 0 unchanged, 0 drafts skipped, 1 attachments")
    into = corpus / "notion"
    names = sorted(p.relative_to(into).as_posix().rsplit("-", 1)[0] for p in into.rglob("*.md"))
    assert names == ["チーム Wiki", "チーム Wiki/オンコール手順", "チーム Wiki/障害記録/DNSの名前解決が遅い",
                     "雑多なメモ"]
    for note in into.rglob("*.md"):
        assert "aaaa" not in note.read_text(encoding="utf-8") and "aaaa" not in str(note)
    [wiki] = into.glob("チーム Wiki-*.md")
    body = wiki.read_text(encoding="utf-8").split("---\n", 2)[2]
    assert body == "チームの決めごとをまとめる。\n\nオンコール手順\n\n\n\n障害記録\n"
    [row] = (into / "チーム Wiki" / "障害記録").glob("*.md")
    front, body = row.read_text(encoding="utf-8").split("---\n")[1:3]
    assert front == "title: DNSの名前解決が遅い\ndate: '2023-04-01'\ntags:\n- dns\n- 障害\n"
    assert body.startswith("Status: 完了\n\nresolv.confのtimeout")
    [oncall] = (into / "チーム Wiki").glob("オンコール手順-*.md")
    text = oncall.read_text(encoding="utf-8")
    assert "注意: 夜間は二人で対応する。" in text and "[Slack](https://slack.com/)" in text
    answer = json.loads(run_cli(["ask", "--json", "resolv.confのtimeoutで名前解決が遅い",
                                 "--corpus", corpus]).out)
    assert answer["results"][0]["path"].startswith("notion/チーム Wiki/障害記録/DNS")


def test_a_notion_page_keeps_its_note_when_renamed_or_exported_again(tmp_path, notion_export):
    into = tmp_path / "corpus" / "notion"
    importers.run("notion", notion_export, into)
    files = {p: p.read_bytes() for p in into.rglob("*.md")}
    again = importers.run("notion", notion_export, into)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 4) and not again.gone
    assert {p: p.read_bytes() for p in into.rglob("*.md")} == files
    renamed = {k.replace("オンコール手順 ", "当番の手順 "): v.replace("# オンコール手順", "# 当番の手順")
               if isinstance(v, str) else v for k, v in NOTION_PAGES.items()}
    later = notion_zip(tmp_path / "Export-later.zip", renamed)
    report = importers.run("notion", later, into)
    assert (report.added, report.changed, report.unchanged) == (0, 1, 3) and not report.gone
    assert not list(into.rglob("オンコール手順*")) and len(list(into.rglob("当番の手順-*.md"))) == 1


def test_importing_qiita_again_changes_nothing(tmp_path, qiita_zip):
    into = tmp_path / "corpus" / "qiita"
    first = importers.run("qiita", qiita_zip, into)
    files = {p: p.read_bytes() for p in into.rglob("*.md")}
    again = importers.run("qiita", qiita_zip, into)
    assert (first.added, again.added, again.changed, again.unchanged) == (3, 0, 0, 3)
    assert {p: p.read_bytes() for p in into.rglob("*.md")} == files


@pytest.mark.parametrize("fmt, name, content, says", [
    ("qiita", "export.zip", b"PK\x03\x04 not really a zip", "is not a readable ZIP file"),
    ("qiita", "export.json", b"{not json", "is not valid JSON"),
    ("qiita", "export.json", b"[" * 100_000, "nested more than 64 levels deep"),
    ("qiita", "export.json", b'{"team": "x"}', "is not a Qiita Team export"),
    ("qiita", "export.zip", {"groups/1.json": "{}"}, "no articles/*.json"),
    ("notion", "export.zip", b"\x00\x01 not a zip", "is not a readable ZIP file"),
    ("notion", "export.zip", {"index.html": "<html></html>"}, "is not a Notion export"),
])
def test_an_unreadable_export_is_one_line_exit_2_and_nothing_written(run_cli, tmp_path, fmt,
                                                                     name, content, says):
    export = tmp_path / name
    if isinstance(content, dict):
        with zipfile.ZipFile(export, "w") as z:
            for entry, data in content.items():
                z.writestr(entry, data)
    else:
        export.write_bytes(content)
    (tmp_path / "corpus").mkdir()
    result = run_cli(["import", fmt, export, "--corpus", tmp_path / "corpus"])
    assert result.rc == 2 and says in result.err and result.err.count("\n") == 1, result.err
    assert list((tmp_path / "corpus").iterdir()) == []


EVIL = ["../evil.md", "/tmp/evil.md", "articles/../../evil.json", "..\\evil.md"]


@pytest.mark.parametrize("fmt", ["qiita", "notion"])
def test_an_entry_naming_a_place_outside_is_skipped(run_cli, tmp_path, fmt):
    export = tmp_path / "export.zip"
    if fmt == "notion":
        notion_zip(export, {f"ページ {WIKI}.md": "# ページ\n\n中身。\n"}, evil=EVIL)
    else:
        with zipfile.ZipFile(export, "w") as z:
            z.writestr(f"articles/{ARTICLES[0]['id']}.json", json.dumps(ARTICLES[0]))
            for name in EVIL:
                z.writestr(name, json.dumps(article("e" * 20, "外", "外に書かれてはならない。")))
    (tmp_path / "corpus").mkdir()
    result = run_cli(["import", fmt, export, "--corpus", tmp_path / "corpus", "--no-build"])
    assert result.rc == 0, result.err
    assert result.err.count("names a place outside the export") == len(EVIL)
    assert result.out.startswith(f"import {fmt}: 1 added")
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != export]
    assert all(p.is_relative_to(tmp_path / "corpus" / fmt) for p in written), written
    assert not any("外に書かれてはならない" in p.read_text(encoding="utf-8") for p in written)
