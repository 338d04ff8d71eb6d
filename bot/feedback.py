"""👍/👎 votes on answers, kept in a local SQLite database.

One row per user, question and note: a user who changes their mind replaces their vote. The
👍 pairs are exported as ``question<TAB>note path`` lines, the format ``notebot eval`` reads.
"""
from __future__ import annotations

import sqlite3
import time
from contextlib import closing, contextmanager
from pathlib import Path

from index.evaluation import escape

SCHEMA = """
CREATE TABLE IF NOT EXISTS votes (
    user     TEXT NOT NULL,
    question TEXT NOT NULL,
    path     TEXT NOT NULL,
    vote     INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    channel  TEXT,
    at       TEXT NOT NULL,
    PRIMARY KEY (user, question, path)
)
"""


class VotesUnusable(Exception):
    """The votes database cannot be opened, read or written; the message names the file."""


class Votes:
    """The votes database at ``path`` (created on first use)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @contextmanager
    def _connect(self):
        """A connection in a transaction. One short connection per call: votes are rare, and it
        keeps threads apart. Any failure (a directory, not a database, a full disk) is raised
        as VotesUnusable naming the file."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=10)) as db, db:
                db.execute(SCHEMA)
                yield db
        except (sqlite3.Error, OSError) as err:
            raise VotesUnusable(f"cannot use the votes database {self.path} ({err}); point "
                                "--db or NOTEBOT_FEEDBACK_DB at a notebot votes file") from None

    def record(self, user: str, question: str, path: str, vote: int, channel: str | None = None):
        """Store ``user``'s vote (+1 or -1) on note ``path`` as an answer to ``question``."""
        with self._connect() as db:
            db.execute("INSERT INTO votes VALUES (?, ?, ?, ?, ?, ?) "
                       "ON CONFLICT (user, question, path) DO UPDATE SET "
                       "vote = excluded.vote, channel = excluded.channel, at = excluded.at",
                       (user, question, path, vote, channel,
                        time.strftime("%Y-%m-%dT%H:%M:%S%z")))

    def helpful(self) -> list[tuple[str, str]]:
        """(question, note path) pairs with more 👍 than 👎, oldest first."""
        if not self.path.exists():
            return []
        with self._connect() as db:
            return db.execute("SELECT question, path FROM votes GROUP BY question, path "
                              "HAVING SUM(vote) > 0 ORDER BY MIN(at), question, path").fetchall()


def export_lines(pairs) -> list[str]:
    """``question<TAB>path`` lines; white space inside a question is folded to single spaces and
    a leading byte-order mark dropped; the path is escaped as ``notebot eval`` reads it. A
    question starting with ``#`` gets a space before it: ``notebot eval`` reads a ``#`` in the
    first column as a comment."""
    lines = []
    for question, path in pairs:
        question = " ".join(question.lstrip("\ufeff").split())
        if question:
            lines.append(f"{' ' if question.startswith('#') else ''}{question}\t{escape(path)}")
    return lines
