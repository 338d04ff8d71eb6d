"""A Slack thread as a note: Slack's markup as Markdown, names, times, front matter, and the
checks on what a form may name (pure functions; no Slack)."""
from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from bot import config
from bot import save_thread as S
from index.notes import parse

JST = timezone(timedelta(hours=9))
NAMES = {"U0YAMADA": "山田 太郎", "U0SATO": "佐藤"}


@pytest.mark.parametrize("slack, markdown", [
    ("<@U0YAMADA> さん、確認お願いします", "@山田 太郎 さん、確認お願いします"),
    ("<@U0NOBODY> と <@U0OLD|suzuki> に聞いた", "@U0NOBODY と @suzuki に聞いた"),
    ("<#C0123|障害対応> に書きました", "#障害対応 に書きました"),
    ("<#C0123> と <#C0456|>", "#C0123 と #C0456"),
    ("<https://example.com/手順?a=1&amp;b=2|デプロイ手順書> を参照",
     "[デプロイ手順書](https://example.com/手順?a=1&b=2) を参照"),
    ("<https://example.com/x> と <https://example.com/y|https://example.com/y>",
     "https://example.com/x と https://example.com/y"),
    ("<mailto:ops@example.com|ops@example.com> まで", "[ops@example.com](mailto:ops@example.com) まで"),
    ("<!here> <!channel> <!everyone> 全員確認", "@here @channel @everyone 全員確認"),
    ("<!subteam^S0DEV|@dev-team> と <!subteam^S0OPS> へ", "@dev-team と @subteam へ"),
    ("<!date^1392734382^{date_short}|2014年2月18日> に決定", "2014年2月18日 に決定"),
    ("if a &lt; b &amp;&amp; b &gt; c", "if a < b && b > c"),
    ("&amp;lt; はそのまま", "&lt; はそのまま"),
    ("<https://example.com/a_(b)|[重要] 手順>", "[\\[重要\\] 手順](https://example.com/a_%28b%29)"),
    ("GILは *Global Interpreter Lock* の略\n2行目", "GILは *Global Interpreter Lock* の略\n2行目"),
])
def test_slack_markup_becomes_markdown(slack, markdown):
    assert S.to_markdown(slack, NAMES) == markdown


def test_names_are_written_as_they_are_not_unescaped():
    # A name comes from users.info (not escaped): "&lt;" in it is what the person typed.
    assert S.to_markdown("<@U0X> です", {"U0X": "A&amp;B <b>"}) == "@A&amp;B <b> です"


def test_plain_text_keeps_a_links_label_alone():
    text = "<@U0SATO> の <https://example.com/gil|GILの解説> を読んだ &amp; <!here>"
    assert S.plain_text(text, NAMES) == "@佐藤 の GILの解説 を読んだ & @here"


def test_mentioned_users():
    assert S.mentioned("<@U0YAMADA> <@U0OLD|suzuki> <#C0123|x> <!here> <https://x>") == {
        "U0YAMADA", "U0OLD"}


@pytest.mark.parametrize("text, title", [
    ("\n  \n  <@U0YAMADA>   GILって  何？ \n詳細は後で", "@山田 太郎 GILって 何？"),
    ("<https://example.com|障害報告> 2024-05-01", "障害報告 2024-05-01"),
    ("", ""),
    ("あ" * 400, "あ" * S.MAX_TITLE_CHARS),
])
def test_a_title_is_the_first_line_as_plain_text(text, title):
    assert S.title_from(text, NAMES) == title


def test_tags_are_split_on_any_comma_and_kept_once():
    assert S.tags_from(" python, GIL、 #スレッド，python ,, ") == ["python", "GIL", "スレッド"]
    assert S.tags_from(None) == [] and S.tags_from("  ") == []
    assert len(S.tags_from(",".join(f"t{n}" for n in range(50)))) == S.MAX_TAGS


@pytest.mark.parametrize("typed, folder", [
    ("slack/", "slack"), ("slack/障害対応/", "slack/障害対応"), ("", ""), (None, ""),
    ("../../etc", "etc"), ("/etc/cron.d", "etc/cron.d"), (".git/hooks", "git/hooks"),
    ("a/./b/../c", "a/b/c"), ("..\\..\\windows", "windows"), ("a\x00b/c:d", "a b/c d"),
])
def test_a_typed_folder_is_cleaned_into_the_corpus(typed, folder):
    assert S.folder_from(typed) == folder


def test_a_folder_leading_out_through_a_link_is_refused(tmp_path):
    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    corpus.mkdir()
    outside.mkdir()
    (corpus / "out").symlink_to(outside)
    assert S.inside(corpus, "out") is None
    assert S.inside(corpus, "slack") == (corpus / "slack").resolve()
    assert S.inside(corpus, "") == corpus.resolve()


def test_the_file_name_comes_from_channel_and_thread_alone():
    assert S.file_name("C0123ABC", "1690000001.000200") == "C0123ABC-1690000001-000200.md"
    for channel, ts in [("../C01", "1.2"), ("C01/x", "1.2"), ("C01", "1/2"), ("C01", ""),
                        ("c01", "1.2"), ("C01", "1.2\n")]:
        with pytest.raises(ValueError):
            S.file_name(channel, ts)


THREAD = [
    {"ts": "1690000001.000200", "user": "U0YAMADA", "thread_ts": "1690000001.000200",
     "text": "本番でCPUが張り付く件 <!here>\nログは <https://logs.example.com/q?a=1&amp;b=2|こちら>"},
    {"ts": "1690000100.000300", "user": "U0SATO", "thread_ts": "1690000001.000200",
     "text": "<@U0YAMADA> GILのせいでスレッドが並列に動いていないようです &lt;要確認&gt;",
     "files": [{"name": "profile.png", "title": "プロファイル結果",
                "permalink": "https://fake.slack.test/files/F1"}]},
    {"ts": "1690000200.000400", "bot_id": "B0CI", "username": "CI bot",
     "thread_ts": "1690000001.000200", "text": "ビルド成功"},
]


def test_a_thread_becomes_a_note_that_reads_back_as_intended():
    text = S.note_markdown("本番でCPUが張り付く件", THREAD, NAMES, ["python", "障害"],
                           "https://fake.slack.test/archives/C0123/p1690000001000200", JST)
    note, warnings = parse("slack/C0123-1690000001-000200.md", text.encode())
    assert warnings == []
    assert note.title == "本番でCPUが張り付く件"
    assert note.tags == ("python", "障害")
    assert note.url == "https://fake.slack.test/archives/C0123/p1690000001000200"
    assert note.date == "2023-07-22"  # 1690000001 is 2023-07-22 13:26:41 in Japan
    assert "author: 山田 太郎" in text
    body = text.split("---\n", 2)[2]
    assert body == (
        "**山田 太郎** 2023-07-22 13:26\n\n"
        "本番でCPUが張り付く件 @here\n"
        "ログは [こちら](https://logs.example.com/q?a=1&b=2)\n\n"
        "**佐藤** 2023-07-22 13:28\n\n"
        "@山田 太郎 GILのせいでスレッドが並列に動いていないようです <要確認>\n"
        "- [プロファイル結果](https://fake.slack.test/files/F1)\n\n"
        "**CI bot** 2023-07-22 13:30\n\n"
        "ビルド成功\n")
    assert "GILのせいでスレッドが並列に動いていない" in note.text
    assert "<!here>" not in note.text and "&lt;" not in note.text


def test_front_matter_is_safe_whatever_the_title_and_tags():
    title = 'key: "value" --- # not a comment'
    text = S.note_markdown(title, THREAD[:1], {}, ["a: b", "- c"], None, JST)
    note, warnings = parse("x.md", text.encode())
    assert warnings == [] and note.title == title and note.tags == ("a: b", "- c")
    assert note.url is None
    assert "author: U0YAMADA" in text  # no name known: the id


def test_the_forms_metadata_is_bound_to_user_channel_and_thread():
    key = b"k" * 32
    metadata = S.sign(key, "U0001", "C0123", "1690000001.000200")
    assert S.unsign(key, "U0001", metadata) == ("C0123", "1690000001.000200")
    assert S.unsign(key, "U0002", metadata) is None          # another user's form
    assert S.unsign(b"x" * 32, "U0001", metadata) is None    # made before a restart
    forged = metadata.replace("C0123", "C0SECRET")
    assert S.unsign(key, "U0001", forged) is None            # another channel
    for bad in (None, "", "not json", "[]", '{"c": "C0123"}',
                '{"c": "../x", "t": "1.2", "s": "00"}', '{"c": 1, "t": 2, "s": 3}'):
        assert S.unsign(key, "U0001", bad) is None


@pytest.fixture
def slack_env(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-x")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.delenv("NOTEBOT_EDITORS", raising=False)
    return monkeypatch


def test_editors_are_read_from_notebot_editors(slack_env):
    assert config.slack(http=True).editors == frozenset()  # unset: everyone may save
    slack_env.setenv("NOTEBOT_EDITORS", " U0AAA111 , W0BBB222,, ")
    assert config.slack(http=True).editors == frozenset({"U0AAA111", "W0BBB222"})


@pytest.mark.parametrize("value", ["@yamada", "U0AAA111, yamada", "u0aaa111", "U0A B"])
def test_editors_that_are_not_user_ids_are_refused_with_how_to_fix(slack_env, value):
    slack_env.setenv("NOTEBOT_EDITORS", value)
    with pytest.raises(config.ConfigError, match="NOTEBOT_EDITORS .* not a Slack user id"):
        config.slack(http=True)


def test_saving_is_for_editors_when_there_are_any(tmp_path):
    assert S.Saving(tmp_path).may_save("U0ANY")
    editors = S.Saving(tmp_path, frozenset({"U0ED"}))
    assert editors.may_save("U0ED") and not editors.may_save("U0ANY")
    assert not editors.may_save(None)
