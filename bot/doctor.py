"""``notebot doctor``: checks the notes, the index, the access settings and the Slack settings,
and says what to fix; ``notebot doctor --access`` shows who sees which collections.

Each finding is one line: ``ok``, ``warn`` (works, but have a look), ``FAIL`` (does not work, with
the fix on the next line) or ``skip``. Exit status 1 when anything failed, else 0.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import index
from index import IndexUnusable, Scan, printable

from . import access, config

# Slack answers within seconds; a health check must not hang on a dead network.
SLACK_TIMEOUT_SECONDS = 15
# Beyond this many warnings of one kind, the rest are counted, not listed.
MAX_LISTED = 10


@dataclass(frozen=True)
class Finding:
    """One result of a check."""

    status: str  # "ok", "warn", "FAIL" or "skip"
    topic: str  # "corpus", "index", "answers", "access" or "slack"
    message: str
    fix: str = ""


def check_corpus(corpus: Path, scan: Scan) -> list[Finding]:
    """Are there notes, and could every file be looked at?"""
    if scan.files:
        found = [Finding("ok", "corpus", f"{_notes(len(scan.files))} in {corpus}")]
    else:
        found = [Finding("FAIL", "corpus", f"no notes (*.md, *.markdown, *.txt) in {corpus}",
                         "put the notes there, or point --corpus (or NOTEBOT_CORPUS) at them")]
    return found + _listed("warn", "corpus", scan.warnings)


def check_index(index_dir: Path, scan: Scan) -> list[Finding]:
    """Is the index there, readable by this installation, intact (every file read) and up to
    date with the notes?"""
    try:
        data = index.load(index_dir)
    except IndexUnusable as err:
        never_built = not (index_dir / "CURRENT").exists()
        return [Finding("FAIL", "index", str(err),
                        "run 'notebot build'" if never_built else "run 'notebot build --full'")]
    try:
        data.analyzer()
        damaged = data.verify()
    except IndexUnusable as err:
        return [Finding("FAIL", "index", f"made with another analyzer: {err}",
                        "run 'notebot build --full'")]
    finally:
        data.close()
    if damaged:
        return [Finding("FAIL", "index", f"damaged in {data.path}: {', '.join(damaged)} "
                        "(not what the build wrote)", "run 'notebot build --full'")]
    manifest = data.manifest
    stale = manifest.stale_reason(scan)
    if stale:
        found = [Finding("FAIL", "index", f"out of date with the notes ({stale})",
                         "run 'notebot build' (ask, console and the Slack bot also do it "
                         "when they start)")]
    else:
        found = [Finding("ok", "index", f"{_notes(data.n_notes)} in {data.path}, "
                         f"built {manifest.built_at}")]
    skipped = sorted(manifest.skipped)
    if skipped:
        found += _listed("warn", "index", [f"{p}: not indexed (binary, unreadable or too large; "
                                           "'notebot build --full' says why)" for p in skipped])
    if not os.access(index_dir, os.W_OK):
        found.append(Finding("warn", "index", f"{index_dir} is not writable by user id "
                             f"{os.getuid()}, so it cannot be brought up to date",
                             "give that user write access to it, or pass --index (or set "
                             "NOTEBOT_INDEX) to a writable directory"))
    return found


def check_slack(http: bool) -> list[Finding]:
    """Are the tokens set, and does Slack accept them? (Calls the Slack Web API.)"""
    try:
        settings = config.slack(http)
    except config.ConfigError as err:
        return [Finding("FAIL", "slack", "not configured", str(err))]
    from slack_sdk import WebClient

    base_url = settings.api_url or WebClient.BASE_URL
    client = WebClient(base_url=base_url, timeout=SLACK_TIMEOUT_SECONDS)
    me, failed = _ask_slack(base_url, "SLACK_BOT_TOKEN", _BOT_TOKEN_FIX,
                            lambda: client.auth_test(token=settings.bot_token))
    if failed:
        return [failed]
    found = [Finding("ok", "slack", f"SLACK_BOT_TOKEN works: @{me['user']} in {me['team']} "
                     f"({me['url']})")]
    if http:
        return found  # the signing secret can only be checked by Slack's own requests
    _, failed = _ask_slack(base_url, "SLACK_APP_TOKEN", _APP_TOKEN_FIX,
                           lambda: client.apps_connections_open(app_token=settings.app_token))
    return found + [failed or Finding("ok", "slack", "SLACK_APP_TOKEN works: Socket Mode can "
                                      "connect")]


_BOT_TOKEN_FIX = ("copy the Bot User OAuth Token (xoxb-...) again from the Slack app settings > "
                  "OAuth & Permissions; reinstall the app to the workspace if it was revoked")
_APP_TOKEN_FIX = ("make an app-level token (xapp-...) with the connections:write scope in the "
                  "Slack app settings > Basic Information, and turn Socket Mode on")


def _ask_slack(base_url: str, token_name: str, fix: str, call):
    """``call``'s response and None, or None and the failed Finding that says why."""
    from slack_sdk.errors import SlackApiError

    try:
        return call(), None
    except SlackApiError as err:
        return None, Finding("FAIL", "slack", f"Slack refused {token_name}: "
                             f"{err.response.get('error')}", fix)
    except OSError as err:  # urllib's URLError, refused connections and timeouts among them
        return None, Finding("FAIL", "slack", f"cannot reach the Slack Web API at {base_url}: "
                             f"{getattr(err, 'reason', None) or err}",
                             "check the network and any proxy (HTTPS_PROXY), or SLACK_API_URL; "
                             "'notebot doctor --offline' checks the rest")


def _notes(n: int) -> str:
    return f"{n} note" if n == 1 else f"{n} notes"


def _listed(status: str, topic: str, messages: list[str]) -> list[Finding]:
    found = [Finding(status, topic, m) for m in messages[:MAX_LISTED]]
    if len(messages) > MAX_LISTED:
        found.append(Finding(status, topic, f"... and {len(messages) - MAX_LISTED} more"))
    return found


def check_answers(min_confidence: str | None) -> list[Finding]:
    """The confidence a first result needs to count as an answer, and where it comes from."""
    try:
        value = config.min_confidence(min_confidence)
    except config.ConfigError as err:
        return [Finding("FAIL", "answers", "minimum confidence not usable", str(err))]
    source = ("--min-confidence" if min_confidence is not None else
              "NOTEBOT_MIN_CONFIDENCE" if os.environ.get("NOTEBOT_MIN_CONFIDENCE", "").strip()
              else "default")
    return [Finding("ok", "answers", f"minimum confidence {value} ({source}): a question whose "
                    "first note is less confident is told no note answers it confidently")]


_ACCESS_FIX = ("edit the file: the Slack bot does not start with it, and a running one keeps "
               "its last good settings")


def check_access(index_dir: Path) -> tuple[list[Finding], access.Settings | None,
                                           frozenset[str] | None]:
    """Is the access settings file (NOTEBOT_ACCESS) usable, and does it name collections the
    index has? Also the settings and the index's collections, when they can be read."""
    try:
        path = config.access_file()
    except config.ConfigError as err:
        return [Finding("FAIL", "access", "access settings not usable", str(err))], None, None
    if path is None:
        return [Finding("ok", "access", "no NOTEBOT_ACCESS: every note answers everywhere")], \
            None, None
    try:
        settings = access.read(path)
    except access.AccessError as err:
        return [Finding("FAIL", "access", f"{path}: {problem}", _ACCESS_FIX if not n else "")
                for n, problem in enumerate(err.problems)], None, None
    found = [Finding("ok", "access", f"{path}: {len(settings.private)} private collections, "
                     f"{len(settings.channels)} channels restricted")]
    try:
        data = index.load(index_dir)
    except IndexUnusable:
        return found + [Finding("skip", "access", "collections not checked: no usable index")], \
            settings, None
    known = data.collections
    data.close()
    for status, message in access.check(settings, known):
        found.append(Finding(status, "access", message))
    return found, settings, known


def access_table(paths: config.Paths, out) -> int:
    """``doctor --access``: the access settings' findings, then who sees which collections
    for the channels and users the file names (and any other). Exit status as ``report``."""
    found, settings, known = check_access(paths.index)
    status = report(found, out)
    if settings is None or known is None:
        return status
    rows = [("channel", "user", "answers posted there", "answers only they see (DM, /notes)"),
            *access.table(settings, known)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    print(file=out)
    for row in rows:
        print(printable("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[3]),
              file=out)
    return status


def run(paths: config.Paths, slack: bool = True, http: bool = False,
        min_confidence: str | None = None) -> list[Finding]:
    """Every check, in the order data flows: notes, index, answers, access, Slack."""
    scan = index.scan(paths.corpus)
    found = (check_corpus(paths.corpus, scan) + check_index(paths.index, scan)
             + check_answers(min_confidence) + check_access(paths.index)[0])
    if slack:
        return found + check_slack(http)
    return found + [Finding("skip", "slack", "not checked (--offline)")]


def report(findings: list[Finding], out) -> int:
    """Print the findings; the exit status: 1 when any failed, else 0."""
    for f in findings:
        print(f"{f.status:<5} {f.topic:<7} {printable(f.message)}", file=out)
        if f.fix:
            print(f"{'':<13} fix: {f.fix}", file=out)
    failed = sum(f.status == "FAIL" for f in findings)
    print("all is well" if not failed else f"{failed} problem{'s' if failed > 1 else ''} to fix",
          file=out, flush=True)
    return 1 if failed else 0
