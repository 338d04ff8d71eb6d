"""The Slack bot: slack-bolt listeners that answer from the live index.

``create_app()`` builds the Bolt app, ``register()`` attaches the listeners, ``run()`` serves it
in Socket Mode (slack_sdk's built-in client) or in HTTP mode (waitress, a production WSGI
server; each request's signature and timestamp are checked before its body is parsed).

Slack's real behaviour, and what is done about it:
- every request is acknowledged at once, on Bolt's threads, and answered afterwards on the
  bot's own (see ``offloaded``), so slow answers never delay an acknowledgement;
- requests from another workspace are acknowledged and ignored;
- a message is answered once, however often it arrives: Slack's retries, and the ``app_mention``
  plus ``message`` pair that a mention in a thread produces, carry the same channel and ``ts``;
- the bot's own and other bots' messages are ignored;
- HTTP 429 (``Retry-After``), 5xx and connection errors are retried by slack_sdk's retry
  handlers; a Web API error (``not_in_channel``, ...) is logged and the bot carries on.
"""
from __future__ import annotations

import functools
import io
import json
import logging
import re
import signal
import sys
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from slack_bolt import App, BoltResponse
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (ConnectionErrorRetryHandler,
                                                   RateLimitErrorRetryHandler,
                                                   ServerErrorRetryHandler)
from slack_sdk.webhook import WebhookClient

import index
from index import DEFAULT_MIN_CONFIDENCE, IndexUnusable, LiveSearcher, answered

from . import access, config, reply, save_thread
from .feedback import Votes, VotesUnusable

log = logging.getLogger("notebot.slack")
# Threads that answer questions and store votes: enough that answers do not wait behind
# votes waiting for a locked database (questions take turns on the index anyway).
WORK_THREADS = 32
_TOKEN = re.compile(r"\b(xox[a-z]|xapp)-[A-Za-z0-9-]+")
_CHANNEL_TYPES = {"C": "channel", "G": "group", "D": "im"}


def retry_handlers() -> list:
    """Retries for every call to Slack: rate limits (waiting ``Retry-After``), server errors
    and dropped connections."""
    return [ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2)]


class Recent:
    """A bounded memory of recent keys, oldest forgotten first; safe across threads."""

    def __init__(self, size: int = 10_000):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def first(self, key) -> bool:
        """True the first time ``key`` is seen."""
        with self._lock:
            if key in self._items:
                return False
            self._put(key, True)
            return True

    def get(self, key, default=None):
        with self._lock:
            return self._items.get(key, default)

    def setdefault(self, key, value):
        with self._lock:
            if key not in self._items:
                self._put(key, value)
            return self._items[key]

    def _put(self, key, value):
        self._items[key] = value
        while len(self._items) > self.size:
            self._items.popitem(last=False)


@dataclass
class Bot:
    """What the listeners share: the index, the votes, the admins, and how to rebuild."""

    searcher: LiveSearcher
    votes: Votes
    admins: frozenset[str]
    rebuild: Callable[[], str]  # brings the index up to date; returns a one-line summary
    k: int = 3
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    # The threads that answer; Bolt's own only acknowledge (see offloaded).
    work: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(WORK_THREADS, thread_name_prefix="notebot"))
    seen: Recent = field(default_factory=Recent)      # (channel, ts) of messages answered
    threads: Recent = field(default_factory=Recent)   # (channel, thread_ts) -> first question
    saving: save_thread.Saving | None = None  # "Save as note": where, and who may
    # Who sees which collections (None: every note answers everywhere; see access.py), the
    # members of the user groups it names, and the bot's DM channels -> the user of each.
    access: access.AccessFile | None = None
    groups: access.Groups | None = None
    ims: Recent = field(default_factory=Recent)

    def scope(self, channel: str | None, user: str | None,
              surface: str) -> frozenset[str] | None:
        """The collections an answer to ``user`` in ``channel``, shown on ``surface``, may
        come from (see access.Settings.allowed); None: every note (no access settings)."""
        if self.access is None:
            return None
        settings, known = self.access.settings(), self.searcher.collections()
        if self.groups is None:
            return settings.allowed(channel, user, surface, known)
        return settings.allowed(channel, user, surface, known, self.groups.members)

    def posted_on(self, channel: str | None, user: str | None, thread_ts=None) -> str:
        """The surface of a message posted in ``channel`` for ``user``: their DM with the
        bot (a DM channel the bot has seen them write in), else a thread or the channel."""
        if channel and user and self.ims.get(channel) == user:
            return "dm"
        return "thread" if thread_ts else "channel"

    def answer(self, question: str, offset: int = 0, share: bool = False, full: bool = False,
               context: str | None = None, collections: frozenset[str] | None = None):
        """(text, blocks) answering ``question`` from result ``offset``, and the result count.
        When no note answers it confidently, the reply says so and lists the closest notes by
        title, with a button to see them in full; ``full`` shows them in full at once.
        ``context``: the question a thread started with, searched along with this one.
        ``collections``: the only ones answers may come from (see scope; None: all)."""
        search = _searched(question, context)
        try:
            # (one more than shown, to know whether there are more: it needs no excerpt)
            ballots = self.votes.ballots()  # (answers learn from the votes: index/votes.py)
            hits = self.searcher.search(search, k=self.k + 1, offset=offset, excerpts=self.k,
                                        collections=collections, votes=ballots)
            self.votes.keep_hashes(ballots)
        except IndexUnusable as err:  # a stored note found damaged
            log.error("cannot answer: %s", err)
            return (*reply.notice("damaged", question, error=err), 0)
        weak = bool(hits) and offset == 0 and not answered(hits, self.min_confidence)
        if weak and not full:
            text, blocks = reply.unsure(question, hits[:self.k], context=context)
        else:
            text, blocks = reply.answer(question, hits[:self.k], offset,
                                        more=len(hits) > self.k, share=share, weak=weak,
                                        context=context)
        return text, blocks, len(hits[:self.k])

    def shows_beyond(self, question: str, offset: int, context: str | None,
                     seen: frozenset[str] | None, posted: frozenset[str] | None) -> bool:
        """Whether the page of answers from ``offset`` that ``seen`` allows holds a note of a
        collection outside ``posted``: sharing it would then share other notes than it showed."""
        if posted is None or seen == posted:
            return False
        search = _searched(question, context)
        hits = self.searcher.search(search, k=self.k, offset=offset, excerpts=0,
                                    collections=seen, votes=self.votes.ballots())
        return any(access.collection_of(h.path) not in posted for h in hits)

    def reindex(self, user: str | None) -> str:
        """Rebuild for an admin; a polite refusal for anyone else."""
        if user not in self.admins:
            log.info(json.dumps({"event": "reindex_refused", "user": user}))
            return reply.phrase("refused")
        try:
            summary = self.rebuild()
        except (OSError, IndexUnusable) as err:
            log.error("rebuild failed: %s", err)
            return reply.phrase("rebuild_failed", error=err)
        return reply.phrase("rebuilt", summary=summary)


def create_app(settings: config.Slack, bot: Bot, http: bool = False) -> App:
    """The Bolt app for ``settings``, with the listeners registered. It checks the bot token
    with ``auth.test`` (raises BoltError when Slack refuses it)."""
    client = WebClient(token=settings.bot_token,
                       base_url=settings.api_url or WebClient.BASE_URL,
                       retry_handlers=retry_handlers())
    app = App(client=client, signing_secret=settings.signing_secret or "",
              request_verification_enabled=http, process_before_response=False)
    register(app, bot)
    return app


def register(app: App, bot: Bot):
    """Attach the listeners to ``app``."""
    refused_teams = Recent(100)
    if bot.groups is None:  # (the members of the user groups the access settings name)
        bot.groups = access.Groups(
            lambda group: app.client.usergroups_users_list(usergroup=group)["users"],
            say=log.warning)

    def attach(context, next):
        ours = (context.authorize_result or {}).get("team_id")
        if context.team_id and ours and context.team_id != ours:
            # A request from another workspace (an org-wide install, a shared channel) must
            # not be answered with this workspace's notes.
            if refused_teams.first(context.team_id):
                log.warning("refusing requests from workspace %s: this bot serves %s",
                            context.team_id, ours)
            return BoltResponse(status=200, body="")
        context["bot"], context["received"] = bot, time.perf_counter()
        next()

    app.use(attach)
    app.event("app_mention")(offloaded(on_mention))
    app.event("message")(offloaded(on_message))
    app.event("app_home_opened")(offloaded(on_home))
    app.command("/notes")(offloaded(on_notes))
    app.action("more")(offloaded(on_more))
    app.action("share")(offloaded(on_share))
    app.action("show")(offloaded(on_show))
    app.action(re.compile(r"vote_(up|down)"))(offloaded(on_vote))
    app.shortcut(save_thread.CALLBACK_ID)(offloaded(save_thread.on_shortcut))
    app.view(save_thread.CALLBACK_ID)(save_thread.on_submit)  # checks the form before its ack


def offloaded(handler):
    """``handler`` as a listener that acknowledges at once on Bolt's thread and does its work
    on the bot's own threads. Bolt runs listeners on a few threads and acknowledges a command
    or a button only from a listener: a handful of slow answers (a locked votes database, a
    rebuild) would leave later requests unacknowledged, and Slack shows the user an error."""
    @functools.wraps(handler)  # (Bolt passes the arguments that the handler names)
    def listener(**kwargs):
        if "ack" in kwargs:
            kwargs["ack"]()
            kwargs["ack"] = _acknowledged
        kwargs["context"]["bot"].work.submit(_logged, handler, kwargs)

    return listener


def _acknowledged():
    pass


def _logged(handler, kwargs: dict):
    try:
        handler(**kwargs)
    except Exception:  # (an error in one answer is logged; the bot goes on)
        log.exception("%s failed", handler.__name__)


# ---------------------------------------------------------------- listeners

def on_mention(event, context, client):
    """@notebot in a channel: answer in the question's thread."""
    bot: Bot = context["bot"]
    if event.get("bot_id") or not bot.seen.first((event["channel"], event["ts"])):
        return
    question = reply.question_text(event.get("text", ""))
    thread_ts = event.get("thread_ts") or event["ts"]
    if question and question.lower() != "reindex":
        bot.threads.setdefault((event["channel"], thread_ts), question[:MAX_THREAD_QUESTION])
    _ask(bot, client, context, event, question, thread_ts)


def on_message(event, context, client):
    """Direct messages, and follow-up questions in threads where the bot was mentioned."""
    bot: Bot = context["bot"]
    if event.get("subtype") not in (None, "thread_broadcast") or event.get("bot_id"):
        return  # edits, joins, bots' messages ...
    channel, thread_ts = event["channel"], event.get("thread_ts")
    first = bot.threads.get((channel, thread_ts)) if thread_ts else None
    if event.get("channel_type") != "im" and first is None:
        return  # a channel message not addressed to the bot
    if not bot.seen.first((channel, event["ts"])):
        return
    if event.get("channel_type") == "im" and event.get("user"):
        bot.ims.setdefault(channel, event["user"])  # (a DM channel is one user's, for good)
    question = reply.question_text(event.get("text", ""))
    _ask(bot, client, context, event, question, thread_ts, thread_question=first)


def on_home(event, context, client):
    """The Home tab: index status and how to ask."""
    if event.get("tab", "home") != "home":
        return
    bot: Bot = context["bot"]
    seen = bot.scope(None, event["user"], "home")  # (a Home tab is its user's alone)
    _call(client.views_publish, user_id=event["user"], view=reply.home(bot.searcher.status(seen)))


def on_notes(ack, command, context):
    """``/notes <question>``: an answer only the asker sees, with a button to share it."""
    ack()
    bot: Bot = context["bot"]
    question = reply.question_text(command.get("text", ""))
    if not question:
        message = {"text": reply.phrase("usage")}
    elif question.lower() == "reindex":
        message = {"text": bot.reindex(command.get("user_id"))}
    else:
        seen = bot.scope(command.get("channel_id"), command.get("user_id"), "ephemeral")
        text, blocks, n = bot.answer(question, share=True, collections=seen)
        message = {"text": text, "blocks": blocks}
        _log_question(context, _CHANNEL_TYPES.get(command.get("channel_id", "")[:1], "other"),
                      "slash_command", n)
    _respond(command.get("response_url"), response_type="ephemeral", **message)


def on_more(ack, body, action, context, client):
    """"More results": the next page, where the answer was."""
    ack()
    value = _value(action, "o")
    if value is None:
        return
    bot: Bot = context["bot"]
    ephemeral = body.get("container", {}).get("is_ephemeral", False)
    channel, user = body["channel"]["id"], body["user"]["id"]
    thread_ts = body.get("message", {}).get("thread_ts")
    seen = bot.scope(channel, user, "ephemeral" if ephemeral
                     else bot.posted_on(channel, user, thread_ts))
    text, blocks, _ = bot.answer(value["q"], offset=value["o"], share=ephemeral,
                                 context=value.get("c"), collections=seen)
    if ephemeral:
        _respond(body.get("response_url"), response_type="ephemeral", replace_original=False,
                 text=text, blocks=blocks)
    else:
        _post(client, channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)


def on_share(ack, body, action, context):
    """"Share in channel": post the private answer for everyone, then remove the private one.
    An answer that holds notes the channel may not see is not shared: the sharer is told why."""
    ack()
    value = _value(action, "o")
    if value is None:
        return
    bot: Bot = context["bot"]
    channel, user = (body.get("channel") or {}).get("id"), body["user"]["id"]
    posted = bot.scope(channel, user, bot.posted_on(channel, user))
    if bot.shows_beyond(value["q"], value["o"], value.get("c"),
                        bot.scope(channel, user, "ephemeral"), posted):
        log.info(json.dumps({"event": "share_refused", "user": user}))
        _respond(body.get("response_url"), response_type="ephemeral", replace_original=False,
                 text=reply.phrase("share_refused", value["q"]))
        return
    text, blocks, _ = bot.answer(value["q"], offset=value["o"], context=value.get("c"),
                                 collections=posted)
    text, blocks = reply.shared(body["user"]["id"], text, blocks, value["q"])
    if _respond(body.get("response_url"), response_type="in_channel", replace_original=False,
                text=text, blocks=blocks):
        _respond(body.get("response_url"), delete_original=True)


def on_show(ack, body, action, context):
    """"Show them in full" under a reply without a confident answer: the closest notes in
    full, for the one who pressed it (in place of the short reply, where only they see it)."""
    ack()
    value = _value(action, "o")
    if value is None:
        return
    ephemeral = body.get("container", {}).get("is_ephemeral", False)
    bot: Bot = context["bot"]
    seen = bot.scope((body.get("channel") or {}).get("id"), body["user"]["id"], "ephemeral")
    text, blocks, _ = bot.answer(value["q"], share=ephemeral, full=True, context=value.get("c"),
                                 collections=seen)
    _respond(body.get("response_url"), response_type="ephemeral", replace_original=ephemeral,
             text=text, blocks=blocks)


def on_vote(ack, body, action, context):
    """👍/👎 on one note of an answer: stored with the question, the note and the user."""
    ack()
    value = _value(action, "p")
    if value is None:
        return
    bot: Bot = context["bot"]
    channel, user = (body.get("channel") or {}).get("id"), body["user"]["id"]
    ephemeral = body.get("container", {}).get("is_ephemeral", False)
    seen = bot.scope(channel, user, "ephemeral" if ephemeral else bot.posted_on(
        channel, user, body.get("message", {}).get("thread_ts")))
    if not bot.searcher.has(value["p"]) or (
            seen is not None and access.collection_of(value["p"]) not in seen):
        log.warning("ignoring a vote on a note that is not in the index or not shown there")
        return
    vote = 1 if action["action_id"] == "vote_up" else -1
    try:
        context["bot"].votes.record(body["user"]["id"], value["q"], value["p"], vote,
                                    channel=(body.get("channel") or {}).get("id"))
    except VotesUnusable as err:
        log.error("vote lost: %s", err)
        text = reply.phrase("vote_failed", value["q"])
    else:
        log.info(json.dumps({"event": "vote", "vote": vote}))
        text = reply.phrase("thanks", value["q"])
    _respond(body.get("response_url"), response_type="ephemeral", replace_original=False,
             text=text)


# ---------------------------------------------------------------- helpers

def _searched(question: str, context: str | None) -> str:
    """What is searched for ``question`` asked in a thread begun with ``context``: both, so
    that a follow-up is answered in its thread's topic (the same for an answer and for the
    check before sharing it)."""
    return f"{question} {context}" if context and context != question else question


def _ask(bot: Bot, client, context, event, question: str, thread_ts,
         thread_question: str | None = None):
    channel = event["channel"]
    if not question:
        _post(client, channel=channel, thread_ts=thread_ts, text=reply.phrase("usage"))
    elif question.lower() == "reindex":
        _post(client, channel=channel, thread_ts=thread_ts, text=bot.reindex(event.get("user")))
    else:
        # (in a DM with the bot, threads too, the asker alone sees the answer)
        surface = "dm" if event.get("channel_type") == "im" else "thread"
        seen = bot.scope(channel, event.get("user"), surface)
        text, blocks, n = bot.answer(question, context=thread_question, collections=seen)
        _post(client, channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)
        channel_type = event.get("channel_type") or _CHANNEL_TYPES.get(channel[:1], "other")
        _log_question(context, channel_type, event.get("type", "message"), n)


def _log_question(context, channel_type: str, via: str, results: int):
    latency = (time.perf_counter() - context["received"]) * 1000
    log.info(json.dumps({"event": "question", "channel_type": channel_type, "via": via,
                         "latency_ms": round(latency, 1), "results": results}))


# How much of the question that starts a thread is kept, to search along with follow-ups
# (the bot remembers 10,000 threads).
MAX_THREAD_QUESTION = 300
# The furthest page a "more results" button may ask for.
MAX_OFFSET = 1000


def _value(action: dict, key: str) -> dict | None:
    """A button's value (JSON with the question ``q`` and ``key``: ``o``, an offset from 0 to
    MAX_OFFSET, or ``p``, a note path), or None if malformed or forged."""
    try:
        value = json.loads(action.get("value") or "")
        if isinstance(value, dict) and isinstance(value.get("q"), str) and (
                key == "o" and type(value.get("o")) is int and 0 <= value["o"] <= MAX_OFFSET
                or key == "p" and isinstance(value.get("p"), str)) and isinstance(
                value.get("c", ""), str):
            return value
    except ValueError:
        pass
    log.warning("ignoring a %s button with a malformed value", action.get("action_id"))
    return None


def _call(method, **kwargs) -> bool:
    """Call a Web API method; errors are logged, never raised: the bot keeps running."""
    try:
        method(**kwargs)
        return True
    except SlackApiError as err:
        log.warning("%s failed: %s", method.__name__, err.response.get("error"))
    except OSError as err:
        log.warning("%s failed: cannot reach Slack (%s)", method.__name__, err)
    return False


def _post(client: WebClient, **message) -> bool:
    return _call(client.chat_postMessage, unfurl_links=False, unfurl_media=False, **message)


def _respond(response_url: str | None, **message) -> bool:
    """Reply through an interaction's ``response_url``, with the same retries as the Web API."""
    if not response_url:
        return False
    try:
        response = WebhookClient(response_url, retry_handlers=retry_handlers()).send_dict(message)
    except OSError as err:
        log.warning("response_url failed: cannot reach Slack (%s)", err)
        return False
    if response.status_code != 200:
        log.warning("response_url failed: HTTP %s %s", response.status_code, response.body)
    return response.status_code == 200


# ---------------------------------------------------------------- running

class RedactingFormatter(logging.Formatter):
    """Log lines with Slack tokens (xoxb-, xapp-, ...) replaced, tracebacks included."""

    def format(self, record):
        return _TOKEN.sub(r"\1-[redacted]", super().format(record))


def configure_logging(level=logging.INFO, stream=None) -> logging.Handler:
    """Log one line per record to standard error (or ``stream``), tokens redacted."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def run(settings: config.Slack, paths: config.Paths, http: bool = False, host: str = "0.0.0.0",
        port: int = 3000, watch: bool = False,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> int:
    """Serve the bot until interrupted (``notebot slack``)."""
    configure_logging()

    def rebuild() -> str:
        report = index.build(paths.corpus, paths.index)
        for w in report.warnings:
            log.warning("%s", w)
        log.info("%s", report.summary())
        return report.summary()

    access_file = config.access_file()
    try:
        rules = access.AccessFile(access_file, say=log.warning) if access_file else None
    except access.AccessError as err:
        raise config.ConfigError(f"NOTEBOT_ACCESS: {err}; 'notebot doctor' lists what to "
                                 "fix") from None
    data = index.load_fresh(paths.corpus, paths.index, say=log.info)
    bot = Bot(LiveSearcher(paths.index, data, say=log.info,
                           synonyms_file=config.synonyms_file()), Votes(settings.feedback_db),
              settings.admins, rebuild, min_confidence=min_confidence,
              saving=save_thread.Saving(paths.corpus, settings.editors), access=rules)
    if rules is not None:
        log.info("access settings from %s: %d private collections, %d restricted channels",
                 access_file, len(rules.settings().private), len(rules.settings().channels))
    try:
        app = create_app(settings, bot, http=http)
    except BoltError as err:
        raise config.ConfigError(f"Slack refused SLACK_BOT_TOKEN ({err}); copy the Bot User "
                                 "OAuth Token from the app's OAuth & Permissions page") from None
    except OSError as err:
        log.error("cannot reach the Slack Web API at %s (%s); check the network, any proxy "
                  "(HTTPS_PROXY) or SLACK_API_URL", settings.api_url or WebClient.BASE_URL,
                  getattr(err, "reason", None) or err)
        return 1
    watcher = None
    if watch:
        from .watch import Watcher

        watcher = Watcher(paths.corpus, rebuild, ignore=paths.index).start()
        log.info("watching %s for changes", paths.corpus)
    # `docker stop` sends SIGTERM, which a process with id 1 otherwise ignores.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        if http:
            serve_http(app, host, port, settings.signing_secret)
        else:
            serve_socket_mode(app, settings.app_token)
    finally:
        if watcher is not None:
            watcher.stop()
    log.info("stopped")
    return 0


def _terminate(signum, frame):
    raise SystemExit(0)


def serve_socket_mode(app: App, app_token: str):
    """Connect to Slack in Socket Mode and answer until stopped; reconnects by itself."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(app, app_token)
    log.info("connecting to Slack in Socket Mode")
    try:
        handler.start()
    except SlackApiError as err:
        raise config.ConfigError(
            f"Slack refused SLACK_APP_TOKEN ({err.response.get('error')}); make an app-level "
            "token (xapp-...) with the connections:write scope in the Slack app settings > "
            "Basic Information, and turn Socket Mode on") from None
    finally:
        handler.close()


# Slack's requests are at most a few hundred KB; a larger body is refused before it is read.
MAX_BODY_BYTES = 1024 * 1024
MAX_CONNECTIONS = 1000
CHANNEL_TIMEOUT_S = 15


class SignedOnly:
    """WSGI middleware in front of Bolt: the body is read (up to MAX_BODY_BYTES, else waitress
    answers 413) and its signature checked on the raw bytes before anything parses it. An
    unsigned, forged or stale request gets 401 and one log line: its body, however malformed
    (invalid UTF-8, JSON nested 100,000 deep), is never parsed."""

    def __init__(self, app, signing_secret: str):
        from slack_sdk.signature import SignatureVerifier

        self.app, self.verifier = app, SignatureVerifier(signing_secret)

    def __call__(self, environ, start_response):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length > 0 else b""
            valid = self.verifier.is_valid(body, environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
                                           environ.get("HTTP_X_SLACK_SIGNATURE"))
        except (ValueError, OSError):  # a timestamp or length that is not a number
            valid = False
        if not valid:
            log.warning("refused a request without a valid Slack signature from %s",
                        environ.get("REMOTE_ADDR", "?"))
            start_response("401 Unauthorized", [("Content-Type", "text/plain")])
            return [b"invalid request signature\n"]
        environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)


def http_server(app: App, host: str, port: int, signing_secret: str):
    """A waitress server for ``app`` at ``/slack/events`` (not yet running: call ``run()``)."""
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from waitress import create_server

    # A connection waiting for its request holds a socket, not a thread: many of them (slow or
    # half-open clients) are allowed, and dropped after CHANNEL_TIMEOUT_S without a byte.
    return create_server(SignedOnly(SlackRequestHandler(app), signing_secret), host=host,
                         port=port, threads=8, ident="notebot",
                         max_request_body_size=MAX_BODY_BYTES,
                         connection_limit=MAX_CONNECTIONS, channel_timeout=CHANNEL_TIMEOUT_S)


def serve_http(app: App, host: str, port: int, signing_secret: str):
    """Serve Slack's requests until stopped (waitress closes itself on SystemExit)."""
    try:
        server = http_server(app, host, port, signing_secret)
    except (OSError, ValueError) as err:  # waitress: ValueError for a host it can't resolve
        raise config.ConfigError(f"cannot listen on {host}:{port} "
                                 f"({getattr(err, 'strerror', None) or err}); pass another "
                                 "--host or --port") from None
    log.info("listening on http://%s:%s/slack/events", host, server.effective_port)
    server.run()
