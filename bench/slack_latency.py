"""Slack bot latency: from an event reaching the bot to its ``chat.postMessage``.

    python bench/slack_latency.py [--questions 200] [--mode http|socket|both]

Runs the real ``notebot slack`` as a separate process on the shipped corpus, against the fake
Slack Web API (and, in Socket Mode, the fake Socket Mode server) of ``tests/fakes``, all on
127.0.0.1. Questions are asked one at a time, each a new @mention; the clock starts when the
event is handed to the bot (HTTP request sent / envelope sent) and stops when the fake Web API
receives the answer. The questions are made from the notes: about each note's title, then pieces (up
to 40 characters) of the sentences of its body, one note after another until there are enough.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from fakes import payloads as P  # noqa: E402
from fakes.bot import (APP_TOKEN, free_port, start_process, stop_process,  # noqa: E402
                       wait_listening)
from fakes.slack_api import FakeSlack  # noqa: E402
from fakes.socket_mode import FakeSocketMode  # noqa: E402
from index import notes  # noqa: E402
from index.excerpt import sentences  # noqa: E402


def questions(corpus: Path, n: int) -> list[str]:
    """``n`` questions from the notes under ``corpus``: titles first, then body sentences."""
    per_note = []
    for info in notes.scan(corpus).files:
        note, _ = notes.parse(info.path, (corpus / info.path).read_bytes())
        said = [f"{note.title}{ending}" for ending in ("について教えて", "とは？", "の要点は？")]
        said += [s[i:i + 40] for s in sentences(note.text) for i in range(0, len(s), 40)
                 if len(s[i:i + 40]) >= 8]
        per_note.append(said)
    out = []
    for i in range(max(map(len, per_note))):
        out += [said[i] for said in per_note if i < len(said)]
    return out[:n]


def logged_latencies(log: str) -> list[float]:
    """The latencies (ms) in the bot's own log lines."""
    return [json.loads(m.group())["latency_ms"]
            for m in re.finditer(r'\{"event": "question".*\}', log)]


def ask_all(qs, fake: FakeSlack, send) -> list[float]:
    """Ask each question in turn; milliseconds from hand-over to chat.postMessage."""
    took = []
    for n, q in enumerate(qs, 1):
        started = time.perf_counter()
        send(P.event(P.mention(q)))
        took.append((fake.wait_for("chat.postMessage", n)[-1].at - started) * 1000)
    return took


def run_http(qs, work: Path) -> tuple[list[float], list[float]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/slack/events"
    with FakeSlack() as fake:
        bot = start_process(["--http", "--host", "127.0.0.1", "--port", str(port)], fake, CORPUS,
                            work, SLACK_SIGNING_SECRET=P.SIGNING_SECRET)
        try:
            wait_listening(bot, port)
            took = ask_all(qs, fake, lambda payload: P.deliver(url, payload))
        finally:
            logged = logged_latencies(stop_process(bot))
    return took, logged


def run_socket(qs, work: Path) -> tuple[list[float], list[float]]:
    with FakeSlack() as fake, FakeSocketMode() as server:
        fake.ws_url = server.url
        bot = start_process([], fake, CORPUS, work, SLACK_APP_TOKEN=APP_TOKEN)
        try:
            server.wait_connections(1, timeout=120)
            took = ask_all(qs, fake, lambda payload: server.send("events_api", payload))
        finally:
            logged = logged_latencies(stop_process(bot))
    return took, logged


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--mode", choices=["http", "socket", "both"], default="both")
    args = parser.parse_args()
    qs = questions(CORPUS, args.questions)
    modes = ["http", "socket"] if args.mode == "both" else [args.mode]
    print(f"{len(qs)} questions on {CORPUS}, one at a time; milliseconds")
    print(f"{'mode':<28} {'n':>4} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7}")
    for mode in modes:
        with tempfile.TemporaryDirectory() as work:
            took, logged = (run_http if mode == "http" else run_socket)(qs, Path(work))
        for label, values in ((f"{mode}: event → postMessage", took),
                              (f"{mode}: bot's own log line", logged)):
            print(f"{label:<28} {len(values):>4} {statistics.median(values):>7.1f} "
                  f"{percentile(values, 90):>7.1f} {percentile(values, 99):>7.1f} "
                  f"{max(values):>7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
