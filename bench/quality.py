"""Retrieval quality on JSQuAD v1.3 validation: notebot against fugashi + bm25s, in one process.

    python bench/quality.py [--data PATH] [--limit N]

(a) paragraphs as notes (1,145 notes): MRR@10 and Recall@1 of the gold paragraph.
(b) whole articles as notes (59 notes, paragraphs joined): Hit@1 of the gold article, and
    answer-in-excerpt@1: the top result's excerpt (≤ 200 chars) contains a gold answer.
Baselines: bm25s (Lucene BM25, default k1/b) over fugashi lemmas, its excerpt being the best
≤ 200-char window of whole sentences by lemma overlap; and plain scikit-learn TfidfVectorizer
defaults (cosine) for (a). The data is read from ../shared (or --data), never copied here.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

# This checkout's code, even where another checkout is installed (pip install -e elsewhere).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "jsquad-valid-v1.3.json"


def load_jsquad(path: Path, limit: int | None):
    """Articles as (title, [paragraph]) and questions as (question, article, paragraph, answers)."""
    articles, questions = [], []
    for a, article in enumerate(json.loads(path.read_text(encoding="utf-8"))["data"]):
        paragraphs = []
        for p, para in enumerate(article["paragraphs"]):
            paragraphs.append(para["context"].split(" [SEP] ", 1)[-1])
            for qa in para["qas"]:
                questions.append((qa["question"], a, len(paragraphs) - 1,
                                  [x["text"] for x in qa["answers"]]))
        articles.append((article["title"], paragraphs))
    if limit:
        questions = questions[::max(1, len(questions) // limit)][:limit]
    return articles, questions


def settings(path: Path, limit: int | None):
    """JSQuAD as the two settings: articles, questions, paragraphs (title, text) with the id of
    each (article, paragraph), and whole articles (title, paragraphs joined)."""
    articles, questions = load_jsquad(path, limit)
    paragraphs, para_ids = [], {}
    for a, (title, paras) in enumerate(articles):
        for p, text in enumerate(paras):
            para_ids[a, p] = len(paragraphs)
            paragraphs.append((title, text))
    whole = [(title, "\n".join(paras)) for title, paras in articles]
    return articles, questions, paragraphs, para_ids, whole


def write_corpus(docs, corpus: Path) -> Path:
    """(title, body) pairs as Markdown notes 00000.md, 00001.md, ... under ``corpus``."""
    corpus.mkdir(parents=True)
    for i, (title, body) in enumerate(docs):
        front = yaml.safe_dump({"title": title}, allow_unicode=True)
        (corpus / f"{i:05d}.md").write_text(f"---\n{front}---\n{body}\n", encoding="utf-8")
    return corpus


# ---------------------------------------------------------------- systems

class Notebot:
    """The real pipeline: Markdown notes on disk → notebot build → Searcher."""

    name = "notebot"

    def __init__(self, docs, workdir: Path):
        from index import generation, store
        from index.search import Searcher

        corpus = write_corpus(docs, workdir / "corpus")
        store.build(corpus, workdir / "index")
        self.searcher = Searcher(generation.load(workdir / "index"))

    def search(self, question, k):
        hits = self.searcher.search(question, k=k)
        return [int(h.path[:5]) for h in hits], (hits[0].excerpt if hits else "")


class LemmaTokens:
    """fugashi lemmas, the surface where UniDic has none: the baselines' tokenizer."""

    def __init__(self, tagger):
        self.tagger = tagger

    def __call__(self, text):
        return [w.feature.lemma or w.surface for w in self.tagger(text)]


class Bm25sLemma:
    """fugashi lemmas (surface when there is none) + bm25s; excerpt: best sentence window."""

    name = "fugashi+bm25s"

    def __init__(self, docs, workdir: Path):
        import bm25s
        import fugashi

        self.tokens = LemmaTokens(fugashi.Tagger())
        self.docs = docs
        self.retriever = bm25s.BM25()
        self.retriever.index([self.tokens(t + "\n" + b) for t, b in docs], show_progress=False)
        self.vocab_size = len(self.retriever.vocab_dict)

    def search(self, question, k):
        q = self.tokens(question)
        if not any(t in self.retriever.vocab_dict for t in q):
            return [], ""
        ids, scores = self.retriever.retrieve([q], k=min(k, len(self.docs)), show_progress=False)
        ranked = [int(i) for i, s in zip(ids[0], scores[0]) if s > 0]
        return ranked, (self.excerpt(self.docs[ranked[0]][1], set(q)) if ranked else "")

    def excerpt(self, text, q):
        sents = [s for s in re.findall(r"[^。！？\n]*[。！？\n]?", text) if s.strip()]
        best, best_score = "", -1
        for i in range(len(sents)):
            window = ""
            for j in range(i, len(sents)):
                if len(window) + len(sents[j]) > 200:
                    break
                window += sents[j]
                score = len(q & set(self.tokens(window)))
                if score > best_score:
                    best, best_score = window, score
        return best or text[:200]


class Tfidf:
    """scikit-learn TfidfVectorizer, default weighting over fugashi lemmas, cosine similarity."""

    name = "TfidfVectorizer defaults"

    def __init__(self, docs, workdir: Path):
        import fugashi
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(analyzer=LemmaTokens(fugashi.Tagger()))
        self.matrix = self.vectorizer.fit_transform([t + "\n" + b for t, b in docs])

    def search(self, question, k):
        scores = (self.matrix @ self.vectorizer.transform([question]).T).toarray().ravel()
        ranked = [int(i) for i in np.argsort(-scores, kind="stable")[:k] if scores[i] > 0]
        return ranked, ""


# ---------------------------------------------------------------- measures

def evaluate(system, questions, gold_of, with_excerpt):
    rr, hit1, in_excerpt, times = [], [], [], []
    for question, a, p, answers in questions:
        t0 = time.perf_counter()
        ranked, excerpt = system.search(question, 10)
        times.append(time.perf_counter() - t0)
        gold = gold_of(a, p)
        rank = ranked.index(gold) + 1 if gold in ranked else None
        rr.append(1 / rank if rank else 0.0)
        hit1.append(rank == 1)
        if with_excerpt:
            assert len(excerpt) <= 200, (system.name, len(excerpt))
            in_excerpt.append(any(ans in excerpt for ans in answers))
    return {"mrr10": float(np.mean(rr)), "hit1": float(np.mean(hit1)),
            "answer_in_excerpt1": float(np.mean(in_excerpt)) if in_excerpt else None,
            "ms_per_query": 1000 * float(np.median(times))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, help="evaluate on an even sample of N questions")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--only", help="run only the systems whose name contains this")
    args = parser.parse_args(argv)
    if not args.data.exists():
        sys.exit(f"JSQuAD not found at {args.data}; pass --data PATH")
    articles, questions, paragraphs, para_ids, whole = settings(args.data, args.limit)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for setting, docs, gold_of, systems, with_excerpt in (
            ("(a) paragraphs", paragraphs, lambda a, p: para_ids[a, p],
             (Notebot, Bm25sLemma, Tfidf), False),
            ("(b) articles", whole, lambda a, p: a, (Notebot, Bm25sLemma), True),
        ):
            for cls in systems:
                if args.only and args.only not in cls.name:
                    continue
                workdir = Path(tmp) / f"{cls.__name__}-{len(rows)}"
                system = cls(docs, workdir)
                result = evaluate(system, questions, gold_of, with_excerpt)
                rows.append({"setting": setting, "system": system.name, **result})
                print(f"  {setting} {system.name}: {result}", file=sys.stderr, flush=True)

    print(f"JSQuAD v1.3 validation, {len(questions)} questions, "
          f"{len(paragraphs)} paragraphs / {len(whole)} articles")
    print("| setting | system | MRR@10 | Hit@1 (=Recall@1) | answer-in-excerpt@1 | ms/query (median) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        aie = f"{r['answer_in_excerpt1']:.3f}" if r["answer_in_excerpt1"] is not None else "–"
        print(f"| {r['setting']} | {r['system']} | {r['mrr10']:.3f} | {r['hit1']:.3f} | {aie} | "
              f"{r['ms_per_query']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
