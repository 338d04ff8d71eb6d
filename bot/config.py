"""Configuration: the only place that reads the environment.

Every setting has a command-line flag and an environment variable; flags win.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


class ConfigError(Exception):
    """A setting is missing or wrong; the message says how to fix it."""


@dataclass(frozen=True)
class Paths:
    corpus: Path
    index: Path


def default_index(corpus: Path) -> Path:
    """Outside any package: the user's cache, one index per corpus directory."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha1(str(corpus.resolve()).encode()).hexdigest()[:12]
    return cache / "notebot" / f"index-{corpus.resolve().name}-{key}"


def paths(corpus: str | None = None, index: str | None = None) -> Paths:
    """Corpus and index directories from flags, then NOTEBOT_CORPUS / NOTEBOT_INDEX, then defaults."""
    corpus_dir = Path(corpus or os.environ.get("NOTEBOT_CORPUS") or "corpus")
    if not corpus_dir.is_dir():
        raise ConfigError(f"corpus directory '{corpus_dir}' not found; "
                          "run from the directory that holds corpus/, or pass --corpus DIR "
                          "(or set NOTEBOT_CORPUS)")
    index_dir = Path(index or os.environ.get("NOTEBOT_INDEX") or default_index(corpus_dir))
    if index_dir.exists() and not index_dir.is_dir():
        raise ConfigError(f"index location '{index_dir}' is a file; pass --index DIR "
                          "(or set NOTEBOT_INDEX) to a directory")
    return Paths(corpus_dir, index_dir)
