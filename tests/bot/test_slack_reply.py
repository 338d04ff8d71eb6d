"""What the bot says in Slack: escaping, emphasis, language, and Slack's limits."""
from __future__ import annotations

import json

import pytest

from bot import reply
from index.search import Hit


def hit(path="python/gil.md", title="PythonのGIL", excerpt="GILはスレッドを一つずつ動かす。",
        matched=("GIL",), url=None, date=None, tags=()) -> Hit:
    return Hit(path, title, 1.0, 0.8, excerpt, tuple(matched), url, date, tuple(tags))


@pytest.mark.parametrize("question, lang", [
    ("GILって何？", "ja"),
    ("サーバーの選び方", "ja"),
    ("http.Clientの使い方", "ja"),
    ("What is the GIL?", "en"),
    ("oslo_service eventlet", "en"),
    ("70007", "ja"),  # no words to tell: the team's language
])
def test_language_follows_the_question(question, lang):
    assert reply.language(question) == lang


@pytest.mark.parametrize("text, expected", [
    ("<!channel> 全員集合", "&lt;!channel&gt; 全員集合"),
    ("<@U0BOSS> さんへ", "&lt;@U0BOSS&gt; さんへ"),
    ("<https://evil.example|公式サイト>", "&lt;https://evil.example|公式サイト&gt;"),
    ("@channel 見て", "@\u2060channel 見て"),
    ("@here と @Everyone", "@\u2060here と @\u2060Everyone"),
    ("a & b", "a &amp; b"),
    ("メールはuser@example.comへ", "メールはuser@example.comへ"),
])
def test_escape_leaves_no_markup_mentions_or_links(text, expected):
    assert reply.escape(text) == expected


@pytest.mark.parametrize("text, words, expected", [
    ("GILはロックです。", ["GIL"], "\u200b*GIL*\u200bはロックです。"),
    ("スレッドを走らせた", ["スレッド", "走らせ"], "\u200b*スレッド*\u200bを\u200b*走らせ*\u200bた"),
    ("<b>GIL</b>", ["GIL"], "&lt;b&gt;\u200b*GIL*\u200b&lt;/b&gt;"),
    ("a*b", ["*"], "a\u2217b"),  # markup is shown as a look-alike, never emphasised
    ("本文", [], "本文"),
])
def test_matched_words_are_bold_and_the_rest_escaped(text, words, expected):
    assert reply.emphasise(text, words) == expected


@pytest.mark.parametrize("slack_text, question", [
    ("<@UBOT> GILって何？", "GILって何？"),
    ("<@UBOT>   <@U0002> サーバーの選び方", "サーバーの選び方"),
    ("<#C0001|general> の <https://example.com|リンク> って？", "#general の リンク って？"),
    ("<https://example.com/a&amp;b>", "https://example.com/a&b"),
    ("a &lt; b &amp;&amp; c", "a < b && c"),
    ("<!here> 質問です", "質問です"),
    ("<@UBOT>", ""),
])
def test_question_text_drops_mentions_and_unwraps_links(slack_text, question):
    assert reply.question_text(slack_text) == question


def test_title_links_to_the_note_url_only_for_web_addresses():
    safe = reply.answer("GILとは", [hit(url="https://example.com/gil?a=1&b=2")])[1]
    assert safe[1]["text"]["text"].startswith("*<https://example.com/gil?a=1&amp;b=2|PythonのGIL>*")
    for url in ("javascript:alert(1)", "https://x.example/a|偽のタイトル", "https://a b"):
        blocks = reply.answer("GILとは", [hit(url=url)])[1]
        assert blocks[1]["text"]["text"].startswith("*PythonのGIL*\n")


def test_an_answer_stays_within_slacks_limits_whatever_the_notes_hold():
    huge = hit(path="a/" + "長" * 500 + ".md", title="<&>" * 400, excerpt="&" * 200,
               matched=["&"], url="https://example.com/" + "&" * 700, tags=["t" * 50] * 100)
    text, blocks = reply.answer("質問" * 2000, [huge] * 40, more=True, share=True)
    assert len(blocks) <= reply.MAX_BLOCKS
    for b in blocks:
        for o in [b.get("text")] + b.get("elements", []):
            if o and o.get("type") == "mrkdwn":
                assert len(o["text"]) <= reply.MAX_SECTION_CHARS
            if o and o.get("type") == "button":
                assert len(o["value"]) <= reply.MAX_VALUE_CHARS
                assert len(o["text"]["text"]) <= 75
                assert json.loads(o["value"])["q"].startswith("質問")
    assert len(text) <= 40_000


def test_a_note_path_too_long_for_a_button_loses_its_votes_not_the_answer():
    long = hit(path="a/" + "x" * 2100 + ".md")
    for text, blocks in (reply.answer("GILとは", [long, hit()], more=True),
                         reply.unsure("GILとは", [long, hit()])):
        values = [e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
        assert values and all(len(v) <= reply.MAX_VALUE_CHARS for v in values)
    _, blocks = reply.answer("GILとは", [long, hit()])
    assert [json.loads(v)["p"] for b in blocks if b["type"] == "actions"
            for v in [b["elements"][0]["value"]]] == ["python/gil.md"]


@pytest.mark.parametrize("markup", ["*太字*", "_斜体_", "~取り消し~", "`コード`", "```\nフェンス\n```"])
def test_slack_markup_in_a_note_shows_literally(markup):
    note = hit(title=f"題{markup}", excerpt=f"GILは{markup}です。")
    text, blocks = reply.answer("GIL", [note])
    for shown in (text, blocks[1]["text"]["text"]):
        assert not any(c in shown.replace("*GIL*", "") for c in "_~`")
        assert shown.count("*") == shown.count("*GIL*") * 2 + (2 if shown is not text else 0)
    assert "∗太字∗" in text or "ˍ斜体ˍ" in text or "∼取り消し∼" in text or "ˋコードˋ" in text \
        or "ˋˋˋ" in text


def test_page_numbers_and_buttons():
    text, blocks = reply.answer("GILとは", [hit(), hit(path="b.md")], offset=3, more=True)
    assert blocks[0]["text"]["text"] == "「GILとは」に近いノート（4〜5件目）"
    assert [e["action_id"] for e in blocks[-1]["elements"]] == ["more"]
    assert json.loads(blocks[-1]["elements"][0]["value"]) == {"q": "GILとは", "o": 5}
    assert text.splitlines()[1].startswith("4. PythonのGIL — ")


@pytest.mark.parametrize("question, offset, expected", [
    ("量子コンピュータ", 0, "「量子コンピュータ」に合うノートは見つかりませんでした。"),
    ("quantum computers", 0, "No notes match “quantum computers”."),
    ("GILとは", 3, "「GILとは」に近いノートはこれで全部です。"),
])
def test_nothing_found(question, offset, expected):
    text, blocks = reply.answer(question, [], offset=offset)
    assert text.startswith(expected)
    assert blocks == [{"type": "section", "text": {"type": "mrkdwn", "text": text,
                                                   "verbatim": True}}]


def test_shared_answers_name_who_shared_them_and_nothing_else():
    text, blocks = reply.answer("GILとは", [hit()])
    assert reply.shared("U0002", text, blocks, "GILとは")[1][0]["elements"][0]["text"] == \
        "<@U0002> さんが共有しました"
    assert reply.shared("<!channel>", text, blocks, "GILとは") == (text, blocks)


def test_home_tab_shows_the_index():
    view = reply.home({"notes": 30, "built_at": "2026-11-25T10:00:00+0000", "generation": "g"})
    assert view["type"] == "home"
    assert "ノート数 notes: *30*" in json.dumps(view, ensure_ascii=False)


def test_a_follow_up_keeps_its_thread_question_in_its_buttons():
    _, blocks = reply.answer("I/Oなら？", [hit()], more=True, share=True, context="GILって何？")
    for action in ("more", "share"):
        assert json.loads(P_button(blocks, action)["value"])["c"] == "GILって何？"
    assert "c" not in json.loads(P_button(blocks, "vote_up")["value"])  # a vote: what was asked
    _, blocks = reply.unsure("I/Oなら？", [hit()], context="GILって何？")
    assert json.loads(P_button(blocks, "show")["value"]) == {"q": "I/Oなら？", "c": "GILって何？",
                                                             "o": 0}


def P_button(blocks, action_id):
    return next(e for b in blocks if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == action_id)
