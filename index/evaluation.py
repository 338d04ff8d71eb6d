"""A team's own evaluation: questions with the note that should answer each, scored.

The file format is one ``question<TAB>expected`` per line, where expected is a note's path or
title, with ``\\``, ``\t``, ``\n`` and ``\r`` standing for a backslash, a tab, a line feed and a
carriage return (a file name may hold any of them); blank lines and lines starting with ``#``
(in the first column) are ignored, so a question that starts with ``#`` is written with a space
before it. This is also the format that
``notebot feedback export`` writes from Slack votes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .search import DEFAULT_MIN_CONFIDENCE, Searcher, answered

DEPTH = 10


@dataclass(frozen=True)
class Case:
    question: str
    expected: str
    line: int


@dataclass
class Report:
    """Hit@1, Hit@3 and MRR@10 over the cases, and the misses (cases not ranked first);
    how many were answered (the first result confident enough), and of those how many right."""

    cases: int = 0
    answered: int = 0
    answered_right: int = 0
    hit1: float = 0.0
    hit3: float = 0.0
    mrr10: float = 0.0
    misses: list[tuple[Case, int | None, str | None]] = field(default_factory=list)


_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_ESCAPED = re.compile(r"\\[\\tnr]")
_UNESCAPES = {v: k for k, v in _ESCAPES.items()}


def escape(expected: str) -> str:
    """A path or title as the file holds it: one field of one line."""
    return "".join(_ESCAPES.get(c, c) for c in expected)


def unescape(field: str) -> str:
    """The path or title an ``escape``d field stands for."""
    return _ESCAPED.sub(lambda m: _UNESCAPES[m.group()], field)


def parse(text: str) -> tuple[list[Case], list[str]]:
    """The cases in an evaluation file, and a message for each line that isn't one."""
    cases, problems = [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        question, sep, expected = line.partition("\t")
        if not sep or not question.strip() or not expected.strip():
            problems.append(f"line {n}: expected 'question<TAB>note path or title'")
            continue
        cases.append(Case(question.strip(), unescape(expected.strip()), n))
    return cases, problems


def unknown(searcher: Searcher, cases: list[Case]) -> list[Case]:
    """The cases whose expected note is neither a path nor a title in the index (a typo, or a
    note gone): they can only count as misses."""
    data = searcher.data
    paths = set(data.manifest.notes.path)
    left = [case for case in cases if case.expected not in paths]
    if left:
        titles = {data.doc(d)["title"] for d in data.manifest.notes.doc}
        left = [case for case in left if case.expected not in titles]
    return left


def evaluate(searcher: Searcher, cases: list[Case],
             min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> Report:
    """Ask every question; a hit is a result whose path or title is the expected one."""
    report = Report(cases=len(cases))
    for case in cases:
        hits = searcher.search(case.question, k=DEPTH)
        rank = next((r for r, h in enumerate(hits, 1) if case.expected in (h.path, h.title)),
                    None)
        report.hit1 += rank == 1
        report.hit3 += rank is not None and rank <= 3
        report.mrr10 += 1 / rank if rank else 0.0
        if answered(hits, min_confidence):
            report.answered += 1
            report.answered_right += rank == 1
        if rank != 1:
            report.misses.append((case, rank, hits[0].path if hits else None))
    if cases:
        report.hit1 /= len(cases)
        report.hit3 /= len(cases)
        report.mrr10 /= len(cases)
    return report
