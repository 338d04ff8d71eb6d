"""Reading notes: front matter, Markdown to plain text, and files that are not good notes."""
import os

import pytest

from conftest import write_note
from index import notes


def parse(text: str, path: str = "memo/note.md"):
    return notes.parse(path, text.encode("utf-8"))


def test_front_matter_gives_title_date_tags_and_url():
    note, warnings = parse("""---
title: "PythonのGlobal Interpreter Lock (GIL) について"
date: 2019-05-01
tags: [python, gil]
url: https://example.com/gil
---
GILはスレッド同期の仕組みである。
""")
    assert warnings == []
    assert note.title == "PythonのGlobal Interpreter Lock (GIL) について"
    assert (note.date, note.tags, note.url) == ("2019-05-01", ("python", "gil"),
                                                "https://example.com/gil")
    assert note.text == "GILはスレッド同期の仕組みである。"


@pytest.mark.parametrize("text, title", [
    ("# 見出しがタイトルになる\n\n本文です。", "見出しがタイトルになる"),
    ("---\ntags: [a]\n---\n# 前付けに題がない\n本文。", "前付けに題がない"),
    ("本文だけのメモ。", "note"),
    ("## 二段目の見出しは題にならない\n本文。", "note"),
    ("---\ntitle: 12345\n---\n本文。", "12345"),
    ("---\ntitle: \"  空白が\\n  多い 題  \"\n---\n本文。", "空白が 多い 題"),
])
def test_title_comes_from_front_matter_then_heading_then_file_name(text, title):
    assert parse(text)[0].title == title


@pytest.mark.parametrize("tags, expected", [
    ("[python, gil]", ("python", "gil")),
    ("python, gil", ("python", "gil")),
    ("ソフトウェア開発", ("ソフトウェア開発",)),
    ("[1, null, '']", ("1",)),
    ("{a: 1}", ()),
])
def test_tags_in_any_reasonable_shape(tags, expected):
    assert parse(f"---\ntitle: t\ntags: {tags}\n---\n本文。")[0].tags == expected


def test_markdown_becomes_plain_text():
    note, _ = parse("""# 見出し

**太字**と*斜体*と`コード`と[リンクの文字](https://example.com/x)と![画像の説明](a.png)。

- 箇条書きの一つ目
- 二つ目

> 引用された文章。

| 項目 | 説明 |
| --- | --- |
| 表 | 表の中の文章 |

<div class="warning">
<p>HTMLブロックの中の<b>注意書き</b>。</p>
</div>

```python
print("コードブロック")
```
""")
    for gone in ("**", "](", "https://example.com", "a.png", "<", ">", "|", "```", "- 箇条"):
        assert gone not in note.text, gone
    for kept in ("太字と斜体とコードとリンクの文字と画像の説明。", "箇条書きの一つ目", "引用された文章。",
                 "表の中の文章", "HTMLブロックの中の注意書き。", 'print("コードブロック")'):
        assert kept in note.text, kept


def test_txt_notes_are_not_read_as_markdown():
    note, _ = notes.parse("memo/plain.txt", "**そのまま** # 記号も残る\n".encode())
    assert note.text == "**そのまま** # 記号も残る"


@pytest.mark.parametrize("raw, warning", [
    ('---\ntitle: "閉じていない\n---\n本文。'.encode(), "front matter ignored"),
    ("---\ntitle: [a\n---\n本文。".encode(), "front matter ignored"),
    ("---\ndate: 2019-13-45\n---\n本文。".encode(), "front matter ignored"),
    ("---\nx: !!python/object/apply:os.system [ls]\n---\n本文。".encode(), "front matter ignored"),
    ("---\n\tbad: tab\n---\n本文。".encode(), "front matter ignored"),
    ("---\n- a\n- b\n---\n本文。".encode(), "front matter ignored: not a mapping"),
    ("---\njust words\n---\n本文。".encode(), "front matter ignored: not a mapping"),
    ("本".encode() + b"\xff\xfe" + "文。".encode(), "invalid UTF-8"),
])
def test_broken_notes_are_read_leniently_with_a_warning(raw, warning):
    note, warnings = notes.parse("memo/broken.md", raw)
    assert "本" in note.text and "文。" in note.text
    assert len(warnings) == 1
    assert warnings[0].startswith("memo/broken.md: ") and warning in warnings[0]
    assert note.title == "broken"


def test_a_byte_order_mark_is_not_part_of_the_text():
    note, warnings = notes.parse("memo/bom.md", "\ufeff---\ntitle: 題\n---\n本文。".encode())
    assert (note.title, note.text, warnings) == ("題", "本文。", [])


@pytest.mark.parametrize("raw", [b"", b"---\n---\n", b"\n\n  \n", b"---\ntitle: x\n"])
def test_empty_and_nearly_empty_notes(raw):
    note, warnings = notes.parse("memo/empty.md", raw)
    assert isinstance(note.text, str) and note.title


def test_scan_finds_notes_sorted_and_ignores_other_and_hidden_files(tmp_path):
    for rel in ["b/two.md", "a/one.txt", "a/three.markdown", "a/image.png", ".git/x.md",
                "a/.hidden.md", "README.MD"]:
        write_note(tmp_path, rel, "本文。")
    found = notes.scan(tmp_path)
    assert [f.path for f in found.files] == ["README.MD", "a/one.txt", "a/three.markdown",
                                             "b/two.md"]
    assert found.warnings == []


def test_scan_survives_symlink_loops(tmp_path):
    write_note(tmp_path, "a/note.md", "本文。")
    os.symlink("..", tmp_path / "a" / "up")            # directory loop
    os.symlink("self.md", tmp_path / "a" / "self.md")  # file that points at itself
    os.symlink("missing.md", tmp_path / "a" / "dangling.md")
    found = notes.scan(tmp_path)
    assert [f.path for f in found.files] == ["a/note.md"]
    assert any("loop" in w for w in found.warnings)
    assert any("self.md" in w for w in found.warnings)
    assert any("dangling.md" in w for w in found.warnings)


def test_links_out_of_the_corpus_are_not_followed(tmp_path):
    write_note(tmp_path / "outside", "secrets.env.md", "PASSWORD=hunter2")
    write_note(tmp_path / "corpus", "a/note.md", "本文。")
    os.symlink(tmp_path / "outside" / "secrets.env.md", tmp_path / "corpus" / "leak.md")
    os.symlink("/etc", tmp_path / "corpus" / "etc")
    os.symlink("../../outside", tmp_path / "corpus" / "a" / "out")
    os.symlink("a/note.md", tmp_path / "corpus" / "same.md")   # links inside still work
    found = notes.scan(tmp_path / "corpus")
    assert [f.path for f in found.files] == ["same.md", "a/note.md"]
    assert sorted(found.warnings) == [f"{p}: skipped: a link to outside the corpus"
                                      for p in ("a/out", "etc", "leak.md")]


def test_folders_deeper_than_the_recursion_limit_are_scanned(tmp_path):
    # (os.makedirs, Path.mkdir and shutil.rmtree recurse: the folders are made and removed here)
    fds = [os.open(tmp_path, os.O_RDONLY)]
    try:
        for _ in range(1100):
            os.mkdir("d", dir_fd=fds[-1])
            fds.append(os.open("d", os.O_RDONLY, dir_fd=fds[-1]))
        with open(os.open("deep.md", os.O_WRONLY | os.O_CREAT, dir_fd=fds[-1]), "w") as f:
            f.write("深いノート。")
        write_note(tmp_path, "top.md", "本文。")
        found = notes.scan(tmp_path)
        assert [f.path for f in found.files] == ["top.md", "/".join(["d"] * 1100 + ["deep.md"])]
    finally:
        if len(fds) == 1101 and "deep.md" in os.listdir(fds[-1]):
            os.unlink("deep.md", dir_fd=fds[-1])
        while len(fds) > 1:
            os.close(fds.pop())
            os.rmdir("d", dir_fd=fds[-1])
        os.close(fds.pop())


def test_scan_warns_about_file_names_that_are_not_utf8(tmp_path):
    write_note(tmp_path, "ok.md", "本文。")
    (tmp_path / os.fsdecode(b"bad\xffname.md")).write_text("本文。", encoding="utf-8")
    found = notes.scan(tmp_path)
    assert sorted(f.path for f in found.files) == ["bad\ufffdname.md", "ok.md"]
    assert any("UTF-8" in w for w in found.warnings)
    for f in found.files:
        f.path.encode("utf-8")  # identities are printable and storable


def test_file_names_that_read_the_same_once_replaced_keep_one_note_each(tmp_path):
    """n\xfe.md, n\xff.md and a real n\ufffd.md all read n\ufffd.md: one is indexed, the others
    are named in a warning (two notes under one name broke the build)."""
    for raw in (b"n\xfe.md", b"n\xff.md", "n\ufffd.md".encode()):
        (tmp_path / os.fsdecode(raw)).write_text("本文。", encoding="utf-8")
    found = notes.scan(tmp_path)
    assert [f.path for f in found.files] == ["n\ufffd.md"]
    assert sum("rename one of them" in w for w in found.warnings) == 2


@pytest.mark.parametrize("raw, reason", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (b"\xe6\x9c\xac" * 10 + b"\x00", "binary"),
])
def test_binary_files_are_skipped_with_a_reason(tmp_path, raw, reason):
    write_note(tmp_path, "x.md", raw)
    [info] = notes.scan(tmp_path).files
    data, why = notes.read_bytes(info)
    assert data is None and reason in why


def test_files_over_the_size_limit_are_skipped_without_reading(tmp_path):
    path = tmp_path / "huge.md"
    with open(path, "wb") as f:
        f.truncate(notes.MAX_NOTE_BYTES + 1)  # sparse: costs no disk
    [info] = notes.scan(tmp_path).files
    data, why = notes.read_bytes(info)
    assert data is None and "larger than" in why


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="needs Linux /proc")
def test_a_file_that_cannot_be_read_is_skipped_with_the_reason(tmp_path):
    # Tests run as root, so chmod 000 would not stop the read; /proc/self/mem is a regular file
    # that any process, root included, fails to read at offset 0 (EIO).
    info = notes.FileInfo("unreadable.md", "/proc/self/mem", 0, 0)
    data, why = notes.read_bytes(info)
    assert data is None and why.startswith("cannot be read")


def test_content_hash_tells_content_apart():
    assert notes.content_hash(b"a") == notes.content_hash(b"a") != notes.content_hash(b"b")


@pytest.mark.parametrize("path", ["memo/evil.md", "memo/evil.txt"])
def test_a_note_cannot_send_control_characters_to_a_terminal(path):
    raw = "---\ntitle: \"\\e[2J消す\\a題\"\n---\n本文\x1b[31m赤\x07\x00です。\n\t字下げ\n"
    note, _ = notes.parse(path, raw.encode())
    for field in (note.title, note.text):
        assert not any(ord(c) < 32 and c not in "\t\n" or 0x7f <= ord(c) <= 0x9f for c in field)
    assert note.title == "[2J消す 題"
    assert "本文 [31m赤" in note.text and "です。" in note.text


def test_a_heading_title_costs_one_markdown_parse(monkeypatch):
    calls = []
    real = notes._markdown.parse
    monkeypatch.setattr(notes._markdown, "parse", lambda text: calls.append(1) or real(text))
    note, _ = parse("# 見出しの題\n本文。")
    assert note.title == "見出しの題" and calls == [1]


def test_a_yaml_alias_bomb_in_front_matter_is_refused_not_expanded():
    bomb = "\n".join(['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'] + [
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)])
    raw = f"---\n{bomb}\ntitle: *i\ntags: *i\ndate: *h\nurl: ok\n---\n本文です。\n"
    note, warnings = notes.parse("bomb.md", raw.encode())
    assert (note.title, note.tags, note.date, note.url) == ("bomb", (), None, "ok")
    assert note.text == "本文です。"
    assert [w.split(":")[0] for w in warnings] == ["bomb.md"] * 3
    assert all("not a plain value" in w for w in warnings)


def test_a_note_past_the_text_limit_is_indexed_up_to_it_with_a_warning():
    line = "サーバーのメモリを増やす。\n"
    body = "# 長いノート\n" + line * (notes.MAX_TEXT_CHARS // len(line) + 100) + "末尾だけの言葉\n"
    note, warnings = notes.parse("long.md", body.encode())
    assert note.title == "長いノート"
    assert len(note.text) <= notes.MAX_TEXT_CHARS and "末尾だけの言葉" not in note.text
    assert note.text.endswith("サーバーのメモリを増やす。")  # cut at a line break
    [warning] = warnings
    assert warning.startswith(f"long.md: longer than {notes.MAX_TEXT_CHARS:,} characters; "
                              "only the first ")


@pytest.mark.parametrize("body", ["![" * 100_000, "<div>\n" + "<a b='" * 30_000,
                                  "# 見出し\n" + "*強調* [リンク](http://x) `code`\n" * 10_000])
def test_markup_past_what_markdown_it_reads_is_kept_as_written(body):
    note, _ = notes.parse("big.md", body.encode())
    assert len(note.text) > len(body) // 2  # nothing lost, nothing expanded
    assert note.text.strip() and "\x00" not in note.text


def test_broken_html_in_a_note_gives_its_text():
    note, _ = notes.parse("html.md", "本文。\n\n<div><p>中の<b>文章</b><!-- 注記 -->\n\n続き。\n".encode())
    assert "中の文章" in note.text and "注記" not in note.text and "<" not in note.text
