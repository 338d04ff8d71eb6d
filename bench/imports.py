"""Importing a generated export of many posts: time and peak memory, per format.

    python bench/imports.py [--posts 10000]

Each export is generated here in the service's shape (Japanese prose from the shipped notes),
then ``notebot import FORMAT SOURCE --no-build`` runs in a child process, twice: the first
import writes every note, the second finds them unchanged.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def prose(n: int) -> list[str]:
    lines = [line for p in sorted((REPO / "corpus").rglob("*.md"))
             for line in p.read_text(encoding="utf-8").splitlines() if len(line) > 40]
    return [lines[(i * 7) % len(lines)] for i in range(n)]


def scrapbox(path: Path, posts: int):
    text = prose(posts * 3)
    pages = [{"id": f"id{i}", "title": f"ページ{i}", "created": 1690000000 + i,
              "lines": [f"ページ{i}", *text[3 * i:3 * i + 3], f" [リンク{i}] #tag{i % 50}"]}
             for i in range(posts)]
    path.write_text(json.dumps({"name": "bench", "pages": pages}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def obsidian(path: Path, posts: int):
    text = prose(posts * 3)
    for i in range(posts):
        note = path / f"folder{i % 20}" / f"メモ{i}.md"
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(f"---\ntags: [t{i % 30}]\n---\n" + "\n".join(text[3 * i:3 * i + 3])
                        + f"\n[[メモ{i + 1}]] #運用\n", encoding="utf-8")
    return path


def run(args: list[str]) -> tuple[float, int, str]:
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "bot", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=dict(os.environ,
                                                                 PYTHONPATH=str(REPO)))
    out = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, args
    return time.perf_counter() - start, usage.ru_maxrss // 1024, out.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    args = parser.parse_args()
    print("| format | import | peak | again | summary of the first |")
    print("|---|---|---|---|---|")
    for fmt, make, name in (("scrapbox", scrapbox, "export.json"),
                            ("obsidian", obsidian, "vault")):
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / name
            if fmt == "obsidian":
                source.mkdir()
            make(source, args.posts)
            corpus = Path(tmp) / "corpus"
            corpus.mkdir()
            cmd = ["import", fmt, str(source), "--corpus", str(corpus), "--no-build"]
            first, peak, summary = run(cmd)
            again, _, _ = run(cmd)
            print(f"| {fmt} | {first:.2f} s | {peak} MB | {again:.2f} s | {summary} |",
                  flush=True)


if __name__ == "__main__":
    main()
