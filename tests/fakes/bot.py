"""The real notebot Slack app, wired to the fakes: for end-to-end tests and the latency bench."""
from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path

from bot import config
from bot.access import AccessFile
from bot.feedback import Votes
from bot.save_thread import Saving
from bot.slack_app import Bot, create_app, http_server
from index import store
from index.live import LiveSearcher

from .payloads import SIGNING_SECRET
from .slack_api import FakeSlack

REPO = Path(__file__).resolve().parents[2]
BOT_TOKEN = "xoxb-1111-2222-faketokenvalue"
APP_TOKEN = "xapp-1-A0001-3333-fakeapptokenvalue"
ADMIN = "UADMIN"
JST = timezone(timedelta(hours=9), "JST")  # the times saved notes are written in


@dataclass
class Running:
    fake: FakeSlack
    bot: Bot
    app: object
    url: str | None  # HTTP mode: where to POST Slack's requests


def settings(fake: FakeSlack, votes_db: Path) -> config.Slack:
    return config.Slack(BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, fake.api_url, frozenset({ADMIN}),
                        votes_db)


def make_bot(corpus: Path, index_dir: Path, votes_db: Path,
             editors: frozenset[str] = frozenset(), access: Path | None = None) -> Bot:
    def rebuild() -> str:
        return store.build(corpus, index_dir).summary()

    return Bot(LiveSearcher(index_dir, store.load_fresh(corpus, index_dir, say=lambda _: None),
                            say=lambda _: None),
               Votes(votes_db), frozenset({ADMIN}), rebuild,
               saving=Saving(corpus, editors, tz=JST),
               access=AccessFile(access, say=logging.getLogger("notebot.slack").warning)
               if access else None)


@contextmanager
def running(corpus: Path, index_dir: Path, votes_db: Path, http: bool = True,
            editors: frozenset[str] = frozenset(), access: Path | None = None):
    """The bot on a fake Web API; in HTTP mode also served by waitress on 127.0.0.1.
    ``editors``: who may save threads as notes (empty: everyone); ``access``: the access
    settings file (None: every note answers everywhere)."""
    with FakeSlack() as fake:
        bot = make_bot(corpus, index_dir, votes_db, editors, access)
        try:
            app = create_app(settings(fake, votes_db), bot, http=http)
            if not http:
                yield Running(fake, bot, app, None)
                return
            server = http_server(app, "127.0.0.1", 0, SIGNING_SECRET)
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            try:
                yield Running(fake, bot, app,
                              f"http://127.0.0.1:{server.effective_port}/slack/events")
            finally:
                server.trigger.pull_trigger(server.close)  # closed from waitress's own loop
                thread.join(10)
        finally:
            # (its index's memory maps hold a file descriptor each until closed)
            bot.work.shutdown(wait=True, cancel_futures=True)
            bot.searcher.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_process(args: list[str], fake: FakeSlack, corpus: Path, work: Path,
                  **env) -> subprocess.Popen:
    """``python -m bot slack ARGS`` as its own process, its settings in environment variables
    alone (as in the container); index and votes under ``work``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NOTEBOT_"))}
    environ.update(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=fake.api_url,
                   NOTEBOT_CORPUS=str(corpus), NOTEBOT_INDEX=str(work / "index"),
                   NOTEBOT_FEEDBACK_DB=str(work / "votes.sqlite3"), PYTHONPATH=str(REPO), **env)
    return subprocess.Popen([sys.executable, "-m", "bot", "slack", *args], cwd=work,
                            env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def wait_listening(process: subprocess.Popen, port: int, timeout: float = 120):
    """Until ``process`` accepts connections on ``port`` (it builds the index first)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the bot did not start: {process.communicate()[1]}")
            time.sleep(0.1)


def stop_process(process: subprocess.Popen) -> str:
    """SIGTERM, as ``docker stop`` sends; what the bot logged. It must exit with status 0."""
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return err
