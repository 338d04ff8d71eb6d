"""Slack's request bodies (events, slash commands, button clicks), shaped as Slack sends them,
and signed HTTP delivery to a running app."""
from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from .slack_api import BOT_USER_ID

SIGNING_SECRET = "test-signing-secret"
_ids = itertools.count(1)


def next_ts() -> str:
    return f"{1690000000 + next(_ids)}.000200"


def event(inner: dict, event_id: str | None = None) -> dict:
    """An Events API ``event_callback`` around ``inner``."""
    return {"token": "legacy", "team_id": "T0001", "api_app_id": "A0001", "type": "event_callback",
            "event": inner, "event_id": event_id or f"Ev{next(_ids):06d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0001", "user_id": BOT_USER_ID, "is_bot": True}]}


def mention(text: str, channel="C0001", user="U0001", ts=None, thread_ts=None) -> dict:
    e = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER_ID}> {text}",
         "ts": ts or next_ts(), "channel": channel, "event_ts": ts}
    if thread_ts:
        e["thread_ts"] = thread_ts
    return e


def message(text: str, channel="D0001", channel_type="im", user="U0001", ts=None,
            thread_ts=None, **extra) -> dict:
    e = {"type": "message", "user": user, "text": text, "ts": ts or next_ts(),
         "channel": channel, "channel_type": channel_type, **extra}
    if thread_ts:
        e["thread_ts"] = thread_ts
    return e


def slash(text: str, response_url: str, user="U0001", channel="C0001") -> dict:
    return {"token": "legacy", "team_id": "T0001", "channel_id": channel, "user_id": user,
            "command": "/notes", "text": text, "response_url": response_url,
            "trigger_id": "1.2.3", "api_app_id": "A0001"}


def click(action: dict, response_url: str, user="U0001", channel="C0001",
          ephemeral=False, thread_ts=None) -> dict:
    """A ``block_actions`` payload for clicking button ``action`` of a message."""
    ts = next_ts()
    body = {"type": "block_actions", "user": {"id": user}, "api_app_id": "A0001",
            "team": {"id": "T0001"}, "channel": {"id": channel}, "response_url": response_url,
            "trigger_id": "1.2.3",
            "container": {"type": "message", "message_ts": ts, "channel_id": channel,
                          "is_ephemeral": ephemeral},
            "actions": [dict(action, block_id="b1", action_ts=ts)]}
    if not ephemeral:
        body["message"] = {"type": "message", "ts": ts, "bot_id": "BBOT",
                           **({"thread_ts": thread_ts} if thread_ts else {})}
    return body


def shortcut(message: dict, callback_id="save_note", user="U0001", channel="C0001") -> dict:
    """A ``message_action`` payload: the message shortcut ``callback_id`` run on ``message``."""
    return {"type": "message_action", "callback_id": callback_id, "trigger_id": "1.2.3",
            "user": {"id": user, "team_id": "T0001"}, "team": {"id": "T0001"},
            "channel": {"id": channel, "name": "general"}, "api_app_id": "A0001",
            "message_ts": message["ts"], "message": message,
            "response_url": "https://hooks.slack.test/shortcut"}


def submission(view: dict, values: dict[str, str | None], user="U0001",
               view_id="V00000001") -> dict:
    """A ``view_submission`` payload for the modal ``view`` (as the app opened it), with
    ``values`` typed into its plain-text inputs, by block id."""
    state = {block: {"value": {"type": "plain_text_input", "value": value}}
             for block, value in values.items()}
    return {"type": "view_submission", "team": {"id": "T0001"},
            "user": {"id": user, "team_id": "T0001"}, "api_app_id": "A0001",
            "trigger_id": "4.5.6",
            "view": dict(view, id=view_id, team_id="T0001", state={"values": state})}


def button(blocks: list[dict], action_id: str, n: int = 0) -> dict:
    """The ``n``-th button with ``action_id`` in a message's blocks."""
    found = [e for b in blocks if b["type"] == "actions" for e in b["elements"]
             if e["action_id"] == action_id]
    return found[n]


def body_of(payload: dict, kind: str) -> tuple[bytes, str]:
    """The HTTP body and content type Slack uses for ``kind`` (event, command or action)."""
    if kind == "event":
        return json.dumps(payload).encode(), "application/json"
    if kind == "command":
        return urlencode(payload).encode(), "application/x-www-form-urlencoded"
    return (urlencode({"payload": json.dumps(payload)}).encode(),
            "application/x-www-form-urlencoded")


def deliver(url: str, payload: dict, kind: str = "event", secret: str = SIGNING_SECRET,
            timestamp: int | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    """POST ``payload`` to the app at ``url`` signed with ``secret`` as Slack does; returns the
    HTTP status and body."""
    body, content_type = body_of(payload, kind)
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
