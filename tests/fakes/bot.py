"""The real notebot Slack app, wired to the fakes: for end-to-end tests and the latency bench."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot import config
from bot.feedback import Votes
from bot.slack_app import Bot, create_app, http_server
from index import store
from index.live import LiveSearcher

from .payloads import SIGNING_SECRET
from .slack_api import FakeSlack

BOT_TOKEN = "xoxb-1111-2222-faketokenvalue"
APP_TOKEN = "xapp-1-A0001-3333-fakeapptokenvalue"
ADMIN = "UADMIN"


@dataclass
class Running:
    fake: FakeSlack
    bot: Bot
    app: object
    url: str | None  # HTTP mode: where to POST Slack's requests


def settings(fake: FakeSlack, votes_db: Path) -> config.Slack:
    return config.Slack(BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, fake.api_url, frozenset({ADMIN}),
                        votes_db)


def make_bot(corpus: Path, index_dir: Path, votes_db: Path) -> Bot:
    def rebuild() -> str:
        return store.build(corpus, index_dir).summary()

    return Bot(LiveSearcher(index_dir, store.load_fresh(corpus, index_dir, say=lambda _: None),
                            say=lambda _: None),
               Votes(votes_db), frozenset({ADMIN}), rebuild)


@contextmanager
def running(corpus: Path, index_dir: Path, votes_db: Path, http: bool = True):
    """The bot on a fake Web API; in HTTP mode also served by waitress on 127.0.0.1."""
    with FakeSlack() as fake:
        bot = make_bot(corpus, index_dir, votes_db)
        app = create_app(settings(fake, votes_db), bot, http=http)
        if not http:
            yield Running(fake, bot, app, None)
            return
        server = http_server(app, "127.0.0.1", 0)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            yield Running(fake, bot, app,
                          f"http://127.0.0.1:{server.effective_port}/slack/events")
        finally:
            server.trigger.pull_trigger(server.close)  # closed from waitress's own loop
            thread.join(10)
