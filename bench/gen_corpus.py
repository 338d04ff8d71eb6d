"""Deterministic synthetic note archives for the speed benchmark.

Prose is recombined from real Japanese sentences: the JSQuAD validation paragraphs (Wikipedia,
CC BY-SA 4.0, read from ``--source``, never copied into the repository) and the shipped
``corpus/``; about one common noun in four is swapped for another from the same text, so
sentences rarely repeat. Each note also carries what a team's archive has and Wikipedia lacks:
identifiers (``svc_417``, ``E20031``, ``api-12.internal``), made-up katakana product names,
Markdown lists and code blocks, front matter with a title, date, tags and sometimes a URL.
Identifier and name ranks follow a Pareto law, so the vocabulary keeps growing with the archive
as a real one does (Heaps' law). Note lengths are log-normal: median 300, mean about 450 (plus front matter)
characters, up to 30,000.

Note ``i`` depends only on ``(seed, i)``: the 1k archive is the first thousand notes of the 10k one.

    python bench/gen_corpus.py --notes 10000 --out bench/out/notes-10k
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
import fugashi  # noqa: E402
import unidic_lite  # noqa: E402

DEFAULT_SOURCE = Path("/work/shared/data/jsquad-valid-v1.3.json")
EPOCH = 1_500_000_000  # mtime of note 0; note i is i seconds later
_SENTENCE = re.compile(r"[^。！？]+[。！？]?")
_KANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモラリルレロガギグゲゴバビブベボパピプペポ"
_NAME_SUFFIXES = ["サーバー", "クラスタ", "エンジン", "ゲートウェイ", "ダッシュボード", "プロジェクト"]
_ID_SHAPES = ["svc_{}", "job-{}", "handler_{}.run", "E{:05d}", "api-{}.internal", "v1.{}.2",
              "cfg/{}.yaml", "worker{}", "db_{}_replica", "0x{:04x}"]
_TAGS = ["python", "go", "openstack", "運用", "障害対応", "設計", "会議メモ", "性能", "セキュリティ",
         "ネットワーク", "データベース", "手順書", "調査", "リリース", "教育"]
_TITLE_SHAPES = ["{topic}の{noun}について", "{ident} の{noun}メモ", "{noun}と{noun2}の整理",
                 "{name}で{noun}を調べた", "{topic}: {noun}の手順", "【{tag}】{noun}の振り返り"]
_QUESTION_SHAPES = ["{ident} のエラーはどう直す？", "{name}の{noun}について教えて",
                    "{noun}と{noun2}の違いは？", "{ident} の設定方法は？"]


class Sources:
    """Sentences (as lists of words) and the pools the generator draws from."""

    def __init__(self, source: Path):
        texts, self.topics, self.questions = [], [], []
        if source.exists():
            data = json.loads(source.read_text(encoding="utf-8"))
            for article in data["data"]:
                self.topics.append(article["title"].replace("_", " "))
                for para in article["paragraphs"]:
                    texts.append(para["context"].split("[SEP]", 1)[-1])
                    self.questions.extend(q["question"] for q in para["qas"])
        for path in sorted((ROOT / "corpus").rglob("*.md")):
            texts.append(path.read_text(encoding="utf-8").split("---", 2)[-1])
            self.topics.append(path.parent.name)
        d = unidic_lite.DICDIR  # surface and full part of speech of each word
        tagger = fugashi.GenericTagger(f'-d "{d}" -r "{d}/mecabrc" -O "" -F "%m\\t%F-[0,1]\\n"')
        self.sentences, self.nouns = [], []
        for text in texts:
            for sentence in _SENTENCE.findall(" ".join(text.split())):
                words = []
                for line in tagger.parse(sentence.strip()).split("\n"):
                    fields = line.split("\t")
                    if len(fields) < 2:
                        continue
                    noun = fields[1] == "名詞-普通名詞" and not fields[0].isascii()
                    words.append((fields[0], noun))
                    if noun:
                        self.nouns.append(fields[0])
                if len(words) > 3:
                    self.sentences.append(words)


def _rank(rng: random.Random) -> int:
    return int(rng.paretovariate(0.8))


def _ident(rng: random.Random) -> str:
    return rng.choice(_ID_SHAPES).format(_rank(rng))


def _name(rng: random.Random) -> str:
    r, word = _rank(rng), ""
    while True:
        r, d = divmod(r, len(_KANA))
        word += _KANA[d]
        if r == 0:
            break
    return word + "ー" + _NAME_SUFFIXES[len(word) % len(_NAME_SUFFIXES)]


def _sentence(src: Sources, rng: random.Random) -> str:
    out = []
    for surface, noun in rng.choice(src.sentences):
        if noun and rng.random() < 0.25:
            surface = rng.choice(src.nouns)
        out.append(surface)
    if rng.random() < 0.3:
        out.insert(rng.randrange(len(out)), f" {_ident(rng)} " if rng.random() < 0.6
                   else _name(rng))
    return "".join(out)


def _fill(rng, src: Sources) -> dict:
    return {"topic": rng.choice(src.topics), "noun": rng.choice(src.nouns),
            "noun2": rng.choice(src.nouns), "ident": _ident(rng), "name": _name(rng),
            "tag": rng.choice(_TAGS)}


def note(i: int, src: Sources, seed: int = 0) -> tuple[str, str]:
    """(relative path, Markdown text) of note number ``i``."""
    rng = random.Random(seed * 1_000_003 + i)
    target = min(30_000, max(40, int(rng.lognormvariate(math.log(300), 0.9))))
    fill = _fill(rng, src)
    title = rng.choice(_TITLE_SHAPES).format(**fill)
    date = f"{2010 + i % 15}-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d}"
    tags = ", ".join(rng.sample(_TAGS, rng.randint(1, 3)))
    head = [f'title: "{title}"', f"date: {date}", f"tags: [{tags}]"]
    if rng.random() < 0.3:
        head.append(f"url: https://notes.example.com/{i}")
    body, size = [], 0
    while size < target:
        roll = rng.random()
        if roll < 0.1 and body:
            block = f"## {rng.choice(src.nouns)}の{rng.choice(src.nouns)}"
        elif roll < 0.2:
            block = "\n".join(f"- {_sentence(src, rng)}" for _ in range(rng.randint(2, 4)))
        elif roll < 0.25:
            block = "```\n" + "\n".join(f"{_ident(rng)} = {_ident(rng)}"
                                        for _ in range(rng.randint(1, 4))) + "\n```"
        else:
            block = "".join(_sentence(src, rng) for _ in range(rng.randint(1, 5)))
        body.append(block)
        size += len(block)
    text = "---\n" + "\n".join(head) + "\n---\n" + "\n\n".join(body) + "\n"
    return f"t{i % 59:02d}/{2010 + i % 15}/n{i:06d}.md", text


def questions(n: int, src: Sources, seed: int = 0) -> list[str]:
    """``n`` questions: real JSQuAD ones about the same articles, and ones about identifiers,
    names and nouns that the notes contain."""
    rng = random.Random(seed - 1)
    out = []
    for _ in range(n):
        if src.questions and rng.random() < 0.7:
            out.append(rng.choice(src.questions))
        else:
            out.append(rng.choice(_QUESTION_SHAPES).format(**_fill(rng, src)))
    return out


def write(out: Path, n: int, src: Sources, seed: int = 0) -> int:
    """Write notes 0..n-1 under ``out``; returns the number of characters written."""
    chars = 0
    for i in range(n):
        rel, text = note(i, src, seed)
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        os.utime(path, ns=((EPOCH + i) * 10**9,) * 2)
        chars += len(text)
    return chars


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notes", type=int, required=True, help="how many notes")
    parser.add_argument("--out", type=Path, required=True, help="directory to write (new)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help=f"JSQuAD JSON to take sentences from (default {DEFAULT_SOURCE})")
    args = parser.parse_args(argv)
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out} is not empty; pick a new directory")
    chars = write(args.out, args.notes, Sources(args.source), args.seed)
    print(f"{args.notes} notes, {chars:,} characters in {args.out}")


if __name__ == "__main__":
    main()
