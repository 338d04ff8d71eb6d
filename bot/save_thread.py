""""Save as note" (ノートに保存): a Slack thread kept as a note in the corpus.

A message shortcut (callback id ``save_note``) on any message of a thread opens a form: title
(the thread's first line), folder (``slack/``) and tags. On submission the whole thread is read
with ``conversations.replies``, written as one Markdown note (front matter title, date, tags,
url = the thread's permalink, author; each message with its author's name and time, Slack's
markup as Markdown), the index brought up to date with the bot's rebuild (the one the admins'
"reindex" uses), and the user shown the note's path and the start of an answer to the title.
The file is named from the channel and the thread's ts, not the title: saving a thread again
updates its note, wherever in the corpus it was moved to.

What a submission is trusted with, and what is checked on the server:
- the form carries the channel and thread in ``private_metadata`` with an HMAC (a key of this
  process) over user, channel and ts: a forged or replayed submission cannot name a channel the
  user never ran the shortcut in (a form opened before a restart is refused, and says so);
- the folder is cleaned (no ``..``, no hidden or absolute parts) and must resolve inside the
  corpus, links followed; the file name is made from the checked channel id and ts alone;
- ``NOTEBOT_EDITORS`` (empty: everyone) is checked when the form opens and again on submission.

The conversion (``to_markdown``, ``plain_text``, ``note_markdown``, ...) is pure; the listeners
are ``on_shortcut`` (acknowledged at once, work on the bot's threads) and ``on_submit`` (checks
the form before acknowledging, so that errors show in the form, then works on the bot's
threads).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import frontmatter
import yaml
from slack_sdk.errors import SlackApiError

from index import IndexUnusable, write_atomic

from .config import SLACK_USER_ID
from .importers.common import clean_name, inside

if TYPE_CHECKING:
    from .slack_app import Bot

log = logging.getLogger("notebot.slack")

CALLBACK_ID = "save_note"
DEFAULT_FOLDER = "slack/"
MAX_TITLE_CHARS = 150
MAX_TAGS = 20
# Messages per conversations.replies page (Slack recommends at most 200), and the most pages
# read: 100 pages is 20,000 messages, far past any thread.
PAGE_SIZE = 200
MAX_PAGES = 100
# Lines of the answer to the title shown after saving.
ANSWER_LINES = 3
CANNOT_READ = ("not_in_channel", "channel_not_found")

_MARKUP = re.compile(r"<([^<>]*)>|&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,30}")
_TS = re.compile(r"\d{1,12}\.\d{1,8}")
_TAG_SEPARATORS = re.compile(r"[,、，]")

TEXTS = {
    "title": "ノートに保存",
    "submit": "保存 / Save",
    "close": "閉じる / Close",
    "title_label": "タイトル / Title",
    "folder_label": "フォルダ / Folder",
    "folder_hint": "ノートの置き場所（コーパスの中）/ where the note goes, inside the notes",
    "tags_label": "タグ / Tags",
    "tags_hint": "カンマ区切り / comma separated",
    "empty_title": "タイトルを入力してください。/ Enter a title.",
    "bad_folder": "このフォルダには保存できません。/ Notes cannot be saved there.",
    "read_only": "ノートのフォルダに書き込めません（読み取り専用）。管理者に伝えてください。"
                 "/ The notes are read-only here; tell the bot's admins.",
    "editors_only": "ノートに保存できるのは、決められた人だけです（NOTEBOT_EDITORS）。"
                    "必要なら管理者に頼んでください。/ Only the editors set by the bot's admins "
                    "(NOTEBOT_EDITORS) can save notes; ask one of them.",
    "expired": "このフォームは古くなりました。もう一度メッセージのメニューから"
               "「ノートに保存」を開いてください。/ This form has expired: open "
               "\"Save as note\" from the message's menu again.",
    "not_set_up": "このボットではノートの保存が有効になっていません。"
                  "/ Saving notes is not set up for this bot.",
    "invite": "notebot はこのチャンネルを読めません。チャンネルで `/invite @notebot` と送って"
              "招待してから、もう一度保存してください。/ notebot cannot read this channel: "
              "invite it with `/invite @notebot`, then save again.",
    "slack_failed": "Slack からスレッドを読めませんでした（{error}）。少し待ってもう一度試して"
                    "ください。/ The thread could not be read from Slack ({error}); try again "
                    "in a moment.",
    "write_failed": "ノートを書き込めませんでした（{error}）。何も保存していません。管理者に伝えて"
                    "ください。/ The note could not be written ({error}); nothing was saved. "
                    "Tell the bot's admins.",
    "saving": "スレッドを保存しています… / Saving the thread…",
    "saved": "保存しました / Saved: `{path}` ({messages} 件のメッセージ / messages)",
    "updated": "更新しました / Updated: `{path}` ({messages} 件のメッセージ / messages)",
    "not_indexed": "保存しましたが、インデックスを更新できませんでした（{error}）。"
                   "/ Saved, but the index could not be brought up to date ({error}).",
    "failed": "保存できませんでした。管理者に伝えてください。/ The thread could not be saved; "
              "tell the bot's admins.",
}


# ---------------------------------------------------------------- Slack markup (pure)

def to_markdown(text: str, names: Mapping[str, str] | None = None) -> str:
    """Slack message text as Markdown: ``<@U1>`` as ``@name`` (from ``names``), ``<#C1|x>`` as
    ``#x``, ``<url|label>`` as ``[label](url)``, ``<!here>`` as ``@here``, and ``&amp;``,
    ``&lt;``, ``&gt;`` unescaped."""
    return _convert(text, names or {}, links=True)


def plain_text(text: str, names: Mapping[str, str] | None = None) -> str:
    """Slack message text as plain text: as ``to_markdown``, but a link is its label alone."""
    return _convert(text, names or {}, links=False)


def mentioned(text: str) -> set[str]:
    """The user ids that ``<@U…>`` mentions in a message's text."""
    return {m.group(1)[1:].partition("|")[0] for m in _MARKUP.finditer(text)
            if m.group(1) and m.group(1).startswith("@")}


def _convert(text: str, names: Mapping[str, str], links: bool) -> str:
    def one(m: re.Match) -> str:
        if m.group(2):
            return _ENTITIES[m.group(2)]
        target, _, label = m.group(1).partition("|")
        target, label = _unescape(target), _unescape(label)
        if target.startswith("@"):
            return f"@{names.get(target[1:]) or label.lstrip('@') or target[1:]}"
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        if target.startswith("!"):
            # @here, @channel, @everyone; a user group (!subteam^S1|@team); a date (its
            # fallback text)
            special = target[1:].split("^")[0]
            if special in ("here", "channel", "everyone"):
                return f"@{special}"
            return label or f"@{special}"
        if not links or not label or label == target:
            return label or target
        return f"[{_link_label(label)}]({_link_target(target)})"

    return _MARKUP.sub(one, text)


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _link_label(label: str) -> str:
    return re.sub(r"([\[\]\\])", r"\\\1", label)


def _link_target(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def title_from(text: str, names: Mapping[str, str] | None = None) -> str:
    """A note title from a message: its first non-blank line as plain text, spaces collapsed,
    at most MAX_TITLE_CHARS characters."""
    for line in plain_text(text, names).splitlines():
        line = " ".join(line.split())
        if line:
            return line[:MAX_TITLE_CHARS]
    return ""


def tags_from(raw: str | None) -> list[str]:
    """Tags typed in the form: separated by commas (``,``, ``、`` or ``，``), a leading ``#``
    dropped, each once, at most MAX_TAGS."""
    tags: list[str] = []
    for part in _TAG_SEPARATORS.split(raw or ""):
        tag = " ".join(part.split()).lstrip("#").strip()
        if tag and tag not in tags:
            tags.append(tag[:50])
    return tags[:MAX_TAGS]


def folder_from(raw: str | None) -> str:
    """A folder inside the corpus from what was typed: each part cleaned of separators, control
    characters and leading or trailing dots (so no ``..`` and no hidden folders); ``""`` is the
    corpus itself."""
    parts = [clean_name(p, 100) for p in (raw or "").replace("\\", "/").split("/")]
    return "/".join(p for p in parts if p)


def file_name(channel: str, thread_ts: str) -> str:
    """The note's file name: the channel and the thread's ts (``C0123-1690000000-000200.md``)."""
    if not _CHANNEL_ID.fullmatch(channel) or not _TS.fullmatch(thread_ts):
        raise ValueError(f"not a Slack channel and ts: {channel!r} {thread_ts!r}")
    return f"{channel}-{thread_ts.replace('.', '-')}.md"


def author_of(message: dict, names: Mapping[str, str]) -> str:
    """Who wrote ``message``: the user's display name, else a bot's name, else the id."""
    user = message.get("user") or ""
    return (names.get(user) or message.get("username")
            or (message.get("bot_profile") or {}).get("name") or user or message.get("bot_id")
            or "?")


def _when(ts: str, tz: tzinfo | None) -> datetime:
    return datetime.fromtimestamp(float(ts), tz)


def message_markdown(message: dict, names: Mapping[str, str], tz: tzinfo | None = None) -> str:
    """One message: its author in bold and its time, then its text and files as Markdown."""
    when = _when(message["ts"], tz).strftime("%Y-%m-%d %H:%M")
    lines = [f"**{author_of(message, names)}** {when}", ""]
    text = to_markdown(message.get("text") or "", names).strip()
    if text:
        lines.append(text)
    for f in message.get("files") or []:
        name = f.get("title") or f.get("name") or "file"
        link = f.get("permalink") or f.get("url_private")
        lines.append(f"- [{_link_label(name)}]({_link_target(link)})" if link else f"- {name}")
    return "\n".join(lines).rstrip()


def note_markdown(title: str, messages: list[dict], names: Mapping[str, str],
                  tags: list[str] | None = None, url: str | None = None,
                  tz: tzinfo | None = None) -> str:
    """The note for a thread (``messages``: the parent first): YAML front matter (title, the
    parent's date, tags, url, the parent's author), then every message in order."""
    parent = messages[0]
    front = {"title": title, "date": _when(parent["ts"], tz).strftime("%Y-%m-%d")}
    front.update((k, v) for k, v in (("tags", list(tags or [])), ("url", url),
                                     ("author", author_of(parent, names))) if v)
    meta = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1000)
    body = "\n\n".join(message_markdown(m, names, tz) for m in messages)
    return f"---\n{meta}---\n{body}\n"


def sign(key: bytes, user: str, channel: str, thread_ts: str) -> str:
    """The form's ``private_metadata``: channel and thread, bound to the user by an HMAC."""
    mac = hmac.new(key, f"{user}\n{channel}\n{thread_ts}".encode(), hashlib.sha256).hexdigest()
    return json.dumps({"c": channel, "t": thread_ts, "s": mac})


def unsign(key: bytes, user: str, metadata: str | None) -> tuple[str, str] | None:
    """(channel, thread ts) from a form's ``private_metadata`` if this process signed it for
    ``user``; None for anything else."""
    try:
        data = json.loads(metadata or "")
        channel, thread_ts, mac = data["c"], data["t"], data["s"]
        file_name(channel, thread_ts)
    except (ValueError, TypeError, KeyError):
        return None
    expected = json.loads(sign(key, user, channel, thread_ts))["s"]
    return (channel, thread_ts) if isinstance(mac, str) and hmac.compare_digest(
        mac, expected) else None


# ---------------------------------------------------------------- the corpus

def find_note(corpus: Path, name: str) -> str | None:
    """The path (relative, ``/``-separated) of the note called ``name`` anywhere in ``corpus``
    (hidden folders skipped, as the index skips them), or None."""
    for folder, dirs, files in os.walk(corpus):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if name in files:
            return Path(folder, name).relative_to(corpus).as_posix()
    return None


def writable(folder: Path) -> bool:
    """Whether a note can be made in ``folder``: it, or the nearest folder above it that exists,
    is writable (a read-only mount is not)."""
    for place in (folder, *folder.parents):
        if place.exists():
            return place.is_dir() and os.access(place, os.W_OK)
    return False


# ---------------------------------------------------------------- what the bot keeps

class Names:
    """Display names of Slack users, from ``users.info``, kept per user for the process."""

    def __init__(self, size: int = 10_000):
        self.size = size
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, client, users) -> dict[str, str]:
        """The names of ``users`` (ids) that Slack knows; each asked of Slack once."""
        found = {}
        for user in sorted(set(users)):
            with self._lock:
                name = self._names.get(user)
            if name is None and SLACK_USER_ID.fullmatch(user):
                name = self._ask(client, user)
            if name:
                found[user] = name
        return found

    def _ask(self, client, user: str) -> str | None:
        try:
            info = client.users_info(user=user)["user"]
        except (SlackApiError, OSError) as err:
            log.warning("users.info failed for a user: %s", _error(err))
            return None
        profile = info.get("profile") or {}
        name = (profile.get("display_name") or profile.get("real_name") or info.get("real_name")
                or info.get("name") or user)
        with self._lock:
            if len(self._names) >= self.size:
                self._names.clear()
            self._names[user] = name
        return name


@dataclass
class Saving:
    """Where notes are saved and who may save them (empty ``editors``: everyone)."""

    corpus: Path
    editors: frozenset[str] = frozenset()
    tz: tzinfo | None = None  # the times written in notes; None: the machine's time zone
    names: Names = field(default_factory=Names)
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def may_save(self, user: str | None) -> bool:
        return not self.editors or user in self.editors


@dataclass(frozen=True)
class Form:
    """A checked submission."""

    user: str
    channel: str
    thread_ts: str
    title: str
    folder: str
    tags: list[str]
    view_id: str | None


# ---------------------------------------------------------------- Slack calls

def _error(err: Exception) -> str:
    if isinstance(err, SlackApiError):
        return str(err.response.get("error") or "error")
    return f"cannot reach Slack ({err})"


def fetch_thread(client, channel: str, thread_ts: str) -> list[dict]:
    """Every message of the thread, the parent first, following ``next_cursor`` page by page
    (a page may repeat the parent: each message is kept once). Raises SlackApiError, or
    OSError when Slack cannot be reached."""
    messages: dict[str, dict] = {}
    cursor = None
    for _ in range(MAX_PAGES):
        page = client.conversations_replies(channel=channel, ts=thread_ts, limit=PAGE_SIZE,
                                            **({"cursor": cursor} if cursor else {}))
        for m in page.get("messages") or []:
            if m.get("ts"):
                messages.setdefault(m["ts"], m)
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    else:
        log.warning("a thread has more than %d pages; saved its first %d messages",
                    MAX_PAGES, len(messages))
    return sorted(messages.values(), key=lambda m: (m["ts"] != thread_ts, float(m["ts"])))


def _permalink(client, channel: str, ts: str) -> str | None:
    try:
        return client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
    except (SlackApiError, OSError) as err:
        log.warning("chat.getPermalink failed: %s", _error(err))
        return None


def _call(method, **kwargs) -> bool:
    try:
        method(**kwargs)
        return True
    except (SlackApiError, OSError) as err:
        log.warning("%s failed: %s", method.__name__, _error(err))
        return False


# ---------------------------------------------------------------- views

def _plain(text: str) -> dict:
    return {"type": "plain_text", "text": text, "emoji": True}


def _input(block_id: str, label: str, value: str, optional: bool = False,
           hint: str | None = None, max_length: int | None = None) -> dict:
    element = {"type": "plain_text_input", "action_id": "value"}
    if value:
        element["initial_value"] = value
    if max_length:
        element["max_length"] = max_length
    block = {"type": "input", "block_id": block_id, "label": _plain(label),
             "element": element, "optional": optional}
    if hint:
        block["hint"] = _plain(hint)
    return block


def form_view(metadata: str, title: str, folder: str = DEFAULT_FOLDER,
              tags: list[str] | None = None) -> dict:
    """The form the shortcut opens."""
    return {"type": "modal", "callback_id": CALLBACK_ID, "title": _plain(TEXTS["title"]),
            "submit": _plain(TEXTS["submit"]), "close": _plain(TEXTS["close"]),
            "private_metadata": metadata, "blocks": [
                _input("title", TEXTS["title_label"], title, max_length=MAX_TITLE_CHARS),
                _input("folder", TEXTS["folder_label"], folder, optional=True,
                       hint=TEXTS["folder_hint"], max_length=200),
                _input("tags", TEXTS["tags_label"], ", ".join(tags or []), optional=True,
                       hint=TEXTS["tags_hint"], max_length=500)]}


def notice_view(text: str) -> dict:
    """A modal that only says ``text`` (mrkdwn, made here: nothing from a user in it)."""
    return {"type": "modal", "title": _plain(TEXTS["title"]), "close": _plain(TEXTS["close"]),
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


# ---------------------------------------------------------------- listeners

def on_shortcut(ack, shortcut, context, client):
    """The message shortcut: the form, prefilled from the thread (or from its note, if the
    thread was saved before); or why it cannot be saved."""
    ack()
    bot: Bot = context["bot"]
    saving: Saving | None = bot.saving
    user = (shortcut.get("user") or {}).get("id")
    channel = (shortcut.get("channel") or {}).get("id", "")
    message = shortcut.get("message") or {}
    trigger_id = shortcut.get("trigger_id")
    thread_ts = message.get("thread_ts") or message.get("ts") or ""

    def show(view):
        _call(client.views_open, trigger_id=trigger_id, view=view)

    if saving is None:
        return show(notice_view(TEXTS["not_set_up"]))
    if not saving.may_save(user):
        log.info(json.dumps({"event": "save_refused", "user": user}))
        return show(notice_view(TEXTS["editors_only"]))
    try:
        name = file_name(channel, thread_ts)
    except ValueError:
        log.warning("ignoring a save_note shortcut without a channel and message")
        return None
    parent = message
    try:  # the thread's first message; also whether the bot can read the channel at all
        first = client.conversations_replies(channel=channel, ts=thread_ts, limit=1)
        parent = (first.get("messages") or [message])[0]
    except SlackApiError as err:
        if err.response.get("error") in CANNOT_READ:
            return show(notice_view(TEXTS["invite"]))
        log.warning("conversations.replies failed: %s", _error(err))
    except OSError as err:
        log.warning("conversations.replies failed: %s", _error(err))
    metadata = sign(saving.key, user, channel, thread_ts)
    existing = find_note(saving.corpus, name)
    if existing:
        view = _form_of_note(saving.corpus, existing, metadata)
        if view:
            return show(view)
    text = parent.get("text") or ""
    names = saving.names.get(client, mentioned(text.split("\n", 1)[0]))
    return show(form_view(metadata, title_from(text, names)))


def _form_of_note(corpus: Path, rel: str, metadata: str) -> dict | None:
    """The form prefilled from a thread's note: its title, folder and tags."""
    try:
        meta = frontmatter.loads((corpus / rel).read_text(encoding="utf-8")).metadata
    except (OSError, ValueError, TypeError, yaml.YAMLError):
        return None
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        return None
    tags = meta.get("tags") if isinstance(meta.get("tags"), list) else []
    folder = rel.rpartition("/")[0]
    return form_view(metadata, title.strip()[:MAX_TITLE_CHARS],
                     f"{folder}/" if folder else "", [str(t) for t in tags])


def on_submit(ack, body, view, context, client):
    """The form submitted: checked here, before the acknowledgement (errors show in the form);
    the thread is then saved on the bot's threads while the form says it is saving."""
    bot: Bot = context["bot"]
    form, errors = check(bot.saving, body, view)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack(response_action="update", view=notice_view(TEXTS["saving"]))
    bot.work.submit(_saved_or_told, bot, client, form)


def check(saving: Saving | None, body: dict, view: dict) -> tuple[Form | None, dict]:
    """The submission as a Form, or the errors to show in the form, by block."""
    user = (body.get("user") or {}).get("id")
    if saving is None:
        return None, {"title": TEXTS["not_set_up"]}
    if not saving.may_save(user):
        log.info(json.dumps({"event": "save_refused", "user": user}))
        return None, {"title": TEXTS["editors_only"]}
    thread = unsign(saving.key, user or "", view.get("private_metadata"))
    if thread is None:
        log.warning("refused a save_note submission with a form this process did not make")
        return None, {"title": TEXTS["expired"]}
    values = (view.get("state") or {}).get("values") or {}

    def typed(block: str) -> str:
        value = ((values.get(block) or {}).get("value") or {}).get("value")
        return value if isinstance(value, str) else ""

    title = " ".join(typed("title").split())[:MAX_TITLE_CHARS]
    if not title:
        return None, {"title": TEXTS["empty_title"]}
    folder = folder_from(typed("folder"))
    place = inside(saving.corpus, folder)
    if place is None:
        return None, {"folder": TEXTS["bad_folder"]}
    if not writable(place):
        return None, {"folder": TEXTS["read_only"]}
    return Form(user, *thread, title, folder, tags_from(typed("tags")), view.get("id")), {}


def _saved_or_told(bot: Bot, client, form: Form):
    try:
        save(bot, client, form)
    except Exception:  # (the form must not say "saving" for ever)
        log.exception("saving a thread failed")
        _tell(client, form, TEXTS["failed"])


def save(bot: Bot, client, form: Form):
    """Read the thread, write its note, bring the index up to date, tell the user."""
    saving: Saving = bot.saving
    started = time.perf_counter()
    try:
        messages = fetch_thread(client, form.channel, form.thread_ts)
    except (SlackApiError, OSError) as err:
        log.warning("conversations.replies failed: %s", _error(err))
        cannot_read = isinstance(err, SlackApiError) and err.response.get("error") in CANNOT_READ
        return _tell(client, form, TEXTS["invite"] if cannot_read else
                     TEXTS["slack_failed"].format(error=_escape(_error(err))))
    if not messages:
        return _tell(client, form, TEXTS["slack_failed"].format(error="no messages"))
    users = {m["user"] for m in messages if m.get("user")}
    users |= {u for m in messages for u in mentioned(m.get("text") or "")}
    names = saving.names.get(client, users)
    url = _permalink(client, form.channel, form.thread_ts)
    text = note_markdown(form.title, messages, names, form.tags, url, saving.tz)
    name = file_name(form.channel, form.thread_ts)
    rel = f"{form.folder}/{name}" if form.folder else name
    before = find_note(saving.corpus, name)
    path = inside(saving.corpus, rel)
    if path is None:
        return _tell(client, form, TEXTS["bad_folder"])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text.encode("utf-8"))
    except OSError as err:
        log.error("cannot write a saved thread: %s", err)
        return _tell(client, form, TEXTS["write_failed"].format(
            error=_escape(err.strerror or str(err))))
    if before and before != rel:  # moved to another folder: one note per thread
        try:
            (saving.corpus / before).unlink()
        except OSError as err:
            log.warning("cannot remove the thread's note at its old place: %s", err)
    try:
        bot.rebuild()
    except (OSError, IndexUnusable) as err:
        log.error("rebuild after saving a thread failed: %s", err)
        return _tell(client, form, TEXTS["not_indexed"].format(error=_escape(str(err))))
    log.info(json.dumps({"event": "thread_saved", "messages": len(messages),
                         "updated": before is not None,
                         "latency_ms": round((time.perf_counter() - started) * 1000, 1)}))
    answer = bot.answer(form.title)[0].splitlines()[:ANSWER_LINES]
    done = TEXTS["updated" if before else "saved"].format(path=_escape(rel),
                                                          messages=len(messages))
    message = "\n".join([done, *(f"> {line[:300]}" for line in answer)])
    _tell(client, form, message)
    _call(client.chat_postEphemeral, channel=form.channel, user=form.user,
          thread_ts=form.thread_ts, text=message)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _tell(client, form: Form, text: str):
    """The result, in the form (it says "saving" until then); in a direct message when the form
    is gone (closed by the user)."""
    if form.view_id and _call(client.views_update, view_id=form.view_id, view=notice_view(text)):
        return
    _call(client.chat_postMessage, channel=form.user, text=text)
