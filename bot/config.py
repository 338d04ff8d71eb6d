"""Configuration: the only place that reads the environment.

Every setting has a command-line flag and an environment variable; flags win.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


# A Slack member id (U…, or W… in an Enterprise Grid organisation).
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")


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
    if corpus_dir.exists() and not corpus_dir.is_dir():
        raise ConfigError(f"corpus '{corpus_dir}' is a file, not a directory of notes; pass "
                          "--corpus DIR (or set NOTEBOT_CORPUS) to the directory that holds it")
    if not corpus_dir.is_dir():
        raise ConfigError(f"corpus directory '{corpus_dir}' not found; "
                          "run from the directory that holds corpus/, or pass --corpus DIR "
                          "(or set NOTEBOT_CORPUS)")
    given = index or os.environ.get("NOTEBOT_INDEX")
    index_dir = Path(given or default_index(corpus_dir))
    for place in (index_dir, *index_dir.parents):
        if place.exists() and not place.is_dir():
            raise ConfigError(f"index location '{index_dir}': '{place}' is a file; pass "
                              "--index DIR (or set NOTEBOT_INDEX) to a directory")
        if place.exists():
            break
    if given and not index_dir.parent.is_dir():
        raise ConfigError(f"index location '{index_dir}': its folder '{index_dir.parent}' "
                          "does not exist; create it, or pass --index DIR (or set "
                          "NOTEBOT_INDEX) inside an existing folder")
    return Paths(corpus_dir, index_dir)


@dataclass(frozen=True)
class Slack:
    """Everything the Slack bot needs to start (tokens are never logged)."""

    bot_token: str
    app_token: str | None
    signing_secret: str | None
    api_url: str | None
    admins: frozenset[str]
    feedback_db: Path
    editors: frozenset[str] = frozenset()  # who may save threads as notes; empty: everyone


def default_feedback_db() -> Path:
    """The votes database, in the user's data directory (XDG_DATA_HOME or ~/.local/share)."""
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data / "notebot" / "feedback.sqlite3"


def feedback_db(path: str | None = None) -> Path:
    """The votes database from the flag, then NOTEBOT_FEEDBACK_DB, then the default."""
    return Path(path or os.environ.get("NOTEBOT_FEEDBACK_DB") or default_feedback_db())


def slack(http: bool) -> Slack:
    """Slack settings from the environment: SLACK_BOT_TOKEN, then SLACK_APP_TOKEN (Socket Mode)
    or SLACK_SIGNING_SECRET (HTTP mode), SLACK_API_URL, NOTEBOT_ADMINS, NOTEBOT_EDITORS,
    NOTEBOT_FEEDBACK_DB."""
    env = {name: os.environ.get(name, "").strip() for name in
           ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL",
            "NOTEBOT_ADMINS", "NOTEBOT_EDITORS")}
    if not env["SLACK_BOT_TOKEN"].startswith("xoxb-"):
        raise ConfigError("set SLACK_BOT_TOKEN to the app's Bot User OAuth Token (xoxb-...; "
                          "Slack app settings > OAuth & Permissions)")
    if http and not env["SLACK_SIGNING_SECRET"]:
        raise ConfigError("HTTP mode needs SLACK_SIGNING_SECRET (Slack app settings > Basic "
                          "Information > Signing Secret); or drop --http to use Socket Mode")
    if not http and not env["SLACK_APP_TOKEN"].startswith("xapp-"):
        raise ConfigError("Socket Mode needs SLACK_APP_TOKEN, an app-level token (xapp-...) with "
                          "the connections:write scope (Slack app settings > Basic Information "
                          "> App-Level Tokens); or run with --http --port N")
    api_url = env["SLACK_API_URL"] or None
    if api_url:
        if not _is_http_url(api_url):
            raise ConfigError(f"SLACK_API_URL '{api_url}' is not an http(s) URL; set it to the "
                              "Web API's base (e.g. https://slack.com/api/) or unset it")
        if not api_url.endswith("/"):
            api_url += "/"  # the Web API client appends method names to it
    admins = frozenset(a.strip() for a in env["NOTEBOT_ADMINS"].split(",") if a.strip())
    editors = frozenset(e.strip() for e in env["NOTEBOT_EDITORS"].split(",") if e.strip())
    for editor in sorted(editors):
        # A name or an @handle in place of an id would lock out everyone it means.
        if not SLACK_USER_ID.fullmatch(editor):
            raise ConfigError(f"NOTEBOT_EDITORS has '{editor}', which is not a Slack user id; "
                              "list member ids (U… or W…: a profile's ⋮ menu > Copy member "
                              "ID), separated by commas, or unset it to let everyone save")
    return Slack(env["SLACK_BOT_TOKEN"], env["SLACK_APP_TOKEN"] or None,
                 env["SLACK_SIGNING_SECRET"] or None, api_url, admins, feedback_db(), editors)


def _is_http_url(url: str) -> bool:
    """True for an http(s) URL with a host name and, if any, a valid port."""
    try:
        parts = urlsplit(url)
        parts.port  # raises ValueError for a port that is not a number up to 65535
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def min_confidence(value: str | None = None) -> float:
    """The confidence (0..1) a first result needs for a question to count as answered: the
    flag, then NOTEBOT_MIN_CONFIDENCE, then the default."""
    from index import DEFAULT_MIN_CONFIDENCE

    raw = value if value is not None else os.environ.get("NOTEBOT_MIN_CONFIDENCE", "").strip()
    if not raw:
        return DEFAULT_MIN_CONFIDENCE
    try:
        number = float(raw)
    except ValueError:
        number = float("nan")
    if not 0.0 <= number <= 1.0:
        where = "--min-confidence" if value is not None else "NOTEBOT_MIN_CONFIDENCE"
        raise ConfigError(f"{where} is '{raw}'; set it to a number from 0 to 1 (default "
                          f"{DEFAULT_MIN_CONFIDENCE}), or unset it")
    return number


def synonyms_file() -> Path | None:
    """The synonyms applied to questions: NOTEBOT_SYNONYMS, else the shipped generic list."""
    from index import SHIPPED_SYNONYMS as SHIPPED

    path = os.environ.get("NOTEBOT_SYNONYMS")
    if not path:
        return SHIPPED
    if not Path(path).is_file():
        raise ConfigError(f"NOTEBOT_SYNONYMS names '{path}', which is not a file; "
                          "fix the path or unset it to use the shipped synonyms")
    try:
        Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"NOTEBOT_SYNONYMS {path}: not UTF-8 (byte {err.start}); save it as "
                          "UTF-8, or unset it to use the shipped synonyms") from None
    return Path(path)


def access_file() -> Path | None:
    """The access settings file (who sees which collections): NOTEBOT_ACCESS, else None (every
    note answers everywhere). A path that names no file is an error, not "no settings": the
    notes it would keep private must not be answered for all."""
    path = os.environ.get("NOTEBOT_ACCESS", "").strip()
    if not path:
        return None
    if not Path(path).is_file():
        raise ConfigError(f"NOTEBOT_ACCESS names '{path}', which is not a file; fix the path, "
                          "or unset it to let every note answer everywhere")
    return Path(path)
