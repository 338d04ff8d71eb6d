"""Synonyms applied to questions: DB = データベース, k8s = Kubernetes, キャッシュ = cache.

A synonyms file holds one group per line, its spellings separated by commas; ``#`` starts a
comment. When a question contains every word of one spelling, the words of the group's other
spellings are added to it with a lower weight. Notes are not touched, so editing the file needs
no rebuild. The shipped ``synonyms.txt`` is generic IT vocabulary, not tuned to any test set.
"""
from __future__ import annotations

import os
from pathlib import Path

from .analyzer import Analyzer, is_bigram

SHIPPED = Path(__file__).with_name("synonyms.txt")
# An added synonym is weaker evidence than a word the asker typed.
WEIGHT = 0.5


def parse(text: str) -> list[list[str]]:
    """The groups of a synonyms file (groups with fewer than two spellings are ignored)."""
    groups = []
    for line in text.splitlines():
        spellings = [s.strip() for s in line.split("#", 1)[0].split(",")]
        spellings = [s for s in spellings if s]
        if len(spellings) > 1:
            groups.append(spellings)
    return groups


class Synonyms:
    """Groups of spellings, each analysed into its words by the index's analyzer."""

    def __init__(self, groups: list[list[str]], analyzer: Analyzer):
        self.groups = []
        # word → the numbers of the groups that have it in a spelling
        self._groups_of: dict[str, list[int]] = {}
        for group in groups:
            words = [frozenset(t for t in analyzer(s) if not is_bigram(t)) for s in group]
            self.groups.append([w for w in words if w])
            for word in set().union(*words):
                self._groups_of.setdefault(word, []).append(len(self.groups) - 1)

    @classmethod
    def from_file(cls, path: str | os.PathLike, analyzer: Analyzer) -> "Synonyms":
        return cls(parse(Path(path).read_text(encoding="utf-8")), analyzer)

    def expand(self, words: set[str], through: str | None = None) -> dict[str, float]:
        """Words to add to a question made of ``words``, with their weights (only those of the
        spellings of ``through``'s groups that hold it, if given)."""
        added = {}
        for number in sorted({n for word in ([through] if through else words)
                              for n in self._groups_of.get(word, ())}):
            group = self.groups[number]
            if any(spelling <= words and (through is None or through in spelling)
                   for spelling in group):
                for spelling in group:
                    for word in spelling - words:
                        added[word] = WEIGHT
        return added
