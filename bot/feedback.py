"""👍/👎 votes on answers, kept in a local SQLite database.

One row per user, question and note: a user who changes their mind replaces their vote. A row
keeps the note's content hash when known, so that the vote follows the note if it is renamed.
The 👍 pairs are exported as ``question<TAB>note path`` lines, the format ``notebot eval``
reads; ``notebot feedback import`` reads them back (``question<TAB>path<TAB>down`` for 👎).
Searches learn from the votes (index/votes.py): ``Votes.ballots`` gives them to a search, read
again whenever the database file changes.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from contextlib import closing, contextmanager
from pathlib import Path

from index import Ballots, Vote, escape, unescape

log = logging.getLogger("notebot.feedback")

SCHEMA = """
CREATE TABLE IF NOT EXISTS votes (
    user     TEXT NOT NULL,
    question TEXT NOT NULL,
    path     TEXT NOT NULL,
    vote     INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    channel  TEXT,
    at       TEXT NOT NULL,
    hash     TEXT,
    PRIMARY KEY (user, question, path)
)
"""
# Who ``notebot feedback import`` records votes as, unless told otherwise.
IMPORT_USER = "import"
# The third column of an exported or imported line that makes it a 👎.
DOWN = "down"


class VotesUnusable(Exception):
    """The votes database cannot be opened, read or written; the message names the file."""


class Votes:
    """The votes database at ``path`` (created on first use)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._read_lock = threading.Lock()
        self._read: tuple[tuple, Ballots] | None = None  # (the file's stat, its votes)
        self._unreadable: tuple | None = None  # the stat of a file that could not be read

    @contextmanager
    def _connect(self):
        """A connection in a transaction. One short connection per call: votes are rare, and it
        keeps threads apart. Any failure (a directory, not a database, a full disk) is raised
        as VotesUnusable naming the file."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=10)) as db, db:
                db.execute(SCHEMA)
                if "hash" not in {row[1] for row in db.execute("PRAGMA table_info(votes)")}:
                    db.execute("ALTER TABLE votes ADD COLUMN hash TEXT")  # (an older database)
                yield db
        except (sqlite3.Error, OSError) as err:
            raise VotesUnusable(f"cannot use the votes database {self.path} ({err}); point "
                                "--db or NOTEBOT_FEEDBACK_DB at a notebot votes file") from None

    def record(self, user: str, question: str, path: str, vote: int, channel: str | None = None,
               note_hash: str | None = None):
        """Store ``user``'s vote (+1 or -1) on note ``path`` as an answer to ``question``;
        ``note_hash``: the note's content hash, when known."""
        self.record_many([(user, question, path, vote, note_hash)], channel)

    def record_many(self, votes, channel: str | None = None):
        """Store (user, question, path, vote, note hash or None) votes in one transaction."""
        at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        with self._connect() as db:
            db.executemany("INSERT INTO votes (user, question, path, vote, channel, at, hash) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?) "
                           "ON CONFLICT (user, question, path) DO UPDATE SET "
                           "vote = excluded.vote, channel = excluded.channel, at = excluded.at, "
                           "hash = COALESCE(excluded.hash, hash)",
                           [(user, question, path, vote, channel, at, note_hash)
                            for user, question, path, vote, note_hash in votes])

    def helpful(self) -> list[tuple[str, str]]:
        """(question, note path) pairs with more 👍 than 👎, oldest first."""
        if not self.path.exists():
            return []
        with self._connect() as db:
            return db.execute("SELECT question, path FROM votes GROUP BY question, path "
                              "HAVING SUM(vote) > 0 ORDER BY MIN(at), question, path").fetchall()

    def unhelpful(self) -> list[tuple[str, str]]:
        """(question, note path) pairs with more 👎 than 👍, oldest first."""
        if not self.path.exists():
            return []
        with self._connect() as db:
            return db.execute("SELECT question, path FROM votes GROUP BY question, path "
                              "HAVING SUM(vote) < 0 ORDER BY MIN(at), question, path").fetchall()

    def rows(self) -> list[Vote]:
        """Every vote, oldest first (none when there is no database yet)."""
        if not self.path.exists():
            return []
        with self._connect() as db:
            return [Vote(*row) for row in db.execute(
                "SELECT user, question, path, vote, hash, at FROM votes "
                "ORDER BY at, user, question, path")]

    def stats(self, top: int = 10) -> tuple[list[tuple[str, int, int, int]], list[tuple]]:
        """The ``top`` most voted notes as (path, 👍, 👎, users), most votes first; and the
        ``top`` most recent 👎 as (at, user, question, path)."""
        if not self.path.exists():
            return [], []
        with self._connect() as db:
            notes = db.execute(
                "SELECT path, SUM(vote > 0), SUM(vote < 0), COUNT(DISTINCT user) FROM votes "
                "GROUP BY path ORDER BY COUNT(*) DESC, path LIMIT ?", (top,)).fetchall()
            downs = db.execute("SELECT at, user, question, path FROM votes WHERE vote < 0 "
                               "ORDER BY at DESC, user, question LIMIT ?", (top,)).fetchall()
        return notes, downs

    def forget(self, user: str | None = None, path: str | None = None) -> int:
        """Remove the votes of ``user``, or on note ``path`` (both: that user's on that
        note); returns how many were removed."""
        where = [(c, v) for c, v in (("user", user), ("path", path)) if v is not None]
        if not where or not self.path.exists():
            return 0
        with self._connect() as db:
            return db.execute("DELETE FROM votes WHERE " + " AND ".join(f"{c} = ?" for c, _ in
                                                                        where),
                              [v for _, v in where]).rowcount

    def fill_hashes(self, hashes: dict[str, str]):
        """Record the content hash of the notes at these paths on the votes that lack one."""
        with self._connect() as db:
            db.executemany("UPDATE votes SET hash = ? WHERE path = ? AND hash IS NULL",
                           [(h, p) for p, h in sorted(hashes.items())])

    def ballots(self) -> Ballots | None:
        """The votes for searches to learn from, read again only when the file has changed;
        None when there are none or they cannot be read (logged once per change)."""
        try:
            st = self.path.stat()
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            return None
        with self._read_lock:
            if self._read is not None and self._read[0] == stamp:
                return self._read[1]
            if self._unreadable == stamp:
                return None
            try:
                ballots = Ballots(tuple(self.rows()))
            except VotesUnusable as err:
                log.warning("answering without the votes: %s", err)
                self._unreadable = stamp
                return None
            self._read = (stamp, ballots)
            return ballots

    def keep_hashes(self, ballots: Ballots | None):
        """Store the content hashes a search found for votes that had none (see Ballots), so
        that those votes follow their notes' renames."""
        if ballots is not None and ballots.learned:
            learned, ballots.learned = ballots.learned, {}
            try:
                self.fill_hashes(learned)
            except VotesUnusable as err:
                log.warning("cannot note the votes' note hashes: %s", err)


def export_lines(pairs, down: bool = False) -> list[str]:
    """``question<TAB>path`` lines (``down``: followed by ``<TAB>down``); white space inside a
    question is folded to single spaces and a leading byte-order mark dropped; the path is
    escaped as ``notebot eval`` reads it. A question starting with ``#`` gets a space before
    it: ``notebot eval`` reads a ``#`` in the first column as a comment."""
    lines, mark = [], f"\t{DOWN}" if down else ""
    for question, path in pairs:
        question = " ".join(question.lstrip("\ufeff").split())
        if question:
            lines.append(f"{' ' if question.startswith('#') else ''}{question}\t{escape(path)}"
                         f"{mark}")
    return lines


def import_lines(text: str) -> tuple[list[tuple[str, str, int]], list[str]]:
    """The (question, note path, +1 or -1) votes in ``question<TAB>path[<TAB>down]`` lines
    (the path escaped as ``export_lines`` writes it; blank lines and lines starting with ``#``
    skipped), and a message for each line that is not one."""
    votes, problems = [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        question, path = fields[0], fields[1] if len(fields) > 1 else ""
        mark = fields[2].strip() if len(fields) == 3 else ""
        if not question.strip() or not path.strip() or mark not in ("", DOWN) or len(fields) > 3:
            problems.append(f"line {n}: expected 'question<TAB>note path', optionally "
                            f"followed by '<TAB>{DOWN}'")
            continue
        votes.append((" ".join(question.split()), unescape(path.strip()),
                      -1 if mark == DOWN else 1))
    return votes, problems
