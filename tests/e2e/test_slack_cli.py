"""``notebot slack`` as an operator runs it: configured by environment variables alone, in
Socket Mode (the container's command) and in HTTP mode, stopped by SIGTERM."""
from __future__ import annotations

import socket
import time

import pytest

from conftest import REPO, write_note
from fakes import payloads as P
from fakes.bot import (APP_TOKEN, BOT_TOKEN, free_port, start_process, stop_process,
                       wait_listening)
from fakes.slack_api import FakeSlack
from fakes.socket_mode import FakeSocketMode


@pytest.mark.parametrize("argv, env, message", [
    (["slack"], {}, "set SLACK_BOT_TOKEN"),
    (["slack"], {"SLACK_BOT_TOKEN": "xoxp-user-token"}, "set SLACK_BOT_TOKEN"),
    (["slack"], {"SLACK_BOT_TOKEN": BOT_TOKEN}, "Socket Mode needs SLACK_APP_TOKEN"),
    (["slack", "--http"], {"SLACK_BOT_TOKEN": BOT_TOKEN}, "HTTP mode needs SLACK_SIGNING_SECRET"),
    (["slack", "--port", "8080"], {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN},
     "--port is for HTTP mode"),
    *[(["slack"], {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN,
                   "SLACK_API_URL": url}, f"SLACK_API_URL '{url}' is not an http(s) URL")
      for url in ["not a url", "slack.com/api", "ftp://slack.com/api/", "http://",
                  "https://slack.com:99999/api/", "http://[::1/api/"]],

    *[(["slack", "--http", "--port", port], {}, f"expected a port number from 1 to 65535, "
       f"got '{port}'") for port in ["99999", "65536", "0", "-1", "http"]],
])
def test_missing_settings_say_what_to_set(run_cli, monkeypatch, corpus, argv, env, message):
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = run_cli([*argv, "--corpus", corpus])
    assert result.rc == 2
    assert message in result.err and len(result.err.strip().splitlines()) == 1


def test_doctor_reports_a_malformed_slack_api_url(run_cli, monkeypatch, corpus):
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", "not a url")
    result = run_cli(["doctor", "--corpus", corpus])
    assert result.rc == 1 and "Traceback" not in result.out + result.err
    assert "SLACK_API_URL 'not a url' is not an http(s) URL" in result.out


def test_socket_mode_runs_from_environment_variables_alone(corpus, tmp_path):
    with FakeSlack() as fake, FakeSocketMode() as server:
        fake.ws_url = server.url
        process = start_process([], fake, corpus, tmp_path, SLACK_APP_TOKEN=APP_TOKEN)
        try:
            server.wait_connections(1, timeout=60)
            event = P.mention("GILって何？")
            server.wait_ack(server.send("events_api", P.event(event)))
            [post] = fake.wait_for("chat.postMessage")
            assert post.params["thread_ts"] == event["ts"]
        finally:
            log = stop_process(process)
    assert '"event": "question", "channel_type": "channel"' in log
    assert BOT_TOKEN not in log and APP_TOKEN not in log


def test_http_mode_serves_signed_requests_and_watches_the_notes(corpus, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/slack/events"
    with FakeSlack() as fake:
        process = start_process(["--http", "--host", "127.0.0.1", "--port", str(port),
                                 "--watch"], fake, corpus, tmp_path,
                                SLACK_SIGNING_SECRET=P.SIGNING_SECRET)
        try:
            wait_listening(process, port)
            assert P.deliver(url, P.event(P.message("GILって何？")))[0] == 200
            assert "python/gil.md" in str(fake.wait_for("chat.postMessage")[0].params["blocks"])
            assert P.deliver(url, P.event(P.message("GIL")), secret="forged")[0] == 401

            write_note(corpus, "new/kubernetes.md", "# Kubernetesのポッド\nポッドはコンテナの単位。\n")
            for n in range(2, 100):  # --watch rebuilds shortly after the change
                P.deliver(url, P.event(P.message("ポッドとは")))
                if "new/kubernetes.md" in str(fake.wait_for("chat.postMessage", n)[-1].params):
                    break
                time.sleep(0.2)
            else:
                pytest.fail("the new note was never found")
        finally:
            log = stop_process(process)
    assert "1 added" in log and BOT_TOKEN not in log


def test_an_address_it_cannot_listen_on_is_reported_in_one_line(corpus, tmp_path):
    with socket.socket() as taken, FakeSlack() as fake:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for host, why in [("999.1.1.1", "Invalid host"), ("127.0.0.1", "Address already in use")]:
            process = start_process(["--http", "--host", host, "--port", str(port)], fake,
                                    corpus, tmp_path, SLACK_SIGNING_SECRET=P.SIGNING_SECRET)
            _, err = process.communicate(timeout=120)
            assert process.returncode == 2
            last = err.strip().splitlines()[-1]
            assert last.startswith(f"notebot: cannot listen on {host}:{port} (") and why in last
            assert "Traceback" not in err


def test_a_token_slack_refuses_is_reported_in_one_line(corpus, tmp_path):
    with FakeSlack() as fake:
        fake.fail("auth.test", error="invalid_auth")
        process = start_process([], fake, corpus, tmp_path, SLACK_APP_TOKEN=APP_TOKEN)
        _, err = process.communicate(timeout=120)
    assert process.returncode == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("notebot: Slack refused SLACK_BOT_TOKEN") and "invalid_auth" in last
    assert BOT_TOKEN not in err


def test_an_app_token_slack_refuses_is_reported_in_one_line(corpus, tmp_path):
    with FakeSlack() as fake:
        fake.fail("apps.connections.open", error="invalid_auth")
        process = start_process([], fake, corpus, tmp_path, SLACK_APP_TOKEN=APP_TOKEN)
        _, err = process.communicate(timeout=120)
    assert process.returncode == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("notebot: Slack refused SLACK_APP_TOKEN (invalid_auth)")
    assert "Traceback" not in err and APP_TOKEN not in err


def test_the_manifest_asks_for_what_the_bot_listens_to():
    import yaml

    manifest = yaml.safe_load((REPO / "slack-manifest.yml").read_text(encoding="utf-8"))
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/notes"]
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) >= {
        "app_mention", "message.im", "message.channels", "app_home_opened"}
    assert set(manifest["oauth_config"]["scopes"]["bot"]) >= {
        "app_mentions:read", "im:history", "channels:history", "chat:write", "commands"}
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True  # the default way to run
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


def test_an_unreachable_slack_is_reported_in_one_line(corpus, tmp_path):
    with FakeSlack() as fake:
        pass  # stopped: nothing listens at its address any more
    process = start_process([], fake, corpus, tmp_path, SLACK_APP_TOKEN=APP_TOKEN)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1
    assert "cannot reach the Slack Web API at http://127.0.0.1:" in err.strip().splitlines()[-1]
    assert "Traceback" not in err
