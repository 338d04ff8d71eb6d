"""Who sees which notes: collections, the access settings file, and the rules applied to every
answer.

A note's collection is the top-level folder of its path (``hr/policy.md`` is in ``hr``; a note
at the corpus root is in ``""``, shown as ``(root)``: see index.generation.collection_of). The
settings file (``NOTEBOT_ACCESS``, TOML) makes collections private and restricts channels::

    [collections.hr]        # private: only these users and user groups' members see it
    private = true
    users = ["U012ABCDEF"]
    groups = ["S0123ABCD"]  # Slack user groups (usergroups.users.list)

    [channels.C0123456]     # what this channel answers from (unlisted: every public collection)
    collections = ["engineering", "ops"]

Without a file every note answers everywhere. With one, ``Settings.allowed`` gives the
collections an answer may come from, for where it is shown (the surface):

- a listed channel answers from its collections only; any other channel, a DM and the Home
  tab from every collection of the index;
- a private collection counts only where nobody but the asker sees the answer -- a DM with the
  bot, a reply only they see (``/notes``, buttons), their own Home tab -- and only for its users
  and its groups' members; never in a channel message or a thread reply.

Everything here is pure but the reading of the file (AccessFile) and the asking of Slack for a
group's members, which Groups is handed as a function.
"""
from __future__ import annotations

import re
import threading
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

from index import collection_of

from .config import SLACK_USER_ID

if sys.version_info >= (3, 11):
    import tomllib
else:  # (the same parser, as a package)
    import tomli as tomllib

__all__ = ["AccessError", "AccessFile", "Groups", "Settings", "SURFACES", "check",
           "collection_of", "parse", "read", "shown", "table"]

# Where an answer is shown: a message in a channel, a reply in a channel's thread (or a group
# DM's), the asker's DM with the bot (threads in it too), a reply only the asker sees, the
# asker's own Home tab.
SURFACES = ("channel", "thread", "dm", "ephemeral", "home")
# The surfaces only the asker sees: the only ones where a private collection may answer.
PRIVATE_SURFACES = frozenset({"dm", "ephemeral", "home"})
ROOT = "(root)"
# How long a user group's members are kept before Slack is asked again.
GROUP_TTL_S = 300.0

_GROUP_ID = re.compile(r"S[A-Z0-9]{2,30}")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,30}")
_ID_HELP = {
    "users": (SLACK_USER_ID, "a Slack user id (U… or W…: a profile's ⋮ menu > Copy member ID)"),
    "groups": (_GROUP_ID, "a Slack user group id (S…: the group's page > ⋮ > Copy group ID)"),
}
_COLLECTION_KEYS = ("private", "users", "groups")
_CHANNEL_KEYS = ("collections",)


def shown(collection: str) -> str:
    """A collection's name as people read it: ``(root)`` for the notes at the corpus root."""
    return collection if collection else ROOT


def _names(collections: Iterable[str]) -> str:
    return ", ".join(shown(c) for c in sorted(collections)) or "nothing"


class AccessError(Exception):
    """The settings file cannot be used; ``problems`` say why and what to fix, one each."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Private:
    """A private collection: the users who see it, and the user groups whose members do."""

    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()


def _no_members(group: str) -> frozenset[str]:
    return frozenset()


@dataclass(frozen=True)
class Settings:
    """The parsed settings file: the private collections, and each listed channel's
    collections. ``warnings``: what works but likely is not what was meant."""

    private: Mapping[str, Private] = field(default_factory=dict)
    channels: Mapping[str, frozenset[str]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def allowed(self, channel: str | None, user: str | None, surface: str,
                known: Iterable[str],
                members: Callable[[str], frozenset[str]] = _no_members) -> frozenset[str]:
        """The collections (of ``known``, the index's) an answer to ``user`` in ``channel``
        shown on ``surface`` (one of SURFACES) may come from. ``members`` gives a user group's
        members; it is asked only about the groups of a private collection that counts."""
        if surface not in SURFACES:
            raise ValueError(f"unknown surface {surface!r}")
        listed = self.channels.get(channel) if channel else None
        wanted = frozenset(known) if listed is None else listed.intersection(known)
        return frozenset(c for c in wanted if c not in self.private or (
            surface in PRIVATE_SURFACES and self.may_see(c, user, members)))

    def may_see(self, collection: str, user: str | None,
                members: Callable[[str], frozenset[str]] = _no_members) -> bool:
        """Whether ``user`` may see the notes of ``collection`` where only they see them."""
        rule = self.private.get(collection)
        if rule is None:
            return True
        if not user:
            return False
        return user in rule.users or any(user in members(g) for g in sorted(rule.groups))

    @property
    def users(self) -> frozenset[str]:
        return frozenset(u for rule in self.private.values() for u in rule.users)

    @property
    def groups(self) -> frozenset[str]:
        return frozenset(g for rule in self.private.values() for g in rule.groups)


def parse(text: str) -> Settings:
    """The settings in ``text`` (TOML); AccessError lists every problem. Anything unknown is a
    problem, not ignored: a mistyped ``privat = true`` must not leave a collection public."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise AccessError([f"not valid TOML: {err}; fix the syntax (https://toml.io)"]) from None
    problems: list[str] = []
    warnings: list[str] = []
    for key in data:
        if key not in ("collections", "channels"):
            problems.append(f"unknown setting '{key}'; only [collections.NAME] and "
                            "[channels.ID] tables are known")
    private: dict[str, Private] = {}
    for name, table in _tables(data, "collections", problems).items():
        where = f"[collections.{_key(name)}]"
        _known_keys(table, _COLLECTION_KEYS, where, problems)
        is_private = table.get("private", False)
        if not isinstance(is_private, bool):
            problems.append(f"{where} private must be true or false")
            continue
        ids = {key: _ids(table, key, where, problems) for key in ("users", "groups")}
        if not is_private:
            if ids["users"] or ids["groups"]:
                problems.append(f"{where} lists users or groups but is not private; add "
                                "'private = true' (or remove the lists)")
            continue
        private[name] = Private(ids["users"], ids["groups"])
        if not ids["users"] and not ids["groups"]:
            warnings.append(f"{where} is private and lists no users or groups: nobody sees its "
                            "notes; add users = [\"U…\"] or groups = [\"S…\"]")
    channels: dict[str, frozenset[str]] = {}
    for channel, table in _tables(data, "channels", problems).items():
        where = f"[channels.{_key(channel)}]"
        if not _CHANNEL_ID.fullmatch(channel):
            problems.append(f"{where}: '{channel}' is not a Slack channel id (C… or G…: the "
                            "channel's name > About > Channel ID)")
            continue
        _known_keys(table, _CHANNEL_KEYS, where, problems)
        names = table.get("collections")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            problems.append(f"{where} needs collections = [\"name\", ...], a list of folder "
                            "names (\"\" for the notes at the corpus root)")
            continue
        channels[channel] = frozenset(names)
    for channel, names in sorted(channels.items()):
        if names & private.keys():
            hidden = _names(names & private.keys())
            warnings.append(f"[channels.{channel}] lists the private {hidden}: answered there "
                            "only in replies only its users see (/notes)")
    if problems:
        raise AccessError(problems)
    return Settings(private, channels, tuple(warnings))


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else f'"{name}"'


def _tables(data: dict, key: str, problems: list[str]) -> dict[str, dict]:
    tables = data.get(key, {})
    if not isinstance(tables, dict):
        problems.append(f"'{key}' must be tables: [{key}.NAME]")
        return {}
    found = {}
    for name, table in tables.items():
        if isinstance(table, dict):
            found[name] = table
        else:
            problems.append(f"'{key}.{_key(name)}' must be a table: [{key}.{_key(name)}]")
    return found


def _known_keys(table: dict, known: tuple[str, ...], where: str, problems: list[str]):
    for key in sorted(set(table) - set(known)):
        problems.append(f"{where} has the unknown key '{key}'; known: {', '.join(known)}")


def _ids(table: dict, key: str, where: str, problems: list[str]) -> frozenset[str]:
    pattern, what = _ID_HELP[key]
    values = table.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        problems.append(f"{where} {key} must be a list of ids: {key} = [\"…\"]")
        return frozenset()
    for value in values:
        if not pattern.fullmatch(value):
            problems.append(f"{where} {key}: '{value}' is not {what}")
    return frozenset(v for v in values if pattern.fullmatch(v))


def read(path: Path) -> Settings:
    """The settings in the file ``path`` (UTF-8 TOML); AccessError says what is wrong."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as err:
        raise AccessError([f"cannot read it: {err.strerror or err}"]) from None
    except UnicodeDecodeError as err:
        raise AccessError([f"not UTF-8 (byte {err.start}); save it as UTF-8"]) from None
    return parse(text)


def check(settings: Settings, known: Iterable[str]) -> list[tuple[str, str]]:
    """(status, message) for what the settings name that the index does not hold: ``FAIL``
    for a private collection (a misspelt name leaves the real folder public), ``warn`` for a
    channel's collection (the channel answers nothing from it)."""
    known = frozenset(known)
    found = [("warn", w) for w in settings.warnings]
    for name in sorted(settings.private.keys() - known):
        found.append(("FAIL", f"[collections.{_key(name)}] is not a collection of the index "
                      f"(it has: {_names(known)}); use a top-level folder's exact name"))
    for channel, names in sorted(settings.channels.items()):
        for name in sorted(names - known):
            found.append(("warn", f"[channels.{channel}] lists '{name}', which is not a "
                          f"collection of the index (it has: {_names(known)})"))
    return found


OTHER_CHANNEL = "any other channel"
DM = "DM with the bot"
OTHER_USER = "any other user"


def table(settings: Settings, known: Iterable[str]) -> list[tuple[str, str, str, str]]:
    """Who sees which collections, for the channels and users the settings name, and any other
    channel and user: (channel, user, what answers posted there hold, what replies only the
    user sees hold). A user group stands for its members as ``member of S…``."""
    known = frozenset(known)

    def members(group: str) -> frozenset[str]:
        return frozenset({f"member of {group}"})

    users = [*sorted(settings.users), *(f"member of {g}" for g in sorted(settings.groups)),
             None]
    rows = []
    for channel in [*sorted(settings.channels), None, DM]:
        posted_on = "dm" if channel == DM else "channel"
        where = None if channel == DM else channel
        for user in users:
            posted = settings.allowed(where, user, posted_on, known, members)
            alone = settings.allowed(where, user, "ephemeral", known, members)
            rows.append((channel or OTHER_CHANNEL, user or OTHER_USER, _names(posted),
                         _names(alone)))
    return rows


class AccessFile:
    """The settings file at ``path``, read again when it changes (its time, size or inode):
    a change takes effect at the next question. A file that cannot be used at start raises
    AccessError; later, the last good settings stay in use and ``say`` hears one line."""

    def __init__(self, path: Path, say=print):
        self.path, self.say = Path(path), say
        self._lock = threading.Lock()
        self._stamp = self._stat()
        try:
            self._settings = read(self.path)
        except AccessError as err:
            raise AccessError([f"{self.path}: {p}" for p in err.problems]) from None

    def _stat(self) -> tuple | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def settings(self) -> Settings:
        """The settings in use, read again first if the file changed."""
        stamp = self._stat()
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._settings = read(self.path)
                except AccessError as err:
                    more = len(err.problems) - 1
                    self.say(f"keeping the last good access settings: {self.path}: "
                             f"{err.problems[0]}{f' (and {more} more)' if more else ''}; "
                             "'notebot doctor' lists every problem")
                else:
                    self.say(f"access settings read again from {self.path}")
            return self._settings


class Groups:
    """The members of Slack user groups, asked of Slack with ``fetch(group id)`` and kept
    ``ttl`` seconds. A group whose members cannot be listed (a missing ``usergroups:read``
    scope, a network error) counts as having none, and ``say`` hears it once per ``ttl``."""

    def __init__(self, fetch: Callable[[str], Iterable[str]], ttl: float = GROUP_TTL_S,
                 say=print, clock: Callable[[], float] = time.monotonic):
        self.fetch, self.ttl, self.say, self.clock = fetch, ttl, say, clock
        self._lock = threading.Lock()
        self._kept: dict[str, tuple[float, frozenset[str]]] = {}

    def members(self, group: str) -> frozenset[str]:
        with self._lock:
            now = self.clock()
            kept = self._kept.get(group)
            if kept is not None and now - kept[0] < self.ttl:
                return kept[1]
            try:
                found = frozenset(self.fetch(group))
            except Exception as err:  # (whatever the Web API client raises: none are members)
                self.say(f"cannot list the members of user group {group}: {err}; its members "
                         "see none of its private collections until it can")
                found = frozenset()
            self._kept[group] = (now, found)
            return found
