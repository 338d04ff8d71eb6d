"""Speed benchmark: analysis, build, incremental build, cold ask, query latency, memory.

Every figure comes with a baseline measured in the same run on the same data, and the table
reports ratios -- machines here are shared and noisy, so ratios travel better than seconds:

- analysis: notebot's Analyzer against fugashi's raw ``parse()`` of the same text (default
  output format), and against reading each word's lemma and part of speech through fugashi's
  feature objects; CPU time over five passes, the three taking turns every few notes;
- build: CPU time of a full build (``store.build(full=True)``, workers included) against
  raw-parsing the whole corpus on one core; its CPU time over its wall time says how many cores
  it kept busy;
- question: ``Searcher.search`` (analysis, scoring, top-k, excerpts) against bm25s retrieving from
  the same notes with the same tokens (title and body terms, Lucene idf, k1 = 1.2, b = 0.75);
- hard question: whole sentences of 30-60 characters (cut from the archive's notes, or JSQuAD
  questions of that length with ``--questions``), ``Searcher.search(q, k=10)`` against analysing
  the question (fugashi, through notebot's Analyzer), bm25s retrieving 10 and cutting from each
  hit the first sentence that holds the question's longest term found in it;
- cold ``notebot ask`` (process start, freshness check, index load, one answer) against a process
  that loads a bm25s index of the same notes memory-mapped, analyses the question and retrieves.

Commands run as child processes; their peak memory is the ``ru_maxrss`` that ``wait4`` reports.
Corpora are made by ``gen_corpus.py`` under ``--out`` (default ``bench/out``, not committed).

    python bench/perf.py --sizes 1k 10k        # prints a table; results in bench/out/perf.json
    python bench/perf.py --sizes 100k          # minutes; merges into the same perf.json
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

import gen_corpus  # noqa: E402  (bench/ is on the path when run as a script)
from index import notes as notes_mod  # noqa: E402
from index import generation# noqa: E402
from index.analyzer import Analyzer  # noqa: E402
from index.excerpt import sentences  # noqa: E402
from index.scoring import top_k  # noqa: E402
from index.search import Searcher  # noqa: E402

SIZES = {"1k": 1_000, "10k": 10_000, "20k": 20_000, "100k": 100_000, "300k": 300_000,
         "1m": 1_000_000}
ANALYSIS_CHARS = 1_000_000
ROUNDS = 5
TURN_NOTES = 20
COLD_RUNS = 5
QUESTIONS = 500
HARD_CHARS = (30, 60)  # a hard question: a whole sentence this long
HARD_K = 10
# A bm25s index and the cold-start script that answers from it, like `notebot ask` does.
BM25S_COLD = """
import sys
import bm25s
from index.analyzer import Analyzer
retriever = bm25s.BM25.load(sys.argv[1], mmap=True, load_vocab=True)
terms = [t for t in Analyzer()(sys.argv[2]) if t in retriever.vocab_dict]
ids = [[retriever.vocab_dict[t] for t in terms]]
print(retriever.retrieve(ids, k=3, show_progress=False, n_threads=1).documents)
"""


def run(cmd: list[str], stdin: bytes | None = None) -> dict:
    """Run ``cmd`` from the repository root; its wall time and output."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT)
    out, err = proc.communicate(stdin)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return {"wall": wall, "out": out.decode(), "err": err.decode()}


def measured(cmd: list[str]) -> dict:
    """``run`` through /usr/bin/time -v: adds peak memory (MB) and CPU seconds."""
    result = run(["/usr/bin/time", "-v", *cmd])
    fields = dict(line.strip().rsplit(": ", 1) for line in result["err"].splitlines()
                  if line.startswith("\t") and ": " in line)
    result["rss_mb"] = int(fields["Maximum resident set size (kbytes)"]) / 1024
    result["cpu"] = float(fields["User time (seconds)"]) + float(fields["System time (seconds)"])
    return result


def corpus_for(label: str, out: Path, src) -> tuple[Path, int]:
    """The generated corpus of that size (made once) and its number of characters."""
    corpus = out / f"notes-{label}"
    done = out / f"notes-{label}.chars"
    if not done.exists():
        shutil.rmtree(corpus, ignore_errors=True)
        print(f"making {corpus} ...", file=sys.stderr)
        done.write_text(str(gen_corpus.write(corpus, SIZES[label], src)))
    return corpus, int(done.read_text())


def note_texts(corpus: Path, chars: int) -> list[str]:
    """Plain text of notes (as the build sees it), about ``chars`` characters in all."""
    texts, total = [], 0
    for info in notes_mod.scan(corpus).files:
        data, _ = notes_mod.read_bytes(info)
        texts.append(notes_mod.parse(info.path, data)[0].text)
        total += len(texts[-1])
        if total >= chars:
            break
    return texts


def analysis(texts: list[str]) -> dict:
    """Characters per CPU second of three ways to analyse. CPU time, not wall time, so that other
    work on a shared machine does not count; and the three take turns every TURN_NOTES notes, so
    that a slower spell of the machine (whole rounds of each differed by up to 15 %) falls on all
    three alike."""
    import fugashi

    import unidic_lite

    analyzer = Analyzer()
    d = unidic_lite.DICDIR  # the dictionary notebot uses, with its default output format
    raw = fugashi.GenericTagger(f'-d "{d}" -r "{d}/mecabrc"')
    features = fugashi.Tagger()
    chars = sum(map(len, texts))

    def raw_parse(part):
        for t in part:
            raw.parse(t)

    def feature_objects(part):
        for t in part:
            for word in features(t):
                word.feature.lemma, word.feature.pos1

    def notebot(part):  # what a build does with each note's text
        for t in part:
            analyzer.counts(t)

    spent = dict.fromkeys((raw_parse, feature_objects, notebot), 0.0)
    notebot(texts)  # its caches filled, as after the first notes of a build
    for _ in range(ROUNDS):
        for start in range(0, len(texts), TURN_NOTES):
            for f in spent:
                started = time.process_time()
                f(texts[start:start + TURN_NOTES])
                spent[f] += time.process_time() - started
    return {f.__name__: ROUNDS * chars / seconds for f, seconds in spent.items()}


# A full build as `notebot build --full` makes it, then the fork server is stopped and waited
# for: its worker processes' CPU time then counts as this process's children's.
FULL_BUILD = """
import sys
from multiprocessing import forkserver
from index import store
print(store.build(sys.argv[1], sys.argv[2], full=True).summary())
forkserver._forkserver._stop()
"""


def builds(corpus: Path, index: Path, src) -> dict:
    """Full build, then one note added, then that note removed (CLI, child processes)."""
    cli = [sys.executable, "-m", "bot"]
    where = ["--corpus", str(corpus), "--index", str(index)]
    full = measured([sys.executable, "-c", FULL_BUILD, str(corpus), str(index)])
    gen = generation.current(index)
    size = sum(p.stat().st_size for p in gen.iterdir())
    data = generation.load(index)
    shape = {"terms": len(data.vocab), "postings": sum(len(s.postings.notes) for s in data.segments),
             "analyzer": data.manifest.analyzer, "scoring": data.manifest.scoring.to_dict()}
    data.close()
    extra = corpus / "zz-new" / "added.md"
    rel, text = gen_corpus.note(10**7, src)
    extra.parent.mkdir(exist_ok=True)
    extra.write_text(text, encoding="utf-8")
    add = measured([*cli, "build", *where])
    extra.unlink()
    extra.parent.rmdir()
    remove = measured([*cli, "build", *where])
    return {"build_s": full["wall"], "build_cpu_s": full["cpu"], "build_rss_mb": full["rss_mb"],
            "index_mb": size / 2**20, "add_one_s": add["wall"], "add_one_rss_mb": add["rss_mb"],
            "remove_one_s": remove["wall"], "add_one_cpu_s": add["cpu"],
            "build_summary": full["out"].strip(), **shape}


class TokenIds:
    """Each live note's token ids as bm25s reads them (it counts them, then iterates twice), made
    one note at a time from the segments' counts: a list per note, all kept, took 5 GB at 100k."""

    def __init__(self, matrices: list, live: np.ndarray):
        self.matrices, self.live = matrices, live

    def __len__(self):
        return int(self.live.sum())

    def __iter__(self):
        n = 0
        for m in self.matrices:
            for i in range(m.shape[0]):
                if self.live[n]:
                    lo, hi = m.indptr[i], m.indptr[i + 1]
                    yield np.repeat(m.indices[lo:hi], m.data[lo:hi]).tolist()
                n += 1


def bm25s_index(data: generation.Generation, path: Path):
    """A bm25s index of the same notes with the same tokens (title and body terms), and the
    note number of each of its documents."""
    import bm25s
    import scipy.sparse as sp

    matrices = []
    live = np.ones(sum(s.n_docs for s in data.segments), dtype=bool)
    live[data.deleted] = False
    for seg in data.segments:
        p = seg.postings
        counts = np.asarray(p.title, np.int32) + np.asarray(p.body, np.int32)
        matrices.append(sp.csc_matrix((counts, np.asarray(p.notes), np.asarray(p.indptr)),
                                      shape=(seg.n_docs, len(p.indptr) - 1)).tocsr())
    retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    vocab = dict(zip(data.terms, range(len(data.terms))))
    retriever.index(bm25s.tokenization.Tokenized(ids=TokenIds(matrices, live), vocab=vocab),
                    show_progress=False)
    shutil.rmtree(path, ignore_errors=True)
    retriever.save(path, show_progress=False)
    return retriever, np.flatnonzero(live)


def hard_questions(data: generation.Generation, n: int, seed: int = 0,
                   source: Path | None = None) -> list[str]:
    """``n`` whole sentences of HARD_CHARS characters: JSQuAD questions of that length from
    ``source``, or else sentences of randomly drawn notes (prose, not list items, headings or
    code), the same for the same ``seed``."""
    rng, (lo, hi) = random.Random(seed), HARD_CHARS
    if source is not None:
        qas = json.loads(source.read_text(encoding="utf-8"))["data"]
        pool = [q["question"] for a in qas for p in a["paragraphs"] for q in p["qas"]
                if lo <= len(q["question"]) <= hi]
        return [rng.choice(pool) for _ in range(n)]
    alive = np.setdiff1d(np.arange(sum(s.n_docs for s in data.segments)), data.deleted)
    out = []
    while len(out) < n:
        text = data.doc(int(rng.choice(alive)))["text"]
        pool = [s for s in sentences(text) if lo <= len(s) <= hi and s[0] not in "-#`"
                and "=" not in s]
        if pool:
            out.append(rng.choice(pool))
    return out


def sentence_with(text: str, terms: list[str]) -> str:
    """The first sentence of ``text`` that holds the first of ``terms`` found in it (the
    baseline's excerpt), or its first 100 characters."""
    for term in terms:
        at = text.find(term)
        if at >= 0:
            start = max(text.rfind(c, 0, at) for c in "。！？\n") + 1
            ends = [e for e in (text.find(c, at) for c in "。！？\n") if e >= 0]
            return text[start:min(ends, default=len(text)) + 1]
    return text[:100]


def bm25s_answer(retriever, analyzer: Analyzer, data: generation.Generation, numbers,
                 question: str, k: int) -> list[str]:
    """The fugashi + bm25s answer: the question analysed, ``k`` notes retrieved, and from each
    the sentence that holds the question's longest term it has."""
    terms = [t for t in analyzer(question) if t in retriever.vocab_dict]
    if not terms:
        return []
    docs, _ = retriever.retrieve([[retriever.vocab_dict[t] for t in terms]], k=k,
                                 show_progress=False, n_threads=1)
    longest = sorted(set(terms), key=len, reverse=True)
    return [sentence_with(data.doc(int(numbers[j]))["text"], longest) for j in docs[0]]


def latency(index: Path, questions: list[str], bm25s_dir: Path, seed: int = 0,
            source: Path | None = None) -> dict:
    """Per-question milliseconds (p50, p99): notebot's whole answer and its parts, and bm25s;
    then the hard questions (k = 10, whole sentences), notebot and fugashi + bm25s taking turns."""
    data = generation.load(index)
    searcher = Searcher(data)
    retriever, numbers = bm25s_index(data, bm25s_dir)
    for q in questions[:20]:
        searcher.search(q)
    whole, analyse, score, bm = [], [], [], []
    for q in questions:
        t0 = time.perf_counter()
        searcher.search(q, k=3)
        t1 = time.perf_counter()
        terms = searcher.question_terms(q)
        t2 = time.perf_counter()
        if terms:
            top_k(data.score([data.vocab[t] for t in terms], list(terms.values()), k=3), 3)
        t3 = time.perf_counter()
        ids = [[retriever.vocab_dict[t] for t in terms]] if terms else None
        if ids:
            retriever.retrieve(ids, k=3, show_progress=False, n_threads=1)
        t4 = time.perf_counter()
        whole.append(t1 - t0)
        analyse.append(t2 - t1)
        score.append(t3 - t2)
        if ids:
            bm.append(t4 - t3)
    hard = hard_questions(data, QUESTIONS, seed, source)
    analyzer = Analyzer()
    for q in hard[:20]:
        searcher.search(q, k=HARD_K)
        bm25s_answer(retriever, analyzer, data, numbers, q, HARD_K)
    hard_ours, hard_bm = [], []
    for q in hard:
        t0 = time.perf_counter()
        searcher.search(q, k=HARD_K)
        t1 = time.perf_counter()
        bm25s_answer(retriever, analyzer, data, numbers, q, HARD_K)
        t2 = time.perf_counter()
        hard_ours.append(t1 - t0)
        hard_bm.append(t2 - t1)
    data.close()

    def pct(v, p):
        return float(np.percentile(np.array(v) * 1000, p))

    return {"q_p50_ms": pct(whole, 50), "q_p99_ms": pct(whole, 99),
            "q_analyse_p50_ms": pct(analyse, 50), "q_score_p50_ms": pct(score, 50),
            "q_score_p99_ms": pct(score, 99),
            "bm25s_p50_ms": pct(bm, 50), "bm25s_p99_ms": pct(bm, 99),
            "hard_p50_ms": pct(hard_ours, 50), "hard_p99_ms": pct(hard_ours, 99),
            "hard_bm25s_p50_ms": pct(hard_bm, 50), "hard_bm25s_p99_ms": pct(hard_bm, 99),
            "hard_questions": "jsquad" if source else f"archive sentences, seed {seed}"}


def cold(corpus: Path, index: Path, bm25s_dir: Path, question: str) -> dict:
    """Median wall time and peak memory of a cold ``notebot ask``, and of the bm25s process."""
    ask = [sys.executable, "-m", "bot", "ask", question, "--json",
           "--corpus", str(corpus), "--index", str(index)]
    base = [sys.executable, "-c", BM25S_COLD, str(bm25s_dir), question]
    ours, theirs = [], []
    for _ in range(COLD_RUNS):
        ours.append(measured(ask))
        theirs.append(measured(base))
    return {"ask_s": statistics.median(r["wall"] for r in ours),
            "ask_rss_mb": max(r["rss_mb"] for r in ours),
            "bm25s_cold_s": statistics.median(r["wall"] for r in theirs),
            "bm25s_cold_rss_mb": max(r["rss_mb"] for r in theirs)}


def measure(label: str, out: Path, src, seed: int = 0, hard: Path | None = None) -> dict:
    corpus, chars = corpus_for(label, out, src)
    index = out / f"index-{label}"
    texts = note_texts(corpus, ANALYSIS_CHARS)
    result = {"notes": SIZES[label], "cores": os.cpu_count(), "chars": chars}
    print(f"{label}: analysis ...", file=sys.stderr)
    result.update(analysis(texts))
    print(f"{label}: builds ...", file=sys.stderr)
    result.update(builds(corpus, index, src))
    print(f"{label}: questions ...", file=sys.stderr)
    questions = gen_corpus.questions(QUESTIONS, src)
    result.update(latency(index, questions, out / f"bm25s-{label}", seed, hard))
    print(f"{label}: cold ask ...", file=sys.stderr)
    result.update(cold(corpus, index, out / f"bm25s-{label}", questions[0]))
    return result


def table(results: dict) -> str:
    """The README's tables, one row per corpus size."""
    rows = [(label, results[label]) for label in SIZES if label in results]
    lines = ["| notes | analysis, M chars/s: notebot / raw parse / feature objects | "
             "full build (cores busy; CPU × raw parse) | add 1 note | index on disk | "
             "build peak memory |", "|---|---|---|---|---|---|"]
    for label, r in rows:
        raw_time = r["chars"] / r["raw_parse"]
        lines.append(
            f"| {label} | {r['notebot'] / 1e6:.2f} / {r['raw_parse'] / 1e6:.2f} / "
            f"{r['feature_objects'] / 1e6:.2f} (**{r['notebot'] / r['raw_parse']:.2f}×** raw) | "
            f"{r['build_s']:.1f} s ({r['build_cpu_s'] / r['build_s']:.1f}; "
            f"{r['build_cpu_s'] / raw_time:.2f}×) | {r['add_one_s']:.2f} s | "
            f"{r['index_mb']:.0f} MB | {r['build_rss_mb']:.0f} MB |")
    lines += ["", "| notes | question p50 / p99 (scoring + top-k p50) | bm25s p50 / p99 | "
              "p50 ratio | cold `ask` (bm25s process) | `ask` peak memory (bm25s) |",
              "|---|---|---|---|---|---|"]
    for label, r in rows:
        lines.append(
            f"| {label} | {r['q_p50_ms']:.2f} / {r['q_p99_ms']:.2f} ms "
            f"({r['q_score_p50_ms']:.2f} ms) | {r['bm25s_p50_ms']:.2f} / "
            f"{r['bm25s_p99_ms']:.2f} ms | **{r['q_p50_ms'] / r['bm25s_p50_ms']:.2f}×** | "
            f"{r['ask_s']:.2f} s ({r['bm25s_cold_s']:.2f} s) | {r['ask_rss_mb']:.0f} MB "
            f"({r['bm25s_cold_rss_mb']:.0f} MB) |")
    lines += ["", "| notes | hard question (k = 10, sentence) p50 / p99 | fugashi + bm25s + "
              "excerpts p50 / p99 | p50 ratio |", "|---|---|---|---|"]
    for label, r in rows:
        if "hard_p50_ms" in r:
            lines.append(
                f"| {label} | {r['hard_p50_ms']:.2f} / {r['hard_p99_ms']:.2f} ms | "
                f"{r['hard_bm25s_p50_ms']:.2f} / {r['hard_bm25s_p99_ms']:.2f} ms | "
                f"**{r['hard_p50_ms'] / r['hard_bm25s_p50_ms']:.2f}×** |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=["1k", "10k"])
    parser.add_argument("--out", type=Path, default=BENCH / "out",
                        help="where corpora, indexes and perf.json go (default bench/out)")
    parser.add_argument("--source", type=Path, default=gen_corpus.DEFAULT_SOURCE)
    parser.add_argument("--questions", type=Path, help="JSQuAD JSON: hard questions from its "
                        "questions of 30-60 characters (default: sentences of the archive)")
    parser.add_argument("--seed", type=int, default=0, help="which hard questions")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    src = gen_corpus.Sources(args.source)
    saved = args.out / "perf.json"
    results = json.loads(saved.read_text()) if saved.exists() else {}
    for label in args.sizes:
        results[label] = measure(label, args.out, src, args.seed, args.questions)
        saved.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print(table(results))


if __name__ == "__main__":
    main()
