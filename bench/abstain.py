"""Does notebot know when it does not know? Answerable against unanswerable questions.

    python bench/abstain.py [--data PATH] [--threshold T]

JSQuAD v1.3 validation: the articles are shuffled with a fixed seed and halved; one half is
indexed (its paragraphs as notes, then its whole articles as notes) and every question is asked.
Positives: the question's paragraph (article) is indexed and comes first; negatives: it is not
indexed. Reported: ROC AUC of the first result's confidence (0 when nothing matches) against the
raw score's, and at the threshold the share of positives answered and of negatives refused.

The shipped corpus: ``questions.tsv`` (answerable) and ``off_topic.tsv`` (questions a team asks
that the notes do not answer): the share of correct first answers answered and of off-topic
questions refused. A sweep of thresholds shows what a different setting would give.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.stats import rankdata

# This checkout's code, even where another checkout is installed (pip install -e elsewhere).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.quality import DEFAULT_DATA, load_jsquad, write_corpus  # noqa: E402
from index import generation, store# noqa: E402
from index.search import DEFAULT_MIN_CONFIDENCE, Searcher  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SEED = 15
SWEEP = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


def auc(positives, negatives) -> float:
    """ROC AUC: the chance that a positive outscores a negative (ties count half)."""
    values = np.concatenate([positives, negatives])
    ranks = rankdata(values)[:len(positives)]
    n_pos, n_neg = len(positives), len(negatives)
    return float((ranks.sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def first(searcher: Searcher, question: str):
    """The first result: (note path, confidence, score), or (None, 0, 0)."""
    hits = searcher.search(question, k=1)
    return (hits[0].path, hits[0].confidence, hits[0].score) if hits else (None, 0.0, 0.0)


def jsquad(path: Path, workdir: Path):
    """Per setting: the positives' and negatives' (confidence, score) of the first result."""
    articles, questions = load_jsquad(path, None)
    order = list(range(len(articles)))
    random.Random(SEED).shuffle(order)
    indexed = sorted(order[:len(order) // 2])
    paragraphs, whole = {}, {}
    for a in indexed:
        title, paras = articles[a]
        for p, text in enumerate(paras):
            paragraphs[a, p] = (title, text)
        whole[a] = (title, "\n".join(paras))
    out = {}
    for setting, docs, gold_of in (("paragraphs", paragraphs, lambda a, p: (a, p)),
                                   ("articles", whole, lambda a, p: a)):
        keys = list(docs)
        corpus = write_corpus([docs[key] for key in keys], workdir / setting / "corpus")
        store.build(corpus, workdir / setting / "index")
        searcher = Searcher(generation.load(workdir / setting / "index"))
        pos, neg, wrong = [], [], 0
        for question, a, p, _ in questions:
            note, confidence, score = first(searcher, question)
            gold = gold_of(a, p)
            if gold not in docs:
                neg.append((confidence, score))
            elif note is not None and keys[int(note[:5])] == gold:
                pos.append((confidence, score))
            else:
                wrong += 1
        out[setting] = (np.array(pos), np.array(neg), wrong, len(docs))
    return out


def tsv(path: Path) -> list[tuple[str, str]]:
    """(question, expected) pairs of a question file (expected empty where there is none)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            question, _, expected = line.partition("\t")
            rows.append((question.strip(), expected.strip()))
    return rows


def shipped(workdir: Path):
    """Confidences of the correct first answers of questions.tsv, and of off_topic.tsv's first
    results (0 when nothing matches)."""
    store.build(ROOT / "corpus", workdir / "shipped")
    searcher = Searcher(generation.load(workdir / "shipped"))
    right = [c for q, expected in tsv(HERE / "questions.tsv")
             for note, c, _ in [first(searcher, q)] if note == expected]
    off = [(q, *first(searcher, q)) for q, _ in tsv(HERE / "off_topic.tsv")]
    return np.array(right), off


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--threshold", type=float, default=DEFAULT_MIN_CONFIDENCE)
    parser.add_argument("--show", action="store_true",
                        help="list the off-topic questions answered")
    args = parser.parse_args(argv)
    if not args.data.exists():
        sys.exit(f"JSQuAD not found at {args.data}; pass --data PATH")
    t = args.threshold
    with tempfile.TemporaryDirectory() as tmp:
        results = jsquad(args.data, Path(tmp))
        right, off = shipped(Path(tmp))
    off_conf = np.array([c for _, _, c, _ in off])

    print(f"JSQuAD v1.3 validation, articles halved (seed {SEED}); threshold {t}")
    print("| notes | indexed | positives | negatives | wrong first | AUC confidence | "
          "AUC raw score | positives answered | negatives refused |")
    print("|---|---|---|---|---|---|---|---|---|")
    for setting, (pos, neg, wrong, n) in results.items():
        print(f"| {setting} | {n} | {len(pos)} | {len(neg)} | {wrong} | "
              f"{auc(pos[:, 0], neg[:, 0]):.4f} | {auc(pos[:, 1], neg[:, 1]):.4f} | "
              f"{np.mean(pos[:, 0] >= t):.4f} | {np.mean(neg[:, 0] < t):.4f} |")
    print()
    print(f"Shipped corpus: {len(right)} correct first answers (questions.tsv), "
          f"{len(off)} off-topic questions (off_topic.tsv)")
    print("| threshold | JSQuAD paragraphs: answered / refused | articles: answered / refused | "
          "correct answers answered | off-topic refused |")
    print("|---|---|---|---|---|")
    for s in sorted(set(SWEEP) | {t}):
        cells = [f"{np.mean(pos[:, 0] >= s):.3f} / {np.mean(neg[:, 0] < s):.3f}"
                 for pos, neg, _, _ in results.values()]
        mark = " (default)" if s == t else ""
        print(f"| {s}{mark} | {' | '.join(cells)} | {np.mean(right >= s):.3f} | "
              f"{np.mean(off_conf < s):.3f} |")
    if args.show:
        for q, note, c, score in off:
            if c >= t:
                print(f"answered off-topic: {q} -> {note} ({c:.3f}, score {score:.2f})")
        print(f"lowest correct answers: {np.sort(right)[:5].round(3).tolist()}")


if __name__ == "__main__":
    main()
