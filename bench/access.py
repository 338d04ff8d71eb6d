"""What access settings cost a question: the Slack bot's whole answer (Bot.answer: search, one
more hit to know whether there are more, excerpts, the reply's blocks) with no access settings
file, and with one that makes collections private and restricts the asking channel to a few.

Both bots share one LiveSearcher, in one process, and take turns question by question (the
order swapped on every other question), so a noisy shared machine slows both alike. Each pass
asks every question of both; the figures are the medians of the passes' p50 and p99.

    python bench/access.py --corpus corpus --index /tmp/index-shipped --tsv bench/questions.tsv
    python bench/access.py --corpus bench/out/notes-20k --index /tmp/index-20k
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import gen_corpus  # noqa: E402  (bench/ is on the path when run as a script)
from bot.access import AccessFile  # noqa: E402
from bot.feedback import Votes  # noqa: E402
from bot.slack_app import Bot  # noqa: E402
from index import store  # noqa: E402
from index.live import LiveSearcher  # noqa: E402

CHANNEL, USER = "C0BENCH", "U0BENCH"


def settings(collections: list[str], private: int, allowed: int) -> str:
    """An access file: the first ``private`` collections private (to another user), the
    asking channel restricted to the next ``allowed``."""
    lines = []
    for name in collections[:private]:
        lines += [f'[collections."{name}"]', "private = true", 'users = ["U0SOMEONE"]', ""]
    chosen = ", ".join(f'"{c}"' for c in collections[private:private + allowed])
    lines += [f"[channels.{CHANNEL}]", f"collections = [{chosen}]"]
    return "\n".join(lines) + "\n"


def ask(bot: Bot, question: str) -> float:
    started = time.perf_counter()
    bot.answer(question, collections=bot.scope(CHANNEL, USER, "thread"))
    return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True, help="built here if need be")
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--private", type=int, default=2, help="collections made private")
    parser.add_argument("--allowed", type=int, default=3, help="collections the channel has")
    parser.add_argument("--source", type=Path, default=gen_corpus.DEFAULT_SOURCE)
    parser.add_argument("--tsv", type=Path, help="ask the questions of this eval file (else "
                        "generated ones, as bench/perf.py asks)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="notebot-access-bench-"))
    live = LiveSearcher(args.index, store.load_fresh(args.corpus, args.index,
                                                     say=lambda line: print(line,
                                                                            file=sys.stderr)))
    collections = sorted(live.collections())
    path = work / "access.toml"
    path.write_text(settings(collections, args.private, args.allowed), encoding="utf-8")
    votes = Votes(work / "votes.sqlite3")
    plain = Bot(live, votes, frozenset(), lambda: "")
    ruled = Bot(live, votes, frozenset(), lambda: "", access=AccessFile(path))
    allowed = ruled.scope(CHANNEL, USER, "thread")
    share = live.status(allowed)["notes"] / live.status()["notes"]
    print(f"{live.status()['notes']} notes in {len(collections)} collections; the channel "
          f"answers from {len(allowed)} ({share:.0%} of the notes)")
    if args.tsv:
        questions = [line.split("\t")[0] for line in args.tsv.read_text("utf-8").splitlines()
                     if line.strip() and not line.startswith("#")]
    else:
        questions = gen_corpus.questions(args.questions, gen_corpus.Sources(args.source))
    for q in questions[:20]:  # (warm: caches, the first generation's arrays)
        ask(plain, q), ask(ruled, q)
    p50 = {"none": [], "file": []}
    p99 = {"none": [], "file": []}
    for _ in range(args.passes):
        times: dict[str, list[float]] = {"none": [], "file": []}
        for n, q in enumerate(questions):
            turns = [("none", plain), ("file", ruled)]
            for label, bot in turns if n % 2 else reversed(turns):
                times[label].append(ask(bot, q))
        for label, t in times.items():
            p50[label].append(float(np.percentile(t, 50)) * 1000)
            p99[label].append(float(np.percentile(t, 99)) * 1000)
    live.close()
    print("| settings | question p50 | p99 |")
    print("|---|---|---|")
    for label, name in (("none", "no file"), ("file", "file: restricted channel")):
        print(f"| {name} | {statistics.median(p50[label]):.2f} ms "
              f"| {statistics.median(p99[label]):.2f} ms |")
    print("passes' p50 (none / file):", [f"{a:.2f}/{b:.2f}" for a, b in
                                         zip(p50["none"], p50["file"])])


if __name__ == "__main__":
    main()
