"""``notebot import``: exports written here in the services' own shapes, imported, then asked."""
from __future__ import annotations

import json

import pytest

from bot import importers
from conftest import write_note

SCRAPBOX = {
    "name": "team-notes", "displayName": "チームのノート", "exported": 1700000000,
    "pages": [
        {"id": "p1", "title": "Kubernetesのポッド再起動", "created": 1690000000,
         "updated": 1690000500,
         "lines": ["Kubernetesのポッド再起動",
                   "[** 症状] ポッドがCrashLoopBackOffになる",
                   " [kubectl describe]でイベントを見る #kubernetes",
                   "  livenessProbeの[設定 https://kubernetes.io/docs/]を見直す"]},
        {"id": "p2", "title": "障害対応の手順",
         "lines": [{"text": "障害対応の手順", "created": 1}, {"text": "まず[/ 影響範囲]を確認する"}]},
        {"lines": ["タイトルのないページ"]},
    ]}


@pytest.fixture
def scrapbox_export(tmp_path):
    path = tmp_path / "team-notes.json"
    path.write_text(json.dumps(SCRAPBOX, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def vault(tmp_path):
    root = tmp_path / "vault"
    write_note(root, "運用/デプロイ手順.md", "---\ntags: [deploy]\ncreated: 2024-04-01\n---\n"
               "本番へのデプロイは[[リリース判定|判定会議]]の後に行う。#運用\n![[diagram.png]]\n")
    write_note(root, "下書き.md", "---\npublish: false\n---\nまだ書きかけのメモ。\n")
    write_note(root, ".obsidian/workspace.md", "設定なので取り込まない。")
    (root / "diagram.png").write_bytes(b"\x89PNG")
    return root


def test_a_scrapbox_export_becomes_notes_that_answer(run_cli, tmp_path, scrapbox_export):
    corpus = tmp_path / "corpus"
    write_note(corpus, "python/gil.md", "# GIL\nスレッドの話。")
    result = run_cli(["import", "scrapbox", scrapbox_export, "--corpus", corpus])
    assert result.rc == 0, result.err
    assert result.out.splitlines()[0].startswith(
        "import scrapbox: 2 added, 0 changed, 0 unchanged, 0 drafts skipped")
    assert "page 2: skipped: no title" in result.err
    [note] = (corpus / "scrapbox").glob("Kubernetes*.md")
    text = note.read_text(encoding="utf-8")
    assert "title: Kubernetesのポッド再起動" in text and "date: '2023-07-22'" in text
    assert "url: https://scrapbox.io/team-notes/Kubernetes%E3%81%AE" in text
    assert "- kubectl describeでイベントを見る" in text and "[" not in text.split("---")[2]
    assert "設定 (https://kubernetes.io/docs/)" in text and "kubernetes" in text.split("---")[1]
    answer = json.loads(run_cli(["ask", "--json", "ポッドがCrashLoopBackOffになる",
                                 "--corpus", corpus]).out)
    assert answer["results"][0]["path"].startswith("scrapbox/Kubernetes") and answer["answered"]


def test_importing_again_changes_nothing_and_changes_are_updated(tmp_path, scrapbox_export):
    into = tmp_path / "corpus" / "scrapbox"
    importers.run("scrapbox", scrapbox_export, into)
    files = {p: p.read_bytes() for p in into.rglob("*.md")}
    again = importers.run("scrapbox", scrapbox_export, into)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 2)
    assert {p: p.read_bytes() for p in into.rglob("*.md")} == files
    changed = json.loads(json.dumps(SCRAPBOX))
    changed["pages"][1]["lines"].append("影響範囲の次に復旧する")
    del changed["pages"][0]
    scrapbox_export.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    report = importers.run("scrapbox", scrapbox_export, into)
    assert (report.added, report.changed, report.unchanged) == (0, 1, 0)
    assert len(report.gone) == 1 and len(list(into.rglob("*.md"))) == 2  # reported, kept
    report = importers.run("scrapbox", scrapbox_export, into, prune=True)
    assert report.pruned == 1 and len(list(into.rglob("*.md"))) == 1


def test_an_obsidian_vault_becomes_notes(run_cli, tmp_path, vault):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    result = run_cli(["import", "obsidian", vault, "--corpus", corpus])
    assert result.rc == 0, result.err
    assert result.out.splitlines()[0].startswith(
        "import obsidian: 1 added, 0 changed, 0 unchanged, 1 drafts skipped, 2 attachments")
    [note] = (corpus / "obsidian" / "運用").glob("*.md")
    text = note.read_text(encoding="utf-8")
    assert "title: デプロイ手順" in text and "判定会議の後に行う" in text and "[[" not in text
    assert "- deploy" in text and "- 運用" in text and "date: '2024-04-01'" in text
    assert not list((corpus / "obsidian").rglob("*workspace*"))
    answer = json.loads(run_cli(["ask", "--json", "本番へのデプロイ", "--corpus", corpus]).out)
    assert answer["results"][0]["path"].startswith("obsidian/運用/デプロイ手順")
    with_drafts = importers.run("obsidian", vault, tmp_path / "all", include_drafts=True)
    assert with_drafts.added == 2 and with_drafts.drafts == 0


@pytest.mark.parametrize("title", ["../../../etc/passwd", "/abs/path", "a\x00b\x1b[2J", "..",
                                   "C:\\Windows\\x", "名前" * 200])
def test_no_title_writes_outside_the_folder(tmp_path, title):
    into = tmp_path / "corpus" / "x"
    post = importers.Post(key=title, title=title, body="本文", folder="../../" + title)
    report = importers.write([post], into)
    assert report.added == 1
    [written] = [p for p in tmp_path.rglob("*.md")]
    assert written.resolve().is_relative_to(into.resolve()) and len(written.name) < 120


def test_a_link_in_the_folder_to_outside_is_not_followed(tmp_path):
    into, outside = tmp_path / "corpus" / "x", tmp_path / "outside"
    outside.mkdir()
    into.mkdir(parents=True)
    (into / "evil").symlink_to(outside)
    report = importers.write([importers.Post(key="k", title="t", body="b", folder="evil")], into)
    assert report.added == 0 and "outside" in report.warnings[0]
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("content, says", [
    ("{not json", "is not valid JSON"),
    ('{"name": "x"}', "is not a Scrapbox export"),
    ("[" * 100_000, "is nested more than 64 levels deep"),
])
def test_an_unreadable_export_is_one_line_exit_2_and_nothing_written(run_cli, tmp_path, content,
                                                                     says):
    export = tmp_path / "export.json"
    export.write_text(content, encoding="utf-8")
    (tmp_path / "corpus").mkdir()
    result = run_cli(["import", "scrapbox", export, "--corpus", tmp_path / "corpus"])
    assert result.rc == 2 and says in result.err and result.err.count("\n") == 1
    assert list((tmp_path / "corpus").iterdir()) == []


def test_an_unknown_format_or_a_missing_export_is_one_line_exit_2(run_cli, tmp_path):
    (tmp_path / "corpus").mkdir()
    result = run_cli(["import", "esa", tmp_path / "export.zip", "--corpus", tmp_path / "corpus"])
    assert result.rc == 2 and result.err == f"notebot: {tmp_path / 'export.zip'} not found\n"
    result = run_cli(["import", "evernote", "x", "--corpus", tmp_path / "corpus"])
    assert result.rc == 2 and "invalid choice" in result.err
    assert list((tmp_path / "corpus").iterdir()) == []


def test_a_tampered_record_cannot_make_it_delete_outside(tmp_path, scrapbox_export):
    into, victim = tmp_path / "corpus" / "scrapbox", tmp_path / "victim.md"
    victim.write_text("大事なファイル", encoding="utf-8")
    importers.run("scrapbox", scrapbox_export, into)
    (into / importers.RECORD).write_text(json.dumps({"p1": "../../victim.md",
                                                     "gone": "../../victim.md"}))
    importers.run("scrapbox", scrapbox_export, into, prune=True)
    assert victim.read_text(encoding="utf-8") == "大事なファイル"


def test_a_scrapbox_export_cut_short_stops_and_prunes_nothing(run_cli, tmp_path, scrapbox_export):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    assert run_cli(["import", "scrapbox", scrapbox_export, "--corpus", corpus]).rc == 0
    before = sorted(p.name for p in (corpus / "scrapbox").rglob("*.md"))
    data = scrapbox_export.read_text(encoding="utf-8")
    scrapbox_export.write_text(data[:data.index('"p2"')], encoding="utf-8")  # read as a stream
    result = run_cli(["import", "scrapbox", scrapbox_export, "--prune", "--corpus", corpus])
    assert result.rc == 2 and "is not valid JSON" in result.err
    assert result.err.count("\n") == 1
    assert sorted(p.name for p in (corpus / "scrapbox").rglob("*.md")) == before
