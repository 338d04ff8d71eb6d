"""The ``notebot`` command line: the only place that parses arguments."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import index
from index import (DEFAULT_MIN_CONFIDENCE, Ballots, IndexUnusable, LiveSearcher, Searcher,
                   answered, printable)

from . import config, importers
from .console import render_answer
from .feedback import IMPORT_USER


class UsageError(Exception):
    """Bad usage; exit status 2 with a one-line message."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return n


def _port(value: str) -> int:
    if not value.isdecimal() or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, got {value!r}")
    return int(value)


def make_parser() -> Parser:
    parser = Parser(prog="notebot", description="Answers questions from a team's notes.")
    parser.add_argument("--version", action="version", version=f"notebot {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    def common(p):
        p.add_argument("--corpus", metavar="DIR", help="notes directory (default: ./corpus, "
                       "or NOTEBOT_CORPUS)")
        p.add_argument("--index", metavar="DIR", help="index directory (default: in the user "
                       "cache, or NOTEBOT_INDEX)")
        p.add_argument("--min-confidence", metavar="C", help="confidence (0..1) a first result "
                       "needs to count as an answer (default: NOTEBOT_MIN_CONFIDENCE, or "
                       f"{DEFAULT_MIN_CONFIDENCE})")
        return p

    p = common(sub.add_parser("build", help="bring the index up to date with the notes"))
    p.add_argument("--full", action="store_true", help="rebuild from scratch")
    p = common(sub.add_parser("ask", help="answer a question (or one per line on stdin)"))
    p.add_argument("question", nargs="*", help="the question (its words may be given "
                   "unquoted); omit to read standard input, one question per line")
    p.add_argument("-k", type=_positive, default=3, metavar="N", help="results per question")
    p.add_argument("--json", action="store_true", help="one JSON object per question")
    votes_db(p, "votes to learn from")
    collection_flag(p)
    p = common(sub.add_parser("console", help="interactive local mode"))
    p.add_argument("-k", type=_positive, default=3, metavar="N", help="results per page")
    votes_db(p, "votes to learn from")
    collection_flag(p)
    p = common(sub.add_parser("eval", help="score the answers to a file of questions"))
    collection_flag(p)
    p.add_argument("file", help="question<TAB>expected note path or title, one per line, "
                   "in UTF-8; a line starting with # is a comment")
    p = common(sub.add_parser("doctor", help="check notes, index and Slack tokens; say what to fix"))
    p.add_argument("--offline", action="store_true", help="skip the Slack checks (for a "
                   "container HEALTHCHECK)")
    p.add_argument("--http", action="store_true", help="check the settings of HTTP mode "
                   "instead of Socket Mode")
    p.add_argument("--access", action="store_true", help="check the access settings only, "
                   "and show who sees which collections (NOTEBOT_ACCESS)")
    p = common(sub.add_parser("slack", help="run the Slack bot (Socket Mode unless --http)"))
    p.add_argument("--http", action="store_true", help="HTTP mode: serve Slack's requests at "
                   "/slack/events (needs SLACK_SIGNING_SECRET)")
    p.add_argument("--port", type=_port, metavar="N", help="HTTP mode's port (default 3000)")
    p.add_argument("--host", default="0.0.0.0", help="HTTP mode's address (default: all)")
    p.add_argument("--watch", action="store_true", help="rebuild when notes change on disk")
    p = common(sub.add_parser("import", help="turn a note service's export into notes"))
    p.add_argument("format", metavar="FORMAT", choices=importers.FORMATS,
                   help=f"the export's service: {', '.join(importers.FORMATS)}")
    p.add_argument("source", metavar="SOURCE", help="the export, as the service gives it")
    p.add_argument("--into", metavar="DIR", help="where the notes go (default: "
                   "<corpus>/<FORMAT>)")
    p.add_argument("--include-drafts", action="store_true", help="import drafts too")
    p.add_argument("--prune", action="store_true", help="remove the notes of posts gone from "
                   "the export")
    p.add_argument("--no-build", action="store_true", help="do not update the index after")
    feedback = sub.add_parser("feedback", help="the 👍/👎 votes given in Slack, which "
                              "answers learn from").add_subparsers(
        dest="action", required=True, parser_class=Parser)
    p = votes_db(feedback.add_parser("export", help="'question<TAB>note path' lines from 👍 "
                                     "votes, for 'notebot eval' (a question starting with # "
                                     "gets a space before it)"))
    p.add_argument("--down", action="store_true", help="then the 👎 votes, as "
                   "'question<TAB>note path<TAB>down' lines (for 'feedback import'; 'eval' "
                   "does not read them)")
    p = votes_db(feedback.add_parser("import", help="store 'question<TAB>note path' lines as "
                                     "👍 votes ('<TAB>down' after the path: 👎)"))
    p.add_argument("file", help="the lines, in UTF-8 ('-': standard input)")
    p.add_argument("--user", default=IMPORT_USER, help=f"who the votes are from (default "
                   f"'{IMPORT_USER}')")
    p.add_argument("--corpus", metavar="DIR", help="notes directory (default: ./corpus, "
                   "or NOTEBOT_CORPUS)")
    p.add_argument("--index", metavar="DIR", help="index directory (default: in the user "
                   "cache, or NOTEBOT_INDEX)")
    p = votes_db(feedback.add_parser("stats", help="the most voted notes and the latest 👎"))
    p.add_argument("-n", type=_positive, default=10, metavar="N", help="how many of each")
    p = votes_db(feedback.add_parser("forget", help="remove a user's votes, or a note's"))
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--user", help="the Slack user id (U…) whose votes go")
    which.add_argument("--note", metavar="PATH", help="the note whose votes go")
    return parser


def votes_db(p, what: str = "votes database"):
    p.add_argument("--db", metavar="FILE", help=f"{what} (default: in the user data directory, "
                   "or NOTEBOT_FEEDBACK_DB)")
    return p


def collection_flag(p):
    p.add_argument("--collection", action="append", metavar="NAME", help="answer only from "
                   "this collection, a top-level folder of the notes ('(root)': the notes "
                   "outside any folder); may be repeated (default: every note)")
    return p


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("notebot")
    except PackageNotFoundError:  # run from a checkout that is not installed
        return "(not installed)"


def _say(line: str):
    print(f"notebot: {printable(line)}", file=sys.stderr, flush=True)


# A build shows a progress bar once it has taken this long (a quick one shows none).
PROGRESS_AFTER_S = 1.0


class _Progress:
    """A build's progress as a bar on standard error, when that is a terminal (scripts and logs
    get none): a build of many notes takes minutes. The bar ends on its own line once the notes
    are analysed, before the build writes the index and says what it did."""

    def __init__(self):
        self.bar = None

    def __call__(self, done: int, total: int):
        if self.bar is None or self.bar.total != total:  # (a build may start over from scratch)
            self.close()
            if not total or not sys.stderr.isatty():
                return
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="notebot: analysing", unit=" notes",
                            file=sys.stderr, delay=PROGRESS_AFTER_S)
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.close()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def cmd_build(args, paths) -> int:
    with _Progress() as progress:
        report = index.build(paths.corpus, paths.index, full=args.full, say=_say,
                             progress=progress)
    for w in report.warnings:
        _say(f"warning: {w}")
    print(report.summary())
    return 0


def _searcher(paths, live: bool = False) -> Searcher | LiveSearcher:
    """A searcher of the index, built or brought up to date first if need be; ``live``: one
    that follows the builds published after it starts (see LiveSearcher)."""
    synonyms = config.synonyms_file()
    with _Progress() as progress:
        data = index.load_fresh(paths.corpus, paths.index, say=_say, progress=progress)
    if live:
        return LiveSearcher(paths.index, data, say=_say, synonyms_file=synonyms)
    return Searcher(data, synonyms_file=synonyms)


class _Restricted:
    """A searcher that ranks only the notes of ``collections`` (``--collection``); all else
    is the wrapped searcher's."""

    def __init__(self, searcher, collections: frozenset[str]):
        self._searcher, self._collections = searcher, collections

    def search(self, question: str, k: int = 3, offset: int = 0, excerpts: int | None = None):
        return self._searcher.search(question, k=k, offset=offset, excerpts=excerpts,
                                     collections=self._collections)

    def __getattr__(self, name):
        return getattr(self._searcher, name)


def _restricted(searcher, names: list[str] | None):
    """``searcher`` restricted to the collections ``names`` (none: as it is)."""
    if not names:
        return searcher
    from .access import ROOT, shown

    known = searcher.collections()
    wanted = frozenset("" if name == ROOT else name for name in names)
    unknown = sorted(wanted - known)
    if unknown:
        raise UsageError(f"--collection {', '.join(map(shown, unknown))}: no such collection; "
                         f"the notes have: {', '.join(sorted(map(shown, known)))}")
    return _Restricted(searcher, wanted)


def _questions(args):
    if args.question:
        question = " ".join(args.question)
        if not question.strip():
            raise UsageError("the question is empty; ask something, e.g. notebot ask \"GILって何？\"")
        # bytes that are not UTF-8 reach argv as surrogates: make them U+FFFD, as on stdin
        yield os.fsencode(question).decode("utf-8", errors="replace")
        return
    for raw in sys.stdin.buffer:
        line = raw.decode("utf-8-sig", errors="replace").strip()  # -sig: no byte-order mark
        if line:
            yield line


def cmd_ask(args, paths) -> int:
    questions = _questions(args)
    if args.question:
        questions = list(questions)  # a usage error must come before any index work
    min_confidence = config.min_confidence(args.min_confidence)
    searcher = _searcher(paths)
    searcher.votes = _ballots(args.db)
    searcher = _restricted(searcher, args.collection)
    for n, question in enumerate(questions):
        hits = searcher.search(question, k=args.k)
        if args.json:
            record = json.dumps({"question": question,
                                 "answered": answered(hits, min_confidence),
                                 "results": [h.to_json() for h in hits]}, ensure_ascii=False)
            # U+2028 and U+2029 end a line for some line-based JSON readers: escaped, as JSON allows
            print(record.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"), flush=True)
        else:
            if n:
                print()
            if not args.question:
                print(f"Q: {printable(question)}")  # no terminal escapes echoed
            print(render_answer(question, hits, min_confidence), flush=True)
    return 0


def cmd_console(args, paths) -> int:
    from . import console

    min_confidence = config.min_confidence(args.min_confidence)
    searcher = _searcher(paths, live=True)
    searcher.votes = _ballots(args.db)
    return console.run(_restricted(searcher, args.collection), k=args.k,
                       history=paths.index / "console-history", min_confidence=min_confidence)


def cmd_eval(args, paths) -> int:
    from index import evaluation

    try:
        with open(args.file, encoding="utf-8-sig") as f:
            text = f.read()
    except OSError as err:
        raise UsageError(f"cannot read {args.file}: {err.strerror or err}") from None
    except UnicodeDecodeError:  # UTF-16 from a spreadsheet, Shift_JIS ...
        raise UsageError(f"{args.file} is not UTF-8: save it as UTF-8") from None
    min_confidence = config.min_confidence(args.min_confidence)
    cases, problems = evaluation.parse(text)
    for problem in problems:
        _say(f"{args.file}: {problem}")
    if not cases:
        raise UsageError(f"{args.file} holds no 'question<TAB>expected' lines")
    searcher = _restricted(_searcher(paths), args.collection)
    for case in evaluation.unknown(searcher, cases):
        _say(f"{args.file}: line {case.line}: no note has the path or title "
             f"'{case.expected}'; it counts as a miss")
    report = evaluation.evaluate(searcher, cases, min_confidence)
    print(f"{report.cases} questions: Hit@1 {report.hit1:.3f}  Hit@3 {report.hit3:.3f}  "
          f"MRR@10 {report.mrr10:.3f}")
    right = f"{report.answered_right / report.answered:.3f}" if report.answered else "–"
    print(f"answered {report.answered} of {report.cases} (confidence ≥ {min_confidence}); "
          f"of those, right first {right}")
    for case, rank, first in report.misses:
        where = f"rank {rank}" if rank else "not in the top 10"
        # what comes from the file is printed without its terminal escapes
        print(printable(f"miss (line {case.line}, {where}): {case.question}"))
        print(printable(f"    expected {case.expected}, first came {first or 'nothing'}"))
    return 0


def cmd_doctor(args, paths) -> int:
    from . import doctor

    if args.access:
        return doctor.access_table(paths, sys.stdout)
    return doctor.report(doctor.run(paths, slack=not args.offline, http=args.http,
                                    min_confidence=args.min_confidence), sys.stdout)


def cmd_slack(args, paths) -> int:
    from . import slack_app

    if args.port and not args.http:
        raise UsageError("--port is for HTTP mode; add --http, or drop --port for Socket Mode")
    return slack_app.run(config.slack(args.http), paths, http=args.http, host=args.host,
                         port=args.port or 3000, watch=args.watch,
                         min_confidence=config.min_confidence(args.min_confidence))


def _ballots(db: str | None) -> Ballots | None:
    """The votes in the votes database, for answers to learn from (None: there are none)."""
    from .feedback import Votes, VotesUnusable

    try:
        rows = Votes(config.feedback_db(db)).rows()
    except VotesUnusable as err:
        _say(f"warning: answering without the votes: {err}")
        return None
    return Ballots(tuple(rows)) if rows else None


def cmd_feedback(args, paths) -> int:
    from .feedback import Votes, VotesUnusable

    db = config.feedback_db(args.db)
    action = {"export": _feedback_export, "import": _feedback_import,
              "stats": _feedback_stats, "forget": _feedback_forget}[args.action]
    try:
        return action(args, paths, Votes(db))
    except VotesUnusable as err:
        _say(str(err))
        return 1


def _feedback_export(args, paths, votes) -> int:
    from .feedback import export_lines

    lines = export_lines(votes.helpful())
    downs = export_lines(votes.unhelpful(), down=True) if args.down else []
    for line in lines + downs:
        print(line)
    _say(f"{len(lines)} question-note pairs from 👍 votes"
         f"{f' and {len(downs)} from 👎 votes' if args.down else ''} in {votes.path}")
    return 0


def _feedback_import(args, paths, votes) -> int:
    from .feedback import import_lines

    try:
        if args.file == "-":
            text = sys.stdin.buffer.read().decode("utf-8-sig")
        else:
            with open(args.file, encoding="utf-8-sig") as f:
                text = f.read()
    except OSError as err:
        raise UsageError(f"cannot read {args.file}: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{args.file} is not UTF-8: save it as UTF-8") from None
    read, problems = import_lines(text)
    for problem in problems:
        _say(f"{args.file}: {problem}")
    if not read:
        raise UsageError(f"{args.file} holds no 'question<TAB>note path' lines")
    with _Progress() as progress:
        data = index.load_fresh(paths.corpus, paths.index, say=_say, progress=progress)
    hashes = dict(zip(data.manifest.notes.path, data.manifest.notes.hash))
    gone = sorted({path for _, path, _ in read if path not in hashes})
    for path in gone:
        _say(f"warning: no note has the path '{printable(path)}': its votes are kept, and "
             "count once a note has it")
    votes.record_many([(args.user, q, path, vote, hashes.get(path)) for q, path, vote in read])
    ups = sum(vote > 0 for _, _, vote in read)
    print(f"{ups} 👍 and {len(read) - ups} 👎 votes from {args.user} stored in {votes.path}")
    return 0


def _feedback_stats(args, paths, votes) -> int:
    notes, downs = votes.stats(args.n)
    print("most voted notes (👍 👎 users):")
    for path, up, down, users in notes:
        print(printable(f"  {up:4d} {down:4d} {users:4d}  {path}"))
    print("latest 👎:")
    for at, user, question, path in downs:
        print(printable(f"  {at}  {user}  {question}  →  {path}"))
    return 0


def _feedback_forget(args, paths, votes) -> int:
    removed = votes.forget(user=args.user, path=args.note)
    print(f"{removed} votes removed from {votes.path}")
    return 0


def cmd_import(args, paths) -> int:
    into = Path(args.into) if args.into else paths.corpus / args.format
    try:
        report = importers.run(args.format, Path(args.source), into, args.include_drafts,
                               args.prune)
    except importers.ExportUnreadable as err:
        raise UsageError(str(err)) from None
    for w in report.warnings:
        _say(f"warning: {w}")
    print(report.summary(args.format))
    if not args.no_build:
        return cmd_build(argparse.Namespace(full=False), paths)
    return 0


COMMANDS = {"build": cmd_build, "import": cmd_import, "ask": cmd_ask, "console": cmd_console, "eval": cmd_eval,
            "doctor": cmd_doctor, "slack": cmd_slack, "feedback": cmd_feedback}


def main(argv=None) -> int:
    try:
        args = make_parser().parse_args(argv)
        paths = config.paths(args.corpus, args.index) if "corpus" in args else None
        return COMMANDS[args.command](args, paths)
    except (UsageError, config.ConfigError) as err:
        print(f"notebot: {err}", file=sys.stderr)
        return 2
    except IndexUnusable as err:
        print(f"notebot: the index cannot be used: {err}; run 'notebot build --full'",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (notebot ask ... | head); not an error
        return 0
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        print(f"notebot: {where}{err.strerror or err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
