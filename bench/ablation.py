"""Ablation of notebot's search-quality levers on JSQuAD and on the shipped corpus's questions.

    python bench/ablation.py [--data PATH] [--limit N]

Each row turns one lever off (analyzer settings are real options; question-side weights are the
module constants of index/search.py, set here for the run) and reports the same measures as
bench/quality.py, plus Hit@1/Hit@3 of bench/questions.tsv on the shipped corpus.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's code, even where another one is installed

import quality  # noqa: E402 (bench/ is on the path when run as a script)
from index import generation, search, store# noqa: E402
from index.analyzer import Analyzer  # noqa: E402
from index.evaluation import evaluate, parse  # noqa: E402
from index.scoring import Params  # noqa: E402
from index.synonyms import SHIPPED  # noqa: E402


@contextmanager
def constants(**values):
    saved = {name: getattr(search, name) for name in values}
    for name, value in values.items():
        setattr(search, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(search, name, value)


VARIANTS = [
    ("notebot (all levers)", {}, {}, {}),
    ("no character bigrams", {"bigrams": False}, {}, {}),
    ("no loanword glosses", {"glosses": False}, {}, {}),
    ("question words not weighted down", {}, {"QUESTION_WORD_WEIGHT": 1.0}, {}),
    ("bigrams inside words at full weight", {}, {"INNER_BIGRAM_WEIGHT": 0.5}, {}),
    ("no synonyms", {}, {}, {"synonyms": False}),
    ("BM25 k1=1.2 b=0.75 (textbook)", {}, {}, {"params": Params(k1=1.2, b=0.75)}),
    ("title weight 1 (no boost)", {}, {}, {"params": Params(title_weight=1.0)}),
    ("BM25 without the BM25+ lower bound (delta 0)", {}, {}, {"params": Params(delta=0.0)}),
    # (?!) matches nothing: no question is taken to ask for a number.
    ("excerpts not number-aware (いつ, 何人)", {}, {"_ASKS_NUMBER": re.compile("(?!)")}, {}),
]


class Variant(quality.Notebot):
    def __init__(self, docs, workdir, analyzer, params, synonyms):
        corpus = quality.write_corpus(docs, workdir / "corpus")
        store.build(corpus, workdir / "index", analyzer=analyzer, params=params)
        data = generation.load(workdir / "index")
        self.searcher = search.Searcher(data, analyzer, SHIPPED if synonyms else None)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=quality.DEFAULT_DATA)
    parser.add_argument("--limit", type=int)
    args = parser.parse_args(argv)
    articles, questions, paragraphs, para_ids, whole = quality.settings(args.data, args.limit)
    cases, _ = parse((REPO / "bench" / "questions.tsv").read_text(encoding="utf-8"))
    print("| variant | (a) MRR@10 | (a) Recall@1 | (b) Hit@1 | (b) answer-in-excerpt@1 | "
          "shipped Hit@1 | shipped Hit@3 |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n, (name, analyzer_opts, consts, opts) in enumerate(VARIANTS):
            analyzer = Analyzer(**analyzer_opts)
            params = opts.get("params", Params())
            synonyms = opts.get("synonyms", True)
            with constants(**consts):
                def make(docs, d):
                    return Variant(docs, Path(tmp) / f"{n}-{d}", analyzer, params, synonyms)

                a = quality.evaluate(make(paragraphs, "a"), questions,
                                     lambda x, p: para_ids[x, p], False)
                b = quality.evaluate(make(whole, "b"), questions, lambda x, p: x, True)
                store.build(REPO / "corpus", Path(tmp) / f"{n}-s", analyzer=analyzer,
                            params=params)
                s = evaluate(search.Searcher(generation.load(Path(tmp) / f"{n}-s"), analyzer,
                                             SHIPPED if synonyms else None), cases)
            print(f"| {name} | {a['mrr10']:.3f} | {a['hit1']:.3f} | {b['hit1']:.3f} | "
                  f"{b['answer_in_excerpt1']:.3f} | {s.hit1:.3f} | {s.hit3:.3f} |", flush=True)


if __name__ == "__main__":
    main()
