"""End to end in Socket Mode: the real Bolt app on slack_sdk's built-in Socket Mode client,
against a fake Socket Mode server and a fake Web API. Nothing here reaches Slack."""
from __future__ import annotations

import time

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler

from fakes import payloads as P
from fakes.bot import APP_TOKEN, running
from fakes.socket_mode import FakeSocketMode


@pytest.fixture
def socket(corpus, index_dir, tmp_path):
    with running(corpus, index_dir, tmp_path / "votes.sqlite3", http=False) as r, \
            FakeSocketMode() as server:
        r.fake.ws_url = server.url
        handler = SocketModeHandler(r.app, APP_TOKEN, ping_interval=1)
        handler.connect()
        server.wait_connections(1)
        r.server = server
        try:
            yield r
        finally:
            handler.close()


def test_connection_is_opened_with_the_app_token(socket):
    [opened] = socket.fake.calls_to("apps.connections.open")
    assert opened.headers["Authorization"] == f"Bearer {APP_TOKEN}"


def test_an_event_envelope_is_acknowledged_and_answered(socket):
    event = P.mention("GILって何？")
    envelope = socket.server.send("events_api", P.event(event))
    assert socket.server.wait_ack(envelope)["envelope_id"] == envelope
    [post] = socket.fake.wait_for("chat.postMessage")
    assert post.params["thread_ts"] == event["ts"]
    assert "python/gil.md" in str(post.params["blocks"])


def test_a_slash_command_envelope_is_acknowledged_then_answered_privately(socket):
    envelope = socket.server.send("slash_commands", P.slash("Goのクロスコンパイル",
                                                           socket.fake.response_url("cmd")))
    socket.server.wait_ack(envelope)
    [private] = socket.fake.wait_for("response/cmd")
    assert private.params["response_type"] == "ephemeral"
    assert "go/cross-compile.md" in str(private.params["blocks"])


def test_a_button_envelope_is_acknowledged_and_the_vote_stored(socket):
    value = '{"q": "GILって何？", "p": "python/gil.md"}'
    click = P.click({"type": "button", "action_id": "vote_up", "value": value},
                    socket.fake.response_url("vote"))
    socket.server.wait_ack(socket.server.send("interactive", click))
    socket.fake.wait_for("response/vote")
    assert socket.bot.votes.helpful() == [("GILって何？", "python/gil.md")]


def test_a_redelivered_envelope_is_answered_once(socket):
    payload = P.event(P.mention("GILって何？"))
    first = socket.server.send("events_api", payload)
    again = socket.server.send("events_api", payload, retry_attempt=1)
    socket.server.wait_ack(first)
    socket.server.wait_ack(again)
    socket.fake.wait_for("chat.postMessage")
    time.sleep(0.5)
    assert len(socket.fake.calls_to("chat.postMessage")) == 1


def test_the_client_reconnects_when_the_server_drops_the_connection(socket):
    socket.server.drop()
    socket.server.wait_connections(2)
    assert len(socket.fake.calls_to("apps.connections.open")) == 2
    envelope = socket.server.send("events_api", P.event(P.mention("70007エラー")))
    socket.server.wait_ack(envelope)
    [post] = socket.fake.wait_for("chat.postMessage")
    assert "tools/apache-70007.md" in str(post.params["blocks"])
