"""A searcher for a long-running process that follows the index as new builds are published.

``notebot build`` (here or in another process) publishes a generation by replacing the small
``CURRENT`` file atomically. Before each question the live searcher reads that file again — a few
bytes — and, when it names another generation, loads it and answers from it from then on.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from .search import Hit, Searcher
from .errors import IndexUnusable
from .generation import Generation, current, load
from .synonyms import SHIPPED as SHIPPED_SYNONYMS
from .votes import Ballots


class LiveSearcher:
    """Searches the newest published generation of the index in ``index_dir``.

    Safe to call from several threads: questions are answered one at a time (the analyzer's
    MeCab tagger is not meant to be shared by threads at once), and a generation is only swapped
    between questions, so no question in flight ever sees a closed index. If the new generation
    cannot be loaded (damaged, or removed by yet another build), the old one keeps answering and
    ``say`` is told why.
    """

    def __init__(self, index_dir: str | os.PathLike, data: Generation | None = None, say=print,
                 synonyms_file: str | os.PathLike | None = SHIPPED_SYNONYMS):
        self.index_dir = Path(index_dir)
        self.say = say
        self.synonyms_file = synonyms_file
        self._lock = threading.Lock()
        self._searcher = Searcher(data if data is not None else load(self.index_dir),
                                  synonyms_file=synonyms_file)
        self._refused: Path | None = None
        self.votes: Ballots | None = None  # learnt from when a search is given none

    def search(self, question: str, k: int = 3, offset: int = 0,
               excerpts: int | None = None,
               collections: frozenset[str] | None = None,
               votes: Ballots | None = None) -> list[Hit]:
        """The ``k`` best notes for ``question`` after ``offset``, from the newest generation,
        among the notes of ``collections`` (None: all), learning from ``votes`` (see
        Searcher.search)."""
        with self._lock:
            self._follow()
            return self._searcher.search(question, k=k, offset=offset, excerpts=excerpts,
                                         collections=collections,
                                         votes=self.votes if votes is None else votes)

    def collections(self) -> frozenset[str]:
        """The collections of the newest generation (see generation.collection_of)."""
        with self._lock:
            self._follow()
            return self._searcher.data.collections

    def doc_by_path(self, path: str) -> dict | None:
        """The stored record of the note at ``path`` in the newest generation, or None."""
        with self._lock:
            self._follow()
            return self._searcher.data.doc_by_path(path)

    def has(self, path: str) -> bool:
        """Whether the note ``path`` is in the newest generation."""
        with self._lock:
            self._follow()
            return self._searcher.data.has(path)

    def status(self, collections: frozenset[str] | None = None) -> dict:
        """The generation in use: ``notes`` (count; of ``collections`` only, if given),
        ``built_at`` (ISO time), ``generation``."""
        with self._lock:
            self._follow()
            data = self._searcher.data
            notes = data.n_notes if collections is None else data.count(collections)
            return {"notes": notes, "built_at": data.manifest.built_at,
                    "generation": data.path.name}

    def close(self):
        """Close the generation in use (the searcher answers no more)."""
        with self._lock:
            self._searcher.data.close()

    def __enter__(self) -> LiveSearcher:
        return self

    def __exit__(self, *exc):
        self.close()

    def _follow(self):
        try:
            gen = current(self.index_dir)
        except IndexUnusable as err:  # CURRENT removed or damaged: keep answering
            self._refuse(self.index_dir / "CURRENT", err)
            return
        if gen == self._searcher.data.path:
            self._refused = None
            return
        if gen == self._refused:
            return
        try:
            data = load(self.index_dir)
        except IndexUnusable as err:
            self._refuse(gen, err)
            return
        try:
            searcher = Searcher(data, synonyms_file=self.synonyms_file)
        except (OSError, ValueError) as err:  # the synonyms file went missing or is not UTF-8
            data.close()
            self._refuse(gen, f"cannot read the synonyms: {err}")
            return
        old, self._searcher, self._refused = self._searcher, searcher, None
        old.data.close()
        self.say(f"now answering from {searcher.data.path.name} ({searcher.data.n_notes} notes)")

    def _refuse(self, what: Path, err: Exception | str):
        if what != self._refused:  # say it once, not before every question
            self.say(f"keeping {self._searcher.data.path.name}: {err}")
        self._refused = what
