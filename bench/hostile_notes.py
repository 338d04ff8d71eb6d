"""Hostile notes: how long one note takes to build, and the build's peak memory.

    python bench/hostile_notes.py        # about a minute

Each note is written alone into a fresh corpus and built with ``notebot build`` in a child
process; wall time and the child's peak resident memory (``ru_maxrss``) are printed, then the
time of ``notebot ask`` about it (process start included).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MB = 1024 * 1024
NOTES = {
    "28 MB of short lines": "# 巨大なノート\n" + "サーバーのメモリを増やすとスレッドが速くなる。\n" * (28 * MB // 66),
    "1 MB of unmatched ![": "![" * (MB // 2),
    "32 MB of ![ lines": ("![" * 4000 + "\n") * (32 * MB // 8001),
    "150 KB of broken HTML": "<div>\n" + "<a b='" * (150 * 1024 // 6),
    "1.5 MB of broken HTML": "<div>\n" + "<a b='" * (1536 * 1024 // 6),
}


def run(args: list[str], env: dict) -> tuple[float, int]:
    """Wall seconds and peak memory (MB) of ``python -m bot ARGS``."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "bot", *args], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, args
    return time.perf_counter() - start, usage.ru_maxrss // 1024


def main():
    repo = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(repo))
    print("| note | build | build peak | ask |")
    print("|---|---|---|---|")
    for name, text in NOTES.items():
        with tempfile.TemporaryDirectory() as tmp:
            corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
            corpus.mkdir()
            (corpus / "note.md").write_text(text, encoding="utf-8")
            where = ["--corpus", str(corpus), "--index", str(index)]
            seconds, peak = run(["build", *where], env)
            asked, _ = run(["ask", "メモリを増やす", *where], env)
            print(f"| {name} | {seconds:.2f} s | {peak} MB | {asked:.2f} s |", flush=True)


if __name__ == "__main__":
    main()
