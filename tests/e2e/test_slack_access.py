"""End to end in HTTP mode, with an access settings file: signed requests to the real Bolt app,
answers to the fake Web API. A private collection (``hr``) is answered only where its users
alone see the answer; a restricted channel answers from its collections only; forged button
values reveal nothing; the file is followed while the bot runs; logs hold no private text."""
from __future__ import annotations

import json
import logging

import pytest

from bot.feedback import Votes
from conftest import bump_mtime, write_note
from fakes import payloads as P
from fakes.bot import running

HR, MEMBER, OTHER = "U0HR", "U0MEMBER", "U0OTHER"  # a listed user, a group's member, anyone
HR_DM, MEMBER_DM, OTHER_DM = "D0HR", "D0MEMBER", "D0OTHER"
ENG = "C0ENG"  # a channel restricted to the collection "go"
PRIVATE = "hr/salary.md"
SECRET = "昇給率"  # in the private note's text only
QUESTION = "給与テーブルの改定はいつ？"

SETTINGS = f"""
[collections.hr]
private = true
users = ["{HR}"]
groups = ["S0HRTEAM"]

[channels.{ENG}]
collections = ["go"]
"""


@pytest.fixture
def access_path(tmp_path):
    path = tmp_path / "access.toml"
    path.write_text(SETTINGS, encoding="utf-8")
    return path


@pytest.fixture
def slack(corpus, index_dir, tmp_path, access_path):
    write_note(corpus, PRIVATE, f"# 給与テーブル\n\n給与テーブルの改定は毎年四月。{SECRET}は等級ごと"
               "に決まり、サーバーのスレッドでは相談しない。\n")
    with running(corpus, index_dir, tmp_path / "votes.sqlite3", access=access_path) as r:
        r.fake.groups["S0HRTEAM"] = [MEMBER]
        yield r


def texts(call) -> str:
    return call.params.get("text", "") + json.dumps(call.params.get("blocks"), ensure_ascii=False)


def reveals(call) -> bool:
    """Whether a reply shows anything of the private note."""
    return PRIVATE in texts(call) or SECRET in texts(call) or "給与テーブル</" in texts(call) \
        or "*給与テーブル*" in texts(call)


def deliver(slack, payload, method: str, kind: str = "event"):
    """Deliver ``payload`` and return the call to ``method`` it leads to."""
    before = len(slack.fake.calls_to(method))
    status, _ = P.deliver(slack.url, payload, kind=kind)
    assert status == 200
    return slack.fake.wait_for(method, before + 1)[before]


def dm(slack, text: str, user: str, channel: str, thread_ts=None):
    return deliver(slack, P.event(P.message(text, channel=channel, user=user,
                                            thread_ts=thread_ts)), "chat.postMessage")


def mention(slack, text: str, user: str, channel: str = "C0001", thread_ts=None):
    return deliver(slack, P.event(P.mention(text, channel=channel, user=user,
                                            thread_ts=thread_ts)), "chat.postMessage")


def slash(slack, text: str, user: str, channel: str = "C0001"):
    return deliver(slack, P.slash(text, slack.fake.response_url("cmd"), user=user,
                                  channel=channel), "response/cmd", kind="command")


def click(slack, action: dict, user: str, channel: str, method: str, ephemeral=False,
          thread_ts=None):
    name = method.split("/", 1)[1] if method.startswith("response/") else "click"
    return deliver(slack, P.click(action, slack.fake.response_url(name), user=user,
                                  channel=channel, ephemeral=ephemeral, thread_ts=thread_ts),
                   method, kind="action")


def button(action_id: str, **value) -> dict:
    return {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": "x"},
            "value": json.dumps(value, ensure_ascii=False)}


def test_a_private_note_is_never_in_a_channel_answer_or_thread_reply(slack):
    root = P.mention(QUESTION, user=HR)
    answer = deliver(slack, P.event(root), "chat.postMessage")
    assert not reveals(answer)
    follow_up = P.message("給与テーブルの昇給は？", channel="C0001", channel_type="channel",
                          user=HR, thread_ts=root["ts"])
    reply = deliver(slack, P.event(follow_up), "chat.postMessage")
    assert reply.params["thread_ts"] == root["ts"] and not reveals(reply)


@pytest.mark.parametrize("user, channel, sees", [
    (HR, HR_DM, True), (MEMBER, MEMBER_DM, True), (OTHER, OTHER_DM, False),
], ids=["listed user", "group member", "anyone else"])
def test_a_dm_answers_from_a_private_collection_for_its_users_only(slack, user, channel, sees):
    answer = dm(slack, QUESTION, user, channel)
    assert reveals(answer) == sees
    assert (PRIVATE in texts(answer)) == sees
    if user == MEMBER:
        [asked] = slack.fake.calls_to("usergroups.users.list")
        assert asked.params["usergroup"] == "S0HRTEAM"


def test_group_members_are_asked_of_slack_once_for_a_while(slack):
    for _ in range(3):
        assert reveals(dm(slack, QUESTION, MEMBER, MEMBER_DM))
    assert len(slack.fake.calls_to("usergroups.users.list")) == 1
    slack.fake.groups["S0HRTEAM"] = []  # (membership is kept: the bot asks again later)
    assert reveals(dm(slack, QUESTION, MEMBER, MEMBER_DM))


def test_threads_follow_where_they_started(slack):
    # A thread in the DM: the asker alone sees it.
    root = P.message("サーバーの選び方", channel=HR_DM, user=HR)
    deliver(slack, P.event(root), "chat.postMessage")
    assert reveals(dm(slack, QUESTION, HR, HR_DM, thread_ts=root["ts"]))
    # A thread in a channel, started by the same user: everyone there sees it.
    root = P.mention("サーバーの選び方", user=HR)
    deliver(slack, P.event(root), "chat.postMessage")
    follow_up = P.message(QUESTION, channel="C0001", channel_type="channel", user=HR,
                          thread_ts=root["ts"])
    assert not reveals(deliver(slack, P.event(follow_up), "chat.postMessage"))


def test_the_slash_command_answers_privately_for_its_users_only(slack):
    mine = slash(slack, QUESTION, HR)
    assert mine.params["response_type"] == "ephemeral" and reveals(mine)
    assert not reveals(slash(slack, QUESTION, OTHER))
    assert not reveals(slash(slack, QUESTION, HR, channel=ENG))  # (ENG answers from go only)


def test_sharing_an_answer_that_holds_a_private_note_is_refused(slack):
    mine = slash(slack, QUESTION, HR)
    share = P.button(mine.params["blocks"], "share")
    refused = click(slack, share, HR, "C0001", "response/share", ephemeral=True)
    assert refused.params["response_type"] == "ephemeral"
    assert "共有できません" in refused.params["text"] and not reveals(refused)
    assert len(slack.fake.calls_to("response/share")) == 1  # nothing posted, nothing deleted
    # An answer without one is shared as ever.
    mine = slash(slack, "GILって何？", HR)
    shared = click(slack, P.button(mine.params["blocks"], "share"), HR, "C0001",
                   "response/share", ephemeral=True)
    assert shared.params["response_type"] == "in_channel" and "python/gil.md" in texts(shared)


@pytest.mark.parametrize("action, user, channel, ephemeral, method", [
    # "more" with the private question and other offsets, posted in a channel or a thread
    (button("more", q=QUESTION, o=0), HR, "C0001", False, "chat.postMessage"),
    (button("more", q=QUESTION, o=1), HR, "C0001", False, "chat.postMessage"),
    # ... or clicked by another user in the DM of a user who may see it
    (button("more", q=QUESTION, o=0), OTHER, HR_DM, False, "chat.postMessage"),
    # ... or by that user in a DM between people, where a shared answer sits
    (button("more", q=QUESTION, o=0), HR, "D0PEOPLE", False, "chat.postMessage"),
    (button("more", q=QUESTION, o=0), OTHER, "C0001", True, "response/click"),
    # "show" for someone else, or in a channel that answers from go only
    (button("show", q=QUESTION, o=0), OTHER, "C0001", True, "response/click"),
    (button("show", q=QUESTION, o=0, c="サーバー"), HR, ENG, True, "response/click"),
    # "share" of the private question by someone who may not see it
    (button("share", q=QUESTION, o=0), OTHER, "C0001", True, "response/click"),
], ids=["more", "more offset", "more in another's DM", "more in a DM between people",
        "more ephemeral", "show other user",
        "show restricted channel", "share other user"])
def test_forged_buttons_reveal_no_private_note(slack, action, user, channel, ephemeral,
                                               method):
    answer = click(slack, action, user, channel, method, ephemeral=ephemeral)
    assert not reveals(answer)


def test_the_same_buttons_show_it_to_its_users_where_they_alone_see(slack):
    dm(slack, "こんにちは", HR, HR_DM)  # (the bot learns this is HR's DM)
    assert reveals(click(slack, button("more", q=QUESTION, o=0), HR, HR_DM, "chat.postMessage"))
    assert reveals(click(slack, button("show", q=QUESTION, o=0), HR, "C0001", "response/click",
                         ephemeral=True))


def test_a_vote_on_a_private_note_counts_only_where_it_was_shown(slack, tmp_path):
    votes = Votes(tmp_path / "votes.sqlite3")
    forged = button("vote_up", q=QUESTION, p=PRIVATE)
    for user, channel, ephemeral in [(OTHER, "C0001", False), (HR, "C0001", False),
                                     (OTHER, OTHER_DM, False), (OTHER, "C0001", True)]:
        P.deliver(slack.url, P.click(forged, slack.fake.response_url("vote"), user=user,
                                     channel=channel, ephemeral=ephemeral), kind="action")
    answer = dm(slack, QUESTION, HR, HR_DM)  # (after the votes: handled in order)
    assert slack.fake.calls_to("response/vote") == [] and votes.rows() == []
    vote = P.button(answer.params["blocks"], "vote_up")
    assert json.loads(vote["value"])["p"] == PRIVATE
    click(slack, vote, HR, HR_DM, "response/vote")
    assert [(v.user, v.path) for v in votes.rows()] == [(HR, PRIVATE)]
    # The vote teaches the search, but never lifts the note where it may not be seen.
    assert not reveals(mention(slack, QUESTION, HR))
    assert not reveals(mention(slack, QUESTION, OTHER))


def test_a_channel_answers_from_its_collections_only(slack):
    assert "python/gil.md" in texts(mention(slack, "GILって何？", OTHER))
    restricted = mention(slack, "GILって何？", OTHER, channel=ENG)
    assert "python/gil.md" not in texts(restricted)
    assert "go/cross-compile.md" in texts(mention(slack, "Goのクロスコンパイル", OTHER, channel=ENG))
    more = mention(slack, "サーバーのスレッド", HR, channel=ENG)
    assert all(p.startswith("go/") for p in paths(more))


def paths(call) -> list[str]:
    return [b["elements"][0]["text"].split(" · ")[0] for b in call.params.get("blocks") or ()
            if b["type"] == "context"]


def test_the_home_tab_counts_the_notes_its_user_sees(slack, corpus):
    def home(user):
        view = deliver(slack, P.event({"type": "app_home_opened", "user": user,
                                       "channel": "D0X", "tab": "home"}), "views.publish")
        assert view.params["user_id"] == user
        return json.dumps(view.params["view"], ensure_ascii=False)

    total = sum(1 for p in corpus.rglob("*") if p.is_file())
    assert f"*{total}*" in home(HR)
    assert f"*{total - 1}*" in home(OTHER)


def test_a_changed_file_takes_effect_without_a_restart(slack, access_path, caplog):
    assert not reveals(mention(slack, QUESTION, OTHER))
    access_path.write_text("[channels.C0001]\ncollections = [\"hr\", \"tools\"]\n",
                           encoding="utf-8")  # hr public now, and C0001 restricted
    bump_mtime(access_path)
    assert PRIVATE in texts(mention(slack, QUESTION, OTHER))
    assert paths(mention(slack, "GILって何？", OTHER)) == []
    with caplog.at_level(logging.INFO):
        access_path.write_text("[channels.C0001\n", encoding="utf-8")  # broken: kept as it was
        bump_mtime(access_path, 20)
        for _ in range(2):
            assert PRIVATE in texts(mention(slack, QUESTION, OTHER))
    assert len([r for r in caplog.records if "keeping the last good" in r.getMessage()]) == 1
    access_path.write_text(SETTINGS, encoding="utf-8")
    bump_mtime(access_path, 30)
    assert not reveals(mention(slack, QUESTION, OTHER))


def test_logs_hold_no_private_text(slack, caplog):
    with caplog.at_level(logging.INFO):
        assert reveals(dm(slack, QUESTION, HR, HR_DM))
        assert reveals(slash(slack, QUESTION, HR))
        mine = slash(slack, QUESTION, HR)
        click(slack, P.button(mine.params["blocks"], "share"), HR, "C0001", "response/share",
              ephemeral=True)
        click(slack, button("more", q=QUESTION, o=0), OTHER, "C0001", "chat.postMessage")
        P.deliver(slack.url, P.click(button("vote_up", q=QUESTION, p=PRIVATE),
                                     slack.fake.response_url("vote"), user=OTHER), kind="action")
        dm(slack, "GILって何？", OTHER, OTHER_DM)
    logged = caplog.text
    assert caplog.records and SECRET not in logged and "給与" not in logged
    assert PRIVATE not in logged
