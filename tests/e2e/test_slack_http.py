"""End to end in HTTP mode: signed requests to the real Bolt app on waitress, answers to a fake
Slack Web API. Nothing here reaches Slack."""
from __future__ import annotations

import json
import logging
import socket
import threading
import time
import http.client
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.feedback import Votes
from conftest import write_note
from fakes import payloads as P
from fakes.bot import ADMIN, BOT_TOKEN, running
from fakes.slack_api import BOT_ID, BOT_USER_ID


@pytest.fixture
def slack(corpus, index_dir, tmp_path):
    with running(corpus, index_dir, tmp_path / "votes.sqlite3") as r:
        yield r


def texts(blocks) -> str:
    """All the text of a message's blocks."""
    return json.dumps(blocks, ensure_ascii=False)


def settle(slack, seconds: float = 0.5):
    """Let listeners that should do nothing get the chance to do something wrong."""
    time.sleep(seconds)


def test_a_mention_is_answered_in_its_thread(slack):
    event = P.mention("GILって何？")
    status, body = P.deliver(slack.url, P.event(event))
    assert (status, body) == (200, b"")
    [post] = slack.fake.wait_for("chat.postMessage")
    assert post.params["channel"] == "C0001"
    assert post.params["thread_ts"] == event["ts"]
    assert post.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    blocks = post.params["blocks"]
    title = "PythonのGlobal Interpreter Lock (GIL) について"
    assert f"<https://example.com/gil|{title}>" in blocks[1]["text"]["text"]
    assert "*GIL*" in blocks[1]["text"]["text"]
    assert "python/gil.md · 2019-05-01 · #python #gil" == blocks[2]["elements"][0]["text"]
    assert P.button(blocks, "vote_up")["value"] == '{"q": "GILって何？", "p": "python/gil.md"}'
    assert "GIL" in post.params["text"]  # the plain-text fallback


def test_a_direct_message_is_answered_directly(slack):
    event = P.message("Goのクロスコンパイルのやり方")
    P.deliver(slack.url, P.event(event))
    [post] = slack.fake.wait_for("chat.postMessage")
    assert post.params["channel"] == "D0001"
    assert "thread_ts" not in post.params
    assert "Go 1.5のクロスコンパイル" in texts(post.params["blocks"])


@pytest.mark.parametrize("question, expected", [
    ("鰻丼のおいしい店", "に合うノートは見つかりませんでした"),
    ("how to cook pasta", "No notes match"),
])
def test_no_match_gets_a_short_helpful_reply_in_the_askers_language(slack, question, expected):
    P.deliver(slack.url, P.event(P.message(question)))
    [post] = slack.fake.wait_for("chat.postMessage")
    assert expected in post.params["text"]
    assert len(post.params["blocks"]) == 1


def test_english_question_english_reply(slack):
    P.deliver(slack.url, P.event(P.message("What is the GIL in Python?")))
    [post] = slack.fake.wait_for("chat.postMessage")
    assert post.params["text"].startswith("Notes for “What is the GIL in Python?”")


def test_follow_ups_in_a_thread_where_the_bot_was_mentioned_are_answered_in_context(slack):
    root = P.mention("GILって何？")
    P.deliver(slack.url, P.event(root))
    slack.fake.wait_for("chat.postMessage", 1)
    # Not addressed to the bot: a plain channel message, and a reply in someone else's thread.
    P.deliver(slack.url, P.event(P.message("GILって何？", channel="C0001", channel_type="channel")))
    P.deliver(slack.url, P.event(P.message("スレッドの話", channel="C0001",
                                           channel_type="channel", thread_ts=P.next_ts())))
    follow_up = P.message("I/O待ちなら効果はある？", channel="C0001", channel_type="channel",
                          thread_ts=root["ts"])
    P.deliver(slack.url, P.event(follow_up))
    posts = slack.fake.wait_for("chat.postMessage", 2)
    settle(slack)
    posts = slack.fake.calls_to("chat.postMessage")
    assert len(posts) == 2
    assert posts[1].params["thread_ts"] == root["ts"]
    assert "python/gil.md" in texts(posts[1].params["blocks"])
    # the reply quotes the follow-up alone, and a vote records it alone
    assert "「I/O待ちなら効果はある？」" in posts[1].params["text"]
    assert "GILって何？" not in posts[1].params["text"]
    assert json.loads(P.button(posts[1].params["blocks"], "vote_up")["value"])["q"] == \
        "I/O待ちなら効果はある？"


def test_a_mention_inside_a_thread_is_answered_once_though_slack_sends_it_twice(slack):
    # A mention in a known thread arrives as app_mention AND as a message event.
    root = P.mention("GILって何？")
    P.deliver(slack.url, P.event(root))
    slack.fake.wait_for("chat.postMessage", 1)
    again = P.mention("スレッドは速くなる？", thread_ts=root["ts"])
    as_message = P.message(again["text"], channel="C0001", channel_type="channel",
                           ts=again["ts"], thread_ts=root["ts"])
    P.deliver(slack.url, P.event(as_message))
    P.deliver(slack.url, P.event(again))
    slack.fake.wait_for("chat.postMessage", 2)
    settle(slack)
    assert len(slack.fake.calls_to("chat.postMessage")) == 2


def test_slack_retries_are_answered_once(slack):
    payload = P.event(P.mention("GILって何？"))
    assert P.deliver(slack.url, payload)[0] == 200
    for n in (1, 2):
        status, _ = P.deliver(slack.url, payload, headers={"X-Slack-Retry-Num": str(n),
                                                           "X-Slack-Retry-Reason": "http_timeout"})
        assert status == 200
    slack.fake.wait_for("chat.postMessage")
    settle(slack)
    assert len(slack.fake.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize("event", [
    P.message("GILって何？", bot_id="B0OTHER", subtype="bot_message"),
    P.message("GILって何？", user=BOT_USER_ID, bot_id=BOT_ID),
    P.message("GILって何？", subtype="message_changed"),
    dict(P.mention("GILって何？"), bot_id="B0OTHER"),
], ids=["other bot", "itself", "edit", "bot mention"])
def test_bots_and_edits_are_ignored(slack, event):
    assert P.deliver(slack.url, P.event(event))[0] == 200
    P.deliver(slack.url, P.event(P.message("GILって何？")))  # a person's question after it
    slack.fake.wait_for("chat.postMessage")
    settle(slack)
    assert len(slack.fake.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize("secret, age, why", [
    ("forged-secret", 0, "forged signature"),
    (P.SIGNING_SECRET, 10 * 60, "stale timestamp (replay)"),
])
def test_forged_and_stale_requests_are_rejected(slack, secret, age, why):
    status, _ = P.deliver(slack.url, P.event(P.mention("GILって何？")), secret=secret,
                          timestamp=int(time.time()) - age)
    assert status == 401, why
    status, _ = P.deliver(slack.url, P.slash("GIL", slack.fake.response_url("x")), kind="command",
                          secret=secret, timestamp=int(time.time()) - age)
    assert status == 401, why
    settle(slack)
    assert slack.fake.calls_to("chat.postMessage") == []
    assert slack.fake.calls_to("response/x") == []


def post_raw(url: str, body: bytes, headers: dict) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.mark.parametrize("body, headers", [
    (b"\xff\xfe{not utf-8", {"Content-Type": "application/json"}),
    (b"[" * 100_000 + b"]" * 100_000, {"Content-Type": "application/json"}),
    (b"[1, 2, 3]", {"Content-Type": "application/json"}),
    (b'{"type": "event_callback"}', {"X-Slack-Request-Timestamp": "yesterday",
                                     "X-Slack-Signature": "v0=00"}),
    (b"payload=%7B%7B%7B", {"Content-Type": "application/x-www-form-urlencoded"}),
])
def test_malformed_unsigned_requests_get_401_and_one_log_line(slack, caplog, body, headers):
    with caplog.at_level(logging.INFO):
        assert post_raw(slack.url, body, headers) == 401
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.exc_info]
    assert len([r for r in caplog.records if "refused a request" in r.getMessage()]) == 1


def test_a_body_over_the_limit_is_refused_before_it_is_read(slack):
    url = urllib.parse.urlsplit(slack.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    connection.putrequest("POST", url.path)
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(40 * 1024 * 1024))
    connection.endheaders()  # the 40 MB never sent: the answer comes from the headers alone
    assert connection.getresponse().status == 413
    connection.close()
    status, _ = P.deliver(slack.url, P.event(P.mention("GILって何？")))  # still serving
    assert status == 200


@pytest.mark.parametrize("payload, kind, answer", [
    (lambda fake: P.event(P.mention("GILって何？")), "event", "chat.postMessage"),
    (lambda fake: P.slash("GILって何？", fake.response_url("cmd")), "command", "response/cmd"),
])
def test_slack_gets_its_ack_before_the_work_is_done(slack, payload, kind, answer):
    gate = threading.Event()
    search = slack.bot.searcher.search
    slack.bot.searcher.search = lambda *a, **kw: gate.wait(30) and search(*a, **kw)
    status, _ = P.deliver(slack.url, payload(slack.fake), kind=kind)  # while the search waits
    assert status == 200 and slack.fake.calls_to(answer) == []
    gate.set()
    slack.fake.wait_for(answer)


def test_slash_command_answers_privately_and_can_be_shared(slack):
    status, body = P.deliver(slack.url, P.slash("GILって何？", slack.fake.response_url("cmd")),
                             kind="command")
    assert (status, body) == (200, b"")  # acknowledged at once, answered afterwards
    [private] = slack.fake.wait_for("response/cmd")
    assert private.params["response_type"] == "ephemeral"
    share = P.button(private.params["blocks"], "share")
    P.deliver(slack.url, P.click(share, slack.fake.response_url("share"), ephemeral=True),
              kind="action")
    shared, deleted = slack.fake.wait_for("response/share", 2)
    assert shared.params["response_type"] == "in_channel"
    assert shared.params["blocks"][0]["elements"][0]["text"] == "<@U0001> さんが共有しました"
    assert "python/gil.md" in texts(shared.params["blocks"])
    assert "share" not in texts(shared.params["blocks"])
    assert deleted.params == {"delete_original": True}
    assert slack.fake.calls_to("chat.postMessage") == []


def shown(post) -> list[str]:
    """The note paths a posted answer shows."""
    return [b["elements"][0]["text"].split(" · ")[0] for b in post.params["blocks"]
            if b["type"] == "context"]


def test_more_results_continue_where_the_answer_was(slack):
    slack.bot.k = 2  # "サーバーのスレッド" matches three notes of the test corpus
    event = P.mention("サーバーのスレッド")
    P.deliver(slack.url, P.event(event))
    [first] = slack.fake.wait_for("chat.postMessage")
    assert len(shown(first)) == 2
    more = P.button(first.params["blocks"], "more")
    assert json.loads(more["value"]) == {"q": "サーバーのスレッド", "o": 2}
    P.deliver(slack.url, P.click(more, slack.fake.response_url("more"), thread_ts=event["ts"]),
              kind="action")
    second = slack.fake.wait_for("chat.postMessage", 2)[1]
    assert second.params["thread_ts"] == event["ts"]
    assert len(shown(second)) == 1 and shown(second)[0] not in shown(first)
    assert "（3〜3件目）" in second.params["blocks"][0]["text"]["text"]
    assert "more" not in {e["action_id"] for b in second.params["blocks"] if b["type"] == "actions"
                          for e in b["elements"]}


def test_votes_are_stored_with_question_note_and_user(slack, tmp_path, run_cli):
    P.deliver(slack.url, P.event(P.mention("GILとCPU")))
    [post] = slack.fake.wait_for("chat.postMessage")
    blocks = post.params["blocks"]
    P.deliver(slack.url, P.click(P.button(blocks, "vote_up", 0), slack.fake.response_url("v"),
                                 user="U0002"), kind="action")
    P.deliver(slack.url, P.click(P.button(blocks, "vote_down", 1), slack.fake.response_url("v"),
                                 user="U0002"), kind="action")
    thanks = slack.fake.wait_for("response/v", 2)
    assert thanks[0].params["response_type"] == "ephemeral"
    assert thanks[0].params["replace_original"] is False
    assert Votes(tmp_path / "votes.sqlite3").helpful() == [("GILとCPU", "python/gil.md")]
    result = run_cli(["feedback", "export", "--db", tmp_path / "votes.sqlite3"])
    assert (result.rc, result.out) == (0, "GILとCPU\tpython/gil.md\n")


@pytest.mark.parametrize("question, expected", [("GILって何？", "保存できませんでした"),
                                                ("What is the GIL?", "could not be saved")])
def test_a_vote_that_cannot_be_stored_is_acknowledged_and_the_user_told(
        corpus, index_dir, tmp_path, caplog, question, expected):
    with running(corpus, index_dir, tmp_path) as slack:  # the votes database is a directory
        P.deliver(slack.url, P.event(P.mention(question)))
        [post] = slack.fake.wait_for("chat.postMessage")
        status, _ = P.deliver(slack.url, P.click(P.button(post.params["blocks"], "vote_up"),
                                                 slack.fake.response_url("v")), kind="action")
        [sorry] = slack.fake.wait_for("response/v")
    assert status == 200
    assert sorry.params["response_type"] == "ephemeral"
    assert sorry.params["replace_original"] is False
    assert expected in sorry.params["text"]
    # (the bot's own log: waitress may log a closed socket of its own while the test server stops)
    # one line for the answer (given without the votes), one for the vote: no traceback
    logged = [r for r in caplog.records
              if r.name.startswith("notebot") and r.levelno >= logging.WARNING]
    assert [r.getMessage().split(":")[0] for r in logged] == [
        "answering without the votes", "vote lost"]
    assert all(str(tmp_path) in r.getMessage() and r.exc_info is None for r in logged)


def test_a_note_cannot_ping_mention_or_smuggle_links(slack, corpus):
    write_note(corpus, "evil.md", """---
title: "<!channel> 緊急 <@U0BOSS> @here"
url: "javascript:alert(1)"
---
メンテナンスのお知らせ <!everyone> @channel <https://evil.example/login|ログインはこちら> &lt;b&gt;
""")
    P.deliver(slack.url, P.event(P.mention("reindex", user=ADMIN)))
    slack.fake.wait_for("chat.postMessage", 1)
    P.deliver(slack.url, P.event(P.mention("メンテナンスのお知らせ <!here>")))
    post = slack.fake.wait_for("chat.postMessage", 2)[1]
    everything = post.params["text"] + texts(post.params["blocks"])
    assert "緊急" in everything and "メンテナンス" in everything
    for bad in ("<!channel>", "<!everyone>", "<!here>", "<@U0BOSS>", "<https://evil",
                "javascript:", "@here", "@channel"):
        assert bad not in everything
    assert "&lt;!channel&gt; 緊急 &lt;@U0BOSS&gt;" in everything  # shown, harmless
    assert "evil.example/login" in everything  # as text: its address is what one sees
    mrkdwn = [o for b in post.params["blocks"] for o in [b.get("text")] + b.get("elements", [])
              if o and o.get("type") == "mrkdwn"]
    assert mrkdwn and all(o["verbatim"] for o in mrkdwn)


def test_reindex_is_for_admins_only_and_picks_up_new_notes(slack, corpus):
    write_note(corpus, "new/kubernetes.md", "# Kubernetesのポッド\nポッドはコンテナをまとめる単位。\n")
    P.deliver(slack.url, P.slash("reindex", slack.fake.response_url("r1"), user="U0001"),
              kind="command")
    [refused] = slack.fake.wait_for("response/r1")
    assert "管理者だけ" in refused.params["text"]
    P.deliver(slack.url, P.event(P.message("ポッドとは")))
    [before] = slack.fake.wait_for("chat.postMessage")
    assert "new/kubernetes.md" not in texts(before.params.get("blocks"))

    P.deliver(slack.url, P.slash("reindex", slack.fake.response_url("r2"), user=ADMIN),
              kind="command")
    [done] = slack.fake.wait_for("response/r2")
    assert "再構築しました" in done.params["text"] and "1 added" in done.params["text"]
    P.deliver(slack.url, P.event(P.message("ポッドとは")))
    after = slack.fake.wait_for("chat.postMessage", 2)[1]
    assert shown(after)[0] == "new/kubernetes.md"


def test_a_build_elsewhere_is_picked_up_without_a_restart(slack, corpus, index_dir):
    from index import store

    write_note(corpus, "new/kubernetes.md", "# Kubernetesのポッド\nポッドはコンテナをまとめる単位。\n")
    store.build(corpus, index_dir)  # as `notebot build` in another process would
    P.deliver(slack.url, P.event(P.message("ポッドとは")))
    [post] = slack.fake.wait_for("chat.postMessage")
    assert "new/kubernetes.md" in texts(post.params["blocks"])


def test_home_tab_shows_index_status(slack):
    P.deliver(slack.url, P.event({"type": "app_home_opened", "user": "U0001", "channel": "D0001",
                                  "tab": "home"}))
    [publish] = slack.fake.wait_for("views.publish")
    assert publish.params["user_id"] == "U0001"
    assert "ノート数 notes: *8*" in texts(publish.params["view"]["blocks"])


def test_rate_limits_are_retried_and_web_api_errors_do_not_stop_the_bot(slack, caplog):
    slack.fake.fail("chat.postMessage", status=429)
    P.deliver(slack.url, P.event(P.message("GILって何？")))
    first = slack.fake.wait_for("chat.postMessage", 2)
    assert len(first) == 2  # refused once (429, Retry-After: 0), then delivered

    slack.fake.fail("chat.postMessage", error="not_in_channel")
    with caplog.at_level(logging.WARNING, logger="notebot.slack"):
        P.deliver(slack.url, P.event(P.mention("GILって何？", channel="C0002")))
        slack.fake.wait_for("chat.postMessage", 3)
        P.deliver(slack.url, P.event(P.message("Goのクロスコンパイル")))
        slack.fake.wait_for("chat.postMessage", 4)
    assert "chat_postMessage failed: not_in_channel" in caplog.text


def test_forty_concurrent_mentions_are_each_answered_exactly_once(slack):
    events = [P.mention(q) for q in ["GILって何？", "Goのクロスコンパイル", "70007エラー",
                                     "oslo_serviceとeventlet"] * 10]
    deliveries = [(e, {}) for e in events] + [(e, {"X-Slack-Retry-Num": "1"}) for e in events]
    payloads = {e["ts"]: P.event(e) for e in events}
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda d: P.deliver(slack.url, payloads[d[0]["ts"]],
                                                     headers=d[1])[0], deliveries))
    assert statuses == [200] * 80
    posts = slack.fake.wait_for("chat.postMessage", 40)
    settle(slack)
    posts = slack.fake.calls_to("chat.postMessage")
    assert sorted(p.params["thread_ts"] for p in posts) == sorted(payloads)


def test_tokens_never_appear_in_logs(corpus, index_dir, tmp_path):
    import io

    from bot.slack_app import configure_logging

    stream = io.StringIO()
    level = logging.getLogger().level
    handler = configure_logging(logging.DEBUG, stream)
    try:
        with running(corpus, index_dir, tmp_path / "votes.sqlite3") as r:
            P.deliver(r.url, P.event(P.message("GILって何？")))
            r.fake.wait_for("chat.postMessage")
            logging.getLogger("notebot.slack").warning("token is %s", BOT_TOKEN)
            time.sleep(0.5)
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(level)
    log = stream.getvalue()
    assert '"event": "question"' in log and "chat.postMessage" in log
    assert BOT_TOKEN not in log and BOT_TOKEN.split("-", 1)[1] not in log
    assert "xoxb-[redacted]" in log


def test_a_damaged_stored_note_gets_a_clear_answer(slack, index_dir):
    gen = index_dir / (index_dir / "CURRENT").read_text().strip()
    [docs] = gen.glob("*.docs.jsonl")
    docs.write_bytes(docs.read_bytes().replace(b"Global", b"Glocal", 1))  # same size
    P.deliver(slack.url, P.event(P.mention("GILって何？")))
    [post] = slack.fake.wait_for("chat.postMessage")
    assert "The index is damaged" not in post.params["text"]  # a Japanese question
    assert "インデックスが壊れていて" in post.params["text"]
    assert "notebot build --full" in texts(post.params["blocks"])
    assert "Glocal" not in texts(post.params["blocks"])


def test_requests_from_another_workspace_are_refused_and_logged_once(slack, caplog):
    with caplog.at_level(logging.INFO):
        other = dict(P.event(P.mention("GILって何？")), team_id="T0THER")
        other["authorizations"] = [dict(other["authorizations"][0], team_id="T0THER")]
        status, _ = P.deliver(slack.url, other)
        assert status == 200
        status, _ = P.deliver(slack.url, dict(P.slash("GIL", slack.fake.response_url("x")),
                                              team_id="T0THER"), kind="command")
        assert status == 200
        settle(slack)
    assert slack.fake.calls_to("chat.postMessage") == []
    assert slack.fake.calls_to("response/x") == []
    assert len([r for r in caplog.records if "T0THER" in r.getMessage()]) == 1
    P.deliver(slack.url, P.event(P.mention("GILって何？")))  # its own workspace: answered
    slack.fake.wait_for("chat.postMessage")


@pytest.mark.parametrize("value", ['{"q": "GILって何？", "o": -1}', '{"q": "GILって何？", "o": "x"}',
                                   '{"q": "GILって何？", "o": 1.5}', '{"q": "GIL", "o": 99999999}',
                                   '{"q": "GIL", "o": 3, "c": ["x"]}', "not json"])
def test_forged_more_buttons_are_ignored(slack, caplog, value):
    click = P.click({"type": "button", "action_id": "more", "value": value},
                    slack.fake.response_url("m"))
    with caplog.at_level(logging.INFO):
        assert P.deliver(slack.url, click, kind="action")[0] == 200
        settle(slack)
    assert slack.fake.calls_to("chat.postMessage") == []
    assert "malformed value" in caplog.text and "Traceback" not in caplog.text


def test_a_vote_on_a_note_that_is_not_in_the_index_is_not_stored(slack, tmp_path):
    value = '{"q": "GILって何？", "p": "no/such-note.md"}'
    click = P.click({"type": "button", "action_id": "vote_up", "value": value},
                    slack.fake.response_url("v"))
    assert P.deliver(slack.url, click, kind="action")[0] == 200
    settle(slack)
    assert Votes(tmp_path / "votes.sqlite3").helpful() == []
    assert slack.fake.calls_to("response/v") == []


def test_every_request_is_acknowledged_in_time_while_slow_work_piles_up(slack):
    gate = threading.Event()
    record = slack.bot.votes.record
    slack.bot.votes.record = lambda *a, **kw: gate.wait(30) and record(*a, **kw)  # a locked db
    value = '{"q": "GILって何？", "p": "python/gil.md"}'
    try:
        with ThreadPoolExecutor(12) as pool:  # more votes than Bolt has listener threads
            votes = [pool.submit(P.deliver, slack.url, P.click(
                {"type": "button", "action_id": "vote_up", "value": value},
                slack.fake.response_url(f"v{n}"), user=f"U{n:04d}"), kind="action")
                for n in range(12)]
            assert [v.result()[0] for v in votes] == [200] * 12
        started = time.monotonic()
        status, _ = P.deliver(slack.url, P.slash("GILって何？", slack.fake.response_url("cmd")),
                              kind="command")
        # (held up behind the votes, it would wait for their 30 s gate)
        assert status == 200 and time.monotonic() - started < 10
        slack.fake.wait_for("response/cmd")  # answered while the votes still wait
    finally:
        gate.set()
    for n in range(12):
        slack.fake.wait_for(f"response/v{n}")


def test_signed_requests_are_served_while_slow_clients_hold_connections(slack):
    url = urllib.parse.urlsplit(slack.url)
    slow = []
    try:
        for _ in range(150):  # each sends part of a request, then nothing
            s = socket.create_connection((url.hostname, url.port), timeout=10)
            s.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Le")
            slow.append(s)
        started = time.monotonic()
        status, _ = P.deliver(slack.url, P.slash("GILって何？", slack.fake.response_url("cmd")),
                              kind="command")
        # (held up behind the slow clients, it would wait for their 15 s channel timeout)
        assert status == 200 and time.monotonic() - started < 10
        slack.fake.wait_for("response/cmd")
    finally:
        for s in slow:
            s.close()


def test_answers_learn_from_the_vote_buttons(slack):
    def answer(question: str, n: int) -> list:
        P.deliver(slack.url, P.event(P.mention(question)))
        return slack.fake.wait_for("chat.postMessage", n)[-1].params["blocks"]

    def first(blocks) -> str:
        return json.loads(P.button(blocks, "vote_up", 0)["value"])["p"]

    blocks = answer("GILとCPU", 1)
    assert first(blocks) == "python/gil.md"
    P.deliver(slack.url, P.click(P.button(blocks, "vote_down", 0), slack.fake.response_url("v"),
                                 user="U0002"), kind="action")
    slack.fake.wait_for("response/v")
    # the same question again: the note voted down is no longer the answer, nor first
    text = texts(answer("GILとCPU", 2))
    assert "確信を持って答えられるノートはありません" in text
    assert text.index("サーバーの選び方") < text.index("Global Interpreter Lock")
    assert first(answer("GILって何？", 3)) == "python/gil.md"  # another question: as before
