"""What 👍/👎 votes teach the search (index/votes.py), measured on JSQuAD and the shipped notes.

    python bench/learning.py [JSQUAD] [--weight W] [--redundant R] [--same S] [--per-user N]
                             [--per-note N] [--down F] [--skip-jsquad]

JSQuAD v1.3 validation, paragraphs as notes (as in quality.py). A fixed fifth of the articles
gets no votes (held-out articles). In the other articles each paragraph's questions are split in
two (fixed seed): the first half is imported as 👍 votes on the paragraph, the second half is
asked. MRR@10 and Hit@1 with the votes against without them, on the second half, on the
held-out articles' questions, and on the voted half asked again. Adversarial: one more user
votes one note 👍 for 1,000 questions of other paragraphs. 👎: on the shipped notes, ten
questions of bench/questions.tsv with more than one result each get a 👎 on their first
result; that note should move down for that question, and the other questions' results should
stay as they were. The table goes to standard output; bench/README.md has the figures.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's code, as in quality.py
sys.path.insert(0, str(ROOT / "bench"))

from quality import DEFAULT_DATA, evaluate, settings, write_corpus  # noqa: E402

SEED = 20240601
HELD_OUT = 5          # one article in HELD_OUT gets no votes
ADVERSARIAL = 1000    # questions the adversarial user votes for one note


class Voted:
    """notebot's Searcher with the given votes, as quality.evaluate asks systems."""

    name = "notebot"

    def __init__(self, searcher, ballots):
        self.searcher, self.ballots = searcher, ballots

    def search(self, question, k):
        self.searcher.votes = self.ballots
        hits = self.searcher.search(question, k=k, excerpts=0)
        return [int(h.path[:5]) for h in hits], ""


def ballots_from(votes_db: Path, rows):
    """(user, question, path, vote) rows stored in a votes database as ``notebot feedback
    import`` stores them, and read back as a searcher gets them."""
    from bot.feedback import Votes
    from index.votes import Ballots

    votes = Votes(votes_db)
    votes.record_many([(user, q, path, vote, None) for user, q, path, vote in rows])
    return Ballots(tuple(votes.rows()))


def split(questions, para_ids, n_articles):
    """(voted, asked, held-out) questions: see the module's docstring."""
    rng = random.Random(SEED)
    held = set(rng.sample(range(n_articles), n_articles // HELD_OUT))
    by_paragraph = defaultdict(list)
    for q in questions:
        by_paragraph[para_ids[q[1], q[2]]].append(q)
    voted, asked, held_out = [], [], []
    for note in sorted(by_paragraph):
        qs = by_paragraph[note]
        if qs[0][1] in held:
            held_out += qs
            continue
        rng.shuffle(qs)
        voted += qs[:len(qs) // 2]
        asked += qs[len(qs) // 2:]
    return voted, asked, held_out


def jsquad(args, tmp: Path):
    from index import store
    from index.search import Searcher

    articles, questions, paragraphs, para_ids, _ = settings(args.data, None)
    write_corpus(paragraphs, tmp / "corpus")
    searcher = Searcher(store.load_fresh(tmp / "corpus", tmp / "index", say=lambda _: None))
    voted, asked, held_out = split(questions, para_ids, len(articles))

    def path(q):
        return f"{para_ids[q[1], q[2]]:05d}.md"

    honest = [("import", q[0], path(q), 1) for q in voted]
    rng = random.Random(SEED + 1)
    target = rng.randrange(len(paragraphs))
    others = [q for q in questions if para_ids[q[1], q[2]] != target]
    attack = [("U0MALLORY", q[0], f"{target:05d}.md", 1)
              for q in rng.sample(others, ADVERSARIAL)]
    runs = [("no votes", None),
            ("votes", ballots_from(tmp / "votes.sqlite3", honest)),
            ("votes + 1 user's 1,000 👍 on one note",
             ballots_from(tmp / "attack.sqlite3", honest + attack))]

    def gold(a, p):
        return para_ids[a, p]

    rows = []
    for name, ballots in runs:
        t0 = time.perf_counter()
        system = Voted(searcher, ballots)
        on_asked = evaluate(system, asked, gold, False)
        on_held = evaluate(system, held_out, gold, False)
        again = evaluate(system, voted, gold, False)
        rows.append((name, on_asked, on_held, again))
        print(f"  {name}: {time.perf_counter() - t0:.0f}s", file=sys.stderr, flush=True)
    print(f"JSQuAD v1.3 validation: {len(paragraphs)} paragraphs as notes; {len(voted)} "
          f"questions voted 👍, {len(asked)} asked (the other half), {len(held_out)} from the "
          f"{len(articles) // HELD_OUT} held-out articles; adversarial note {target:05d}.md")
    print("| votes | other half: MRR@10 | other half: Hit@1 | held-out articles: MRR@10 | "
          "held-out: Hit@1 | voted half asked again: MRR@10 | again: Hit@1 | ms/question |")
    print("|---|---|---|---|---|---|---|---|")
    base = rows[0]

    def delta(new, old):
        return f"{new:.4f}" if new is old else f"{new:.4f} ({new - old:+.4f})"

    for name, *measures in rows:
        cells = [delta(m[key], b[key]) for m, b in zip(measures, base[1:])
                 for key in ("mrr10", "hit1")]
        print(f"| {name} | {' | '.join(cells)} | {measures[0]['ms_per_query']:.1f} |")
    attacked = rows[2][1]["hit1"] - rows[1][1]["hit1"]
    print(f"adversarial user: asked Hit@1 {attacked:+.4f} against the honest votes alone")


def shipped(tmp: Path, n: int = 10):
    """👎 on the first result of the first ``n`` questions of bench/questions.tsv."""
    from index import store
    from index.evaluation import parse
    from index.search import Searcher

    cases, _ = parse((ROOT / "bench" / "questions.tsv").read_text(encoding="utf-8"))
    searcher = Searcher(store.load_fresh(ROOT / "corpus", tmp / "shipped-index",
                                         say=lambda _: None))

    def answers():
        return {c.question: [h.path for h in searcher.search(c.question, k=10, excerpts=0)]
                for c in cases}

    before = answers()
    # (a note that is the only result cannot move down: such questions are passed over)
    down = [(c.question, before[c.question][0]) for c in cases
            if len(before[c.question]) > 1][:n]
    searcher.votes = ballots_from(tmp / "down.sqlite3",
                                  [("U0BENCH", q, path, -1) for q, path in down])
    after = answers()
    moved = []
    for question, path in down:
        rank = after[question].index(path) + 1 if path in after[question] else None
        moved.append(rank)
    others = [c.question for c in cases if c.question not in dict(down)]
    same = sum(before[q][:3] == after[q][:3] for q in others)
    print(f"\nShipped notes, bench/questions.tsv: 👎 on the first result of the first {n} "
          "questions with more than one result")
    print("| 👎'd note's rank after, for its question (was 1) | other questions with the "
          "same top 3 |")
    print("|---|---|")
    print(f"| {', '.join(str(r) if r else '>10' for r in moved)} | {same} of {len(others)} |")


def main(argv=None):
    from index import votes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--weight", type=float, default=votes.ASKED_AS_WEIGHT)
    parser.add_argument("--per-user", type=int, default=votes.QUESTIONS_PER_USER)
    parser.add_argument("--per-note", type=int, default=votes.QUESTIONS_PER_NOTE)
    parser.add_argument("--down", type=float, default=votes.DOWN_FACTOR)
    parser.add_argument("--same", type=float, default=votes.SAME_QUESTION_WEIGHT)
    parser.add_argument("--redundant", type=float, default=votes.REDUNDANT)
    parser.add_argument("--skip-jsquad", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_jsquad and not args.data.exists():
        sys.exit(f"JSQuAD not found at {args.data}; pass its path")
    votes.ASKED_AS_WEIGHT, votes.QUESTIONS_PER_USER = args.weight, args.per_user
    votes.QUESTIONS_PER_NOTE, votes.DOWN_FACTOR = args.per_note, args.down
    votes.SAME_QUESTION_WEIGHT, votes.REDUNDANT = args.same, args.redundant
    print(f"ASKED_AS_WEIGHT {args.weight}, REDUNDANT {args.redundant}, SAME_QUESTION_WEIGHT "
          f"{args.same}, QUESTIONS_PER_USER {args.per_user}, QUESTIONS_PER_NOTE "
          f"{args.per_note}, DOWN_FACTOR {args.down}")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_jsquad:
            jsquad(args, Path(tmp))
        shipped(Path(tmp))


if __name__ == "__main__":
    main()
