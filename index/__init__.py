"""notebot's search core as a library: index a folder of Markdown notes, ask it questions, read
its notes. The command line, the console and the Slack app use only the names listed here::

    import index

    with index.open("corpus", "/tmp/notes-index") as notes:   # built or brought up to date
        for hit in notes.search("GILって何？", k=3):
            print(hit.title, hit.path, round(hit.confidence, 2), hit.excerpt)
        print(notes.doc_by_path("python/gil.md")["text"])

Nothing here reads the environment or talks to Slack. Modules, in the order a question meets
them: notes (files → Note), analyzer (text → terms), store (the build: analysis, segment,
merge, generation, manifest, files), search (question → Hits), excerpt (the passage shown),
live (following new builds), votes (what 👍/👎 teach), evaluation (Hit@k and MRR).
"""
from __future__ import annotations

import os

from . import evaluation
from .analyzer import printable
from .errors import IndexUnusable
from .evaluation import escape, unescape
from .excerpt import marked
from .files import write_atomic
from .generation import Generation, collection_of, load
from .live import LiveSearcher
from .notes import MAX_NOTE_BYTES, NOTE_SUFFIXES, Scan, scan
from .search import DEFAULT_MIN_CONFIDENCE, Hit, Searcher, answered
from .store import BuildReport, build, load_fresh
from .synonyms import SHIPPED as SHIPPED_SYNONYMS
from .votes import Ballots, Vote

__all__ = ["DEFAULT_MIN_CONFIDENCE", "MAX_NOTE_BYTES", "NOTE_SUFFIXES", "SHIPPED_SYNONYMS",
           "Ballots", "BuildReport", "Generation", "Hit", "IndexUnusable", "LiveSearcher",
           "Scan", "Searcher", "Vote", "answered", "build", "collection_of", "escape",
           "evaluation", "load", "load_fresh", "marked", "open", "printable", "scan",
           "unescape", "write_atomic"]


def open(corpus: str | os.PathLike, index_dir: str | os.PathLike, say=lambda line: None,
         **options) -> LiveSearcher:
    """The notes under ``corpus``, indexed in ``index_dir`` (built first, or brought up to date,
    when missing or stale), answering from each new build as it is published. Close it when
    done, or use it in a ``with`` block. ``say`` hears one line about each thing done;
    ``options`` go to LiveSearcher (``synonyms_file``)."""
    return LiveSearcher(index_dir, load_fresh(corpus, index_dir, say=say), say=say, **options)
