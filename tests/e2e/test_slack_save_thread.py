"""End to end: "Save as note" on a thread, over signed HTTP to the real Bolt app, with the fake
Web API holding the thread. Shortcut → form (views.open) → submission → note on disk → answers."""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import pytest

from bot import save_thread
from fakes import payloads as P
from fakes.bot import running
from index.notes import parse

YAMADA, SATO, EDITOR = "U0YAMADA", "U0SATO", "U0EDITOR"
USERS = {YAMADA: {"id": YAMADA, "name": "yamada", "real_name": "Yamada Taro",
                  "profile": {"display_name": "山田 太郎", "real_name": "Yamada Taro"}},
         SATO: {"id": SATO, "name": "sato", "profile": {"display_name": "", "real_name": "佐藤"}},
         "U0001": {"id": "U0001", "name": "asker", "profile": {"display_name": "質問者"}},
         EDITOR: {"id": EDITOR, "name": "editor", "profile": {"display_name": "編集者"}}}


@pytest.fixture
def slack(corpus, index_dir, tmp_path):
    with running(corpus, index_dir, tmp_path / "votes.sqlite3") as r:
        r.fake.users.update(USERS)
        yield r


def texts(blocks) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def make_thread(fake, parent_text: str, replies: list[tuple[str, str]], channel="C0001") -> dict:
    """A thread in the fake Slack: the parent by Yamada, then ``replies`` (user, text); returns
    the parent."""
    ts = P.next_ts()
    parent = {"type": "message", "ts": ts, "thread_ts": ts, "user": YAMADA, "text": parent_text,
              "reply_count": len(replies)}
    base = float(ts)
    fake.threads[(channel, ts)] = [parent] + [
        {"type": "message", "ts": f"{base + n:.6f}", "thread_ts": ts, "user": user, "text": text}
        for n, (user, text) in enumerate(replies, 1)]
    return parent


def open_form(slack, message: dict, user="U0001", channel="C0001") -> dict:
    """Run the shortcut on ``message``; the view that views.open received."""
    before = len(slack.fake.calls_to("views.open"))
    status, body = P.deliver(slack.url, P.shortcut(message, user=user, channel=channel),
                             kind="action")
    assert (status, body) == (200, b"")  # acknowledged at once
    opened = slack.fake.wait_for("views.open", before + 1)[before]
    assert opened.params["trigger_id"] == "1.2.3"
    return opened.params["view"]


def submit(slack, view: dict, user="U0001", **values) -> dict:
    """Submit ``view`` with ``values`` typed (title, folder, tags); Slack's HTTP answer."""
    typed = {"title": None, "folder": None, "tags": None}
    typed.update({b["block_id"]: b["element"].get("initial_value")
                  for b in view["blocks"] if b["type"] == "input"})
    typed.update(values)
    status, body = P.deliver(slack.url, P.submission(view, typed, user=user), kind="action")
    assert status == 200
    return json.loads(body) if body else {}


def result(slack, count: int = 1) -> str:
    """What the form said in the end (the ``count``-th views.update); after a save, once the
    message in the thread is posted too."""
    updates = slack.fake.wait_for("views.update", count)
    assert updates[count - 1].params["view_id"] == "V00000001"
    said = [texts(u.params["view"]["blocks"]) for u in updates[:count]]
    slack.fake.wait_for("chat.postEphemeral", sum("Saved" in s or "Updated" in s for s in said))
    return said[-1]


def initial(view: dict, block: str):
    [b] = [b for b in view["blocks"] if b.get("block_id") == block]
    return b["element"].get("initial_value")


def saved(corpus: Path) -> list[str]:
    return sorted(p.relative_to(corpus).as_posix() for p in corpus.rglob("C0*.md"))


REDIS = ("<@U0SATO> Redisのメモリが足りなくなったときの対処は？ <!here>\n本番のキャッシュが溢れています",
         [(SATO, "maxmemory-policyをallkeys-lruにすれば、古いキーから消えます &amp; 再起動は不要です"),
          (YAMADA, "<@U0SATO> ありがとう、<https://redis.io/docs/manual/eviction/|eviction の文書> "
                   "も読みました &lt;メモ&gt;"),
          ("U0001", "<#C0INFRA|infra> にも共有しておきます")])


def test_a_thread_is_saved_as_a_note_that_answers_the_next_question(slack, corpus):
    parent = make_thread(slack.fake, *REDIS)
    reply = slack.fake.threads[("C0001", parent["ts"])][2]
    view = open_form(slack, reply)  # the shortcut on a reply: the whole thread is saved
    assert view["type"] == "modal" and view["callback_id"] == "save_note"
    assert initial(view, "title") == "@佐藤 Redisのメモリが足りなくなったときの対処は？ @here"
    assert initial(view, "folder") == "slack/" and initial(view, "tags") is None
    assert [b["optional"] for b in view["blocks"]] == [False, True, True]
    assert parent["ts"] in view["private_metadata"]

    answer = submit(slack, view, title="  Redisのメモリ不足の対処  ", tags="redis, 障害、 #キャッシュ")
    assert answer["response_action"] == "update"  # "saving…" while the thread is read
    assert "保存しています" in texts(answer["view"]["blocks"])
    path = f"slack/C0001-{parent['ts'].replace('.', '-')}.md"
    said = result(slack)
    assert f"保存しました / Saved: `{path}` (4 件のメッセージ" in said
    assert "Redisのメモリ不足の対処" in said  # the start of the answer to the title
    [ephemeral] = slack.fake.wait_for("chat.postEphemeral")
    assert ephemeral.params["channel"] == "C0001" and ephemeral.params["user"] == "U0001"
    assert ephemeral.params["thread_ts"] == parent["ts"] and path in ephemeral.params["text"]

    text = (corpus / path).read_text(encoding="utf-8")
    note, warnings = parse(path, text.encode())
    assert warnings == []
    assert note.title == "Redisのメモリ不足の対処"
    assert note.tags == ("redis", "障害", "キャッシュ")
    assert note.url == f"https://fake.slack.test/archives/C0001/p{parent['ts'].replace('.', '')}"
    assert note.date == "2023-07-22" and "author: 山田 太郎" in text
    assert "**山田 太郎** 2023-07-22 13:" in text and "**佐藤** 2023-07-22 13:" in text
    assert "**質問者** " in text
    assert "@佐藤 Redisのメモリが足りなくなったときの対処は？ @here" in text
    assert "古いキーから消えます & 再起動は不要です" in text
    assert "[eviction の文書](https://redis.io/docs/manual/eviction/) も読みました <メモ>" in text
    assert "#infra にも共有しておきます" in text
    assert "<@" not in text and "&amp;" not in text and "<!here>" not in text

    replies = slack.fake.calls_to("conversations.replies")
    assert [c.params.get("limit") for c in replies] == ["1", "200"]
    assert all(c.params["channel"] == "C0001" and c.params["ts"] == parent["ts"]
               for c in replies)
    asked = [c.params["user"] for c in slack.fake.calls_to("users.info")]
    assert sorted(asked) == ["U0001", SATO, YAMADA]  # each once: names are kept

    P.deliver(slack.url, P.event(P.mention("Redisのメモリが足りないときは？")))
    [post] = slack.fake.wait_for("chat.postMessage")
    first = [b for b in post.params["blocks"] if b["type"] == "context"][0]
    assert first["elements"][0]["text"].startswith(path)


def test_saving_a_thread_again_updates_its_one_note(slack, corpus):
    parent = make_thread(slack.fake, "Nginxの502エラーの調べ方", [(SATO, "upstreamのログを見る")])
    submit(slack, open_form(slack, parent), tags="nginx")
    assert "保存しました" in result(slack, 1)
    path = f"slack/C0001-{parent['ts'].replace('.', '-')}.md"
    assert saved(corpus) == [path]

    slack.fake.threads[("C0001", parent["ts"])].append(
        {"type": "message", "ts": f"{float(parent['ts']) + 50:.6f}", "user": YAMADA,
         "text": "proxy_read_timeoutも確認"})
    view = open_form(slack, parent)  # prefilled from the note: its title, folder and tags
    assert (initial(view, "title"), initial(view, "folder"), initial(view, "tags")) == (
        "Nginxの502エラーの調べ方", "slack/", "nginx")
    submit(slack, view, title="Nginx 502の調べ方")
    assert f"更新しました / Updated: `{path}` (3 件" in result(slack, 2)
    assert saved(corpus) == [path]
    text = (corpus / path).read_text(encoding="utf-8")
    assert "Nginx 502の調べ方" in text and "proxy_read_timeoutも確認" in text

    submit(slack, open_form(slack, parent), folder="infra/web")  # moved: still one note
    assert "更新しました" in result(slack, 3)
    moved = f"infra/web/C0001-{parent['ts'].replace('.', '-')}.md"
    assert saved(corpus) == [moved]
    assert slack.bot.searcher.has(moved) and not slack.bot.searcher.has(path)


def test_a_thousand_reply_thread_is_read_page_by_page(slack, corpus):
    replies = [((SATO, YAMADA)[n % 2], f"返信{n:04d} Kafkaのコンシューマーラグ") for n in range(1000)]
    parent = make_thread(slack.fake, "Kafkaのラグが増え続ける", replies)
    submit(slack, open_form(slack, parent))
    assert "(1001 件のメッセージ" in result(slack)
    pages = slack.fake.calls_to("conversations.replies")[1:]
    assert len(pages) == 6  # 199 replies a page after the parent
    assert "cursor" not in pages[0].params
    assert all(p.params.get("cursor") for p in pages[1:])
    text = (corpus / f"slack/C0001-{parent['ts'].replace('.', '-')}.md").read_text()
    found = [line.split()[0] for line in text.splitlines() if line.startswith("返信")]
    assert found == [f"返信{n:04d}" for n in range(1000)]  # each once, in order
    assert text.count("Kafkaのラグが増え続ける") == 2  # title and the parent, once
    assert sorted(c.params["user"] for c in slack.fake.calls_to("users.info")) == [SATO, YAMADA]


def test_a_channel_the_bot_cannot_read_is_explained_and_nothing_written(slack, corpus):
    secret = make_thread(slack.fake, "非公開の相談", [(SATO, "ここだけの話")], channel="C0SECRET")
    slack.fake.unreadable.add("C0SECRET")
    view = open_form(slack, secret, channel="C0SECRET")
    assert "submit" not in view and "/invite @notebot" in texts(view["blocks"])

    # Readable when the form opened, not any more when it is submitted.
    parent = make_thread(slack.fake, "Terraformのstateロック", [(SATO, "force-unlockする")])
    view = open_form(slack, parent)
    slack.fake.unreadable.add("C0001")
    submit(slack, view)
    assert "/invite @notebot" in result(slack)
    assert saved(corpus) == [] and slack.fake.calls_to("chat.postEphemeral") == []


def test_when_the_form_is_gone_the_result_comes_as_a_direct_message(slack, corpus):
    parent = make_thread(slack.fake, "Kubernetesのポッドが再起動を繰り返す", [(SATO, "OOMKilled")])
    view = open_form(slack, parent)
    slack.fake.fail("views.update", error="not_found")  # closed before the save was done
    submit(slack, view)
    [told] = slack.fake.wait_for("chat.postMessage")
    assert told.params["channel"] == "U0001" and "保存しました" in told.params["text"]
    assert len(saved(corpus)) == 1


def test_only_editors_may_save(corpus, index_dir, tmp_path):
    with running(corpus, index_dir, tmp_path / "v.sqlite3", editors=frozenset({EDITOR})) as slack:
        slack.fake.users.update(USERS)
        parent = make_thread(slack.fake, "PostgreSQLのVACUUMが遅い", [(SATO, "autovacuumの設定")])
        view = open_form(slack, parent, user="U0001")
        assert "submit" not in view and "NOTEBOT_EDITORS" in texts(view["blocks"])
        form = open_form(slack, parent, user=EDITOR)
        assert "submit" in form
        refused = submit(slack, form, user="U0001")  # an editor's form, submitted by another
        assert refused["response_action"] == "errors"
        assert "NOTEBOT_EDITORS" in refused["errors"]["title"]
        assert saved(corpus) == []
        assert submit(slack, form, user=EDITOR)["response_action"] == "update"
        assert "保存しました" in result(slack)
        assert len(saved(corpus)) == 1


def test_forged_submissions_name_no_other_channel_and_write_nowhere_else(slack, corpus,
                                                                        tmp_path):
    make_thread(slack.fake, "秘密のチャンネル", [(SATO, "機密")], channel="C0SECRET")
    parent = make_thread(slack.fake, "Dockerのログ肥大", [(SATO, "log-optsでmax-size")])
    view = open_form(slack, parent)
    metadata = json.loads(view["private_metadata"])
    for forged in (dict(metadata, c="C0SECRET"), dict(metadata, t="1690000000.000100"),
                   {"c": "C0SECRET", "t": metadata["t"]}):
        refused = submit(slack, dict(view, private_metadata=json.dumps(forged)))
        assert refused["response_action"] == "errors" and "古くなりました" in refused["errors"]["title"]
    (tmp_path / "outside").mkdir()
    (corpus / "elsewhere").symlink_to(tmp_path / "outside")
    refused = submit(slack, view, folder="elsewhere/")
    assert refused == {"response_action": "errors",
                       "errors": {"folder": save_thread.TEXTS["bad_folder"]}}
    assert len(slack.fake.calls_to("conversations.replies")) == 1  # the form's, no more

    submit(slack, view, folder="../../outside/")  # cleaned: a folder inside the corpus
    assert "保存しました" in result(slack)
    assert saved(corpus) == [f"outside/C0001-{parent['ts'].replace('.', '-')}.md"]
    assert list((tmp_path / "outside").iterdir()) == []


def test_an_empty_title_is_refused_in_the_form(slack, corpus):
    parent = make_thread(slack.fake, "<https://example.com|>", [])
    view = open_form(slack, parent)
    refused = submit(slack, view, title=" \u3000 ")
    assert refused["response_action"] == "errors" and "タイトル" in refused["errors"]["title"]
    assert saved(corpus) == [] and len(slack.fake.calls_to("conversations.replies")) == 1


def test_a_read_only_corpus_is_said_in_the_form_and_nothing_is_lost(slack, corpus,
                                                                    monkeypatch):
    parent = make_thread(slack.fake, "Goのgoroutineリーク", [(SATO, "pprofで見る")])
    submit(slack, open_form(slack, parent))
    assert "保存しました" in result(slack, 1)
    [path] = saved(corpus)
    before = (corpus / path).read_bytes()

    # A read-only mount: said when the form is submitted, the form still open.
    monkeypatch.setattr(save_thread, "writable", lambda folder: False)
    refused = submit(slack, open_form(slack, parent))
    assert refused["response_action"] == "errors" and "読み取り専用" in refused["errors"]["folder"]
    monkeypatch.undo()

    # Writing fails all the same: said in the form; the note as it was.
    def refuse(path, data):
        raise OSError(30, "Read-only file system")

    slack.fake.threads[("C0001", parent["ts"])].append(
        {"type": "message", "ts": f"{float(parent['ts']) + 9:.6f}", "user": YAMADA,
         "text": "追記"})
    monkeypatch.setattr(save_thread, "write_atomic", refuse)
    submit(slack, open_form(slack, parent))
    said = result(slack, 2)
    assert "書き込めませんでした" in said and "Read-only file system" in said
    assert (corpus / path).read_bytes() == before and saved(corpus) == [path]
    assert len(slack.fake.calls_to("chat.postEphemeral")) == 1  # the first save's only


TOPICS = ["Elasticsearchのシャード再配置が終わらない", "Ansibleのべき等性が崩れる",
          "Prometheusのアラートが鳴りやまない", "RabbitMQのキューが詰まる",
          "Cassandraのコンパクションが重い"]


def test_latency_from_submission_to_answerable(slack):
    """Prints the median time from posting the submission to a question finding the note."""
    seconds = []
    for topic in TOPICS:
        parent = make_thread(slack.fake, topic, [(SATO, f"{topic}ときは設定を見直す")])
        view = open_form(slack, parent)
        path = f"slack/C0001-{parent['ts'].replace('.', '-')}.md"
        typed = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"]}
        payload = P.submission(view, typed)
        started = time.perf_counter()
        assert P.deliver(slack.url, payload, kind="action")[0] == 200
        while not any(h.path == path for h in slack.bot.searcher.search(topic, k=3)):
            assert time.perf_counter() - started < 60, f"{path} never answered {topic}"
            time.sleep(0.005)
        seconds.append(time.perf_counter() - started)
        assert "保存しました" in result(slack, len(seconds))
    print(f"\nsubmission to answerable: median {statistics.median(seconds) * 1000:.0f} ms "
          f"over {len(seconds)} saves ({', '.join(f'{s * 1000:.0f}' for s in seconds)} ms)")
