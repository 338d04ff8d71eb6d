"""What the Slack bot says: Block Kit messages and their plain-text fallbacks (pure functions).

Everything that comes from a note or a question is escaped (``&``, ``<``, ``>``) and put in text
objects marked ``verbatim``, so a note can never ping ``@channel``, mention a user or smuggle a
link. Slack's limits (https://api.slack.com/reference/block-kit) are respected: at most 50 blocks,
3000 characters of section text, 75 characters of button text, 2000 characters of button value.
Replies are in Japanese, in English when the question is.
"""
from __future__ import annotations

import json
import re

from index import Hit, marked

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_VALUE_CHARS = 2000
# Cut before escaping (which can grow text fivefold): a title and an excerpt (at most 200
# characters) then fit in a section even escaped.
MAX_TITLE_CHARS = 150
MAX_URL_CHARS = 800
MAX_QUOTED_CHARS = 100
ZWSP = "\u200b"  # Slack only renders *bold* next to spaces or punctuation; Japanese has none
# Look-alikes of mrkdwn's formatting characters (asterisk operator, modifier low macron, tilde
# operator, modifier grave accent).
_LOOK_ALIKES = str.maketrans("*_~`", "\u2217\u02cd\u223c\u02cb")
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]")
_LATIN = re.compile(r"[A-Za-z]")
_SPECIAL_MENTION = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
_MARKUP = re.compile(r"<([^<>]*)>")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_SAFE_URL = re.compile(r"https?://[^\s<>|]+", re.IGNORECASE)

TEXTS = {
    "ja": {
        "heading": "「{q}」に近いノート（{first}〜{last}件目）",
        "weak_heading": "「{q}」に確信を持って答えられるノートはありません。近いノート（弱い一致、"
                        "{first}〜{last}件目）:",
        "unsure": "「{q}」に確信を持って答えられるノートはありません。近いノート:",
        "show": "全文を見る",
        "list": "「{q}」に近いノート:",
        "none": "「{q}」に合うノートは見つかりませんでした。別の言葉（製品名、コマンド名、"
                "エラーメッセージなど）で聞いてみてください。",
        "no_more": "「{q}」に近いノートはこれで全部です。",
        "more": "もっと見る", "share": "チャンネルに共有", "up": "👍 役に立った", "down": "👎",
        "shared": "<@{user}> さんが共有しました",
        "thanks": "評価ありがとうございます。今後の検索の改善に使います。",
        "vote_failed": "ごめんなさい、評価を保存できませんでした。管理者に伝えてください。",
        "share_refused": "この答えにはあなただけが見られる非公開のノートがあるため、"
                         "チャンネルに共有できません。",
        "usage": "質問を書いてください。例: `@notebot GILって何？` または `/notes GILって何？`",
        "refused": "ごめんなさい、インデックスの再構築は管理者だけができます。"
                   "必要なら管理者に頼んでください。",
        "rebuilt": "インデックスを再構築しました: {summary}",
        "rebuild_failed": "インデックスを再構築できませんでした: {error}",
        "damaged": "インデックスが壊れていて答えられません ({error})。"
                   "管理者に `notebot build --full` で作り直してもらってください。",
    },
    "en": {
        "heading": "Notes for “{q}” ({first}–{last})",
        "weak_heading": "No note answers “{q}” confidently. The closest notes, weak matches "
                        "({first}–{last}):",
        "unsure": "No note answers “{q}” confidently. The closest notes:",
        "show": "Show them in full",
        "list": "Notes for “{q}”:",
        "none": "No notes match “{q}”. Try other words: a product, a command or an error message.",
        "no_more": "That is every note for “{q}”.",
        "more": "More results", "share": "Share in channel", "up": "👍 Helpful", "down": "👎",
        "shared": "Shared by <@{user}>",
        "thanks": "Thanks for the feedback: it helps improve the answers.",
        "vote_failed": "Sorry, your vote could not be saved; please tell the bot's admins.",
        "share_refused": "This answer holds private notes that only you may see, so it "
                         "cannot be shared here.",
        "usage": "Ask a question, e.g. `@notebot what is the GIL?` or `/notes what is the GIL?`",
        "refused": "Sorry, only the bot's admins can rebuild the index; ask one of them.",
        "rebuilt": "Index rebuilt: {summary}",
        "rebuild_failed": "The index could not be rebuilt: {error}",
        "damaged": "The index is damaged, so this cannot be answered ({error}). "
                   "An admin can rebuild it with `notebot build --full`.",
    },
}


def language(question: str) -> str:
    """``"en"`` for a question in Latin letters without any Japanese, else ``"ja"``."""
    return "en" if _LATIN.search(question) and not _JAPANESE.search(question) else "ja"


def escape(text: str) -> str:
    """``text`` safe inside Slack mrkdwn: no markup, no links, no special mentions. mrkdwn has
    no escape character, so *, _, ~ and ` become their look-alikes: shown, never formatting."""
    text = text.translate(_LOOK_ALIKES)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL_MENTION.sub("@\u2060", text)  # a word joiner: looks the same, pings nobody


def emphasise(text: str, words) -> str:
    """``text`` escaped, with each of ``words`` in bold."""
    words = [w for w in words if not set(w) & set("*_~`")]
    return marked(text, words, lambda w: f"{ZWSP}*{escape(w)}*{ZWSP}", escape)


def question_text(slack_text: str, bot_user_id: str | None = None) -> str:
    """The question in a Slack message: mentions dropped, links and channels as plain text."""
    def plain(m: re.Match) -> str:
        inner = m.group(1)
        target, _, label = inner.partition("|")
        if target.startswith(("@", "!")):
            return ""  # a mention of the bot, of someone, or @here: not part of the question
        if target.startswith("#"):
            return f"#{label}" if label else ""
        return label or target

    text = _MARKUP.sub(plain, slack_text)
    return " ".join(text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").split())


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _buttons(*buttons: tuple[str, str, dict]) -> dict | None:
    """An actions block of buttons (text, action_id, value); a button whose value cannot fit
    Slack's limit is left out, and so is a block with no button left."""
    elements = [{"type": "button", "text": {"type": "plain_text", "text": text, "emoji": True},
                 "action_id": action_id, "value": value}
                for text, action_id, fields in buttons
                if (value := button_value(**fields)) is not None]
    return {"type": "actions", "elements": elements} if elements else None


def button_value(q: str, **fields) -> str | None:
    """A button's value as JSON, the question shortened until it fits Slack's limit (None
    if the other fields alone do not fit: a note path thousands of characters long)."""
    value = json.dumps(dict(q=q, **fields), ensure_ascii=False)
    while len(value) > MAX_VALUE_CHARS and q:
        q = q[:len(q) // 2]
        value = json.dumps(dict(q=q, **fields), ensure_ascii=False)
    return value if len(value) <= MAX_VALUE_CHARS else None


def _title(hit: Hit, bold: bool = True) -> str:
    title = escape(_cut(hit.title, MAX_TITLE_CHARS))
    url = hit.url or ""
    if len(url) <= MAX_URL_CHARS and _SAFE_URL.fullmatch(url):
        title = f"<{url.replace('&', '&amp;')}|{title}>"
    return f"*{title}*" if bold else title


def _section(hit: Hit) -> str:
    text = f"{_title(hit)}\n{emphasise(hit.excerpt, hit.matched)}"
    if len(text) > MAX_SECTION_CHARS:  # a huge link or a flood of escapes: plain, it fits
        text = f"*{escape(_cut(hit.title, MAX_TITLE_CHARS))}*\n{escape(hit.excerpt)}"
    return text


def _meta(hit: Hit) -> str:
    parts = [hit.path, hit.date or "", " ".join(f"#{t}" for t in hit.tags)]
    return escape(_cut(" · ".join(p for p in parts if p), MAX_SECTION_CHARS // 5))


def _asked(question: str, context: str | None) -> dict:
    """What a button carries of the question: ``q``, and ``c`` if a thread's first question
    is searched along with it."""
    return {"q": question, **({"c": context} if context else {})}


def answer(question: str, hits: list[Hit], offset: int = 0, more: bool = False,
           share: bool = False, weak: bool = False,
           context: str | None = None) -> tuple[str, list[dict]]:
    """The reply to ``question``: fallback text and blocks. ``hits`` start at result
    ``offset``; ``more`` adds a "more results" button, ``share`` a "share in channel" one;
    ``weak`` says first that no note answers it confidently. ``context`` (the question a
    thread started with, searched along with this one) goes with the buttons."""
    asked = _asked(question, context)
    t = TEXTS[language(question)]
    quoted = escape(_cut(question, MAX_QUOTED_CHARS))
    if not hits:
        text = t["no_more" if offset else "none"].format(q=quoted)
        return text, [{"type": "section", "text": _mrkdwn(text)}]
    hits = hits[:(MAX_BLOCKS - 2) // 3]
    heading = t["weak_heading" if weak else "heading"].format(
        q=quoted, first=offset + 1, last=offset + len(hits))
    blocks = [{"type": "section", "text": _mrkdwn(heading)}]
    lines = [t["list"].format(q=quoted)]
    for n, hit in enumerate(hits, offset + 1):
        blocks.append({"type": "section", "text": _mrkdwn(_section(hit))})
        blocks.append({"type": "context", "elements": [_mrkdwn(_meta(hit))]})
        votes = _buttons((t["up"], "vote_up", {"q": question, "p": hit.path}),
                         (t["down"], "vote_down", {"q": question, "p": hit.path}))
        if votes:
            blocks.append(votes)
        lines.append(f"{n}. {escape(_cut(hit.title, MAX_TITLE_CHARS))} — {escape(hit.excerpt)}")
    buttons = _buttons(*([(t["more"], "more", {**asked, "o": offset + len(hits)})] * more
                         + [(t["share"], "share", {**asked, "o": offset})] * share))
    if buttons:
        blocks.append(buttons)
    return "\n".join(lines), blocks


def unsure(question: str, hits: list[Hit], offset: int = 0,
           context: str | None = None) -> tuple[str, list[dict]]:
    """The short reply when no note answers ``question`` confidently: the closest notes as
    title links only, and a button that shows them in full to whoever presses it."""
    asked = _asked(question, context)
    t = TEXTS[language(question)]
    text = t["unsure"].format(q=escape(_cut(question, MAX_QUOTED_CHARS)))
    body = "\n".join([text] + [f"• {_title(hit, bold=False)}" for hit in hits])
    if len(body) > MAX_SECTION_CHARS:  # huge links: the titles alone
        body = "\n".join([text] + [f"• {escape(_cut(hit.title, MAX_TITLE_CHARS))}" for hit in hits])
    return body, [
        {"type": "section", "text": _mrkdwn(_cut(body, MAX_SECTION_CHARS))},
        _buttons((t["show"], "show", {**asked, "o": offset}))]


def shared(user: str, text: str, blocks: list[dict], question: str) -> tuple[str, list[dict]]:
    """An answer shared in the channel by ``user`` (a Slack user id)."""
    if not _USER_ID.fullmatch(user):
        return text, blocks
    note = TEXTS[language(question)]["shared"].format(user=user)
    return f"{note}\n{text}", [{"type": "context", "elements": [_mrkdwn(note)]}] + blocks


def phrase(key: str, question: str = "", **fields) -> str:
    """A short message (``usage``, ``thanks``, ``refused``, ``rebuilt``, ...) in the language of
    ``question``; ``fields`` are escaped."""
    return TEXTS[language(question)][key].format(**{k: escape(str(v)) for k, v in fields.items()})


def notice(key: str, question: str = "", **fields) -> tuple[str, list[dict]]:
    """``phrase``'s message as an answer: (text, blocks)."""
    text = phrase(key, question, **fields)
    return text, [{"type": "section", "text": _mrkdwn(text)}]


def home(status: dict) -> dict:
    """The App Home tab: index status and how to ask."""
    built = status.get("built_at") or "?"
    return {"type": "home", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "notebot"}},
        {"type": "section", "text": _mrkdwn(
            f"*インデックス / Index*\nノート数 notes: *{status['notes']}*\n"
            f"最終ビルド last build: {escape(built)}")},
        {"type": "divider"},
        {"type": "section", "text": _mrkdwn(
            "*使い方 / How to ask*\n"
            "• チャンネルで `@notebot GILって何？` とメンション（スレッドで答えます）\n"
            "• このアプリにDMで質問\n"
            "• `/notes 質問` で自分だけに表示。「チャンネルに共有」ボタンで共有\n"
            "• 管理者は `/notes reindex` でインデックスを再構築\n"
            "Mention me in a channel, send me a DM, or type `/notes your question` "
            "(only you see the answer until you share it). Admins: `/notes reindex`.")},
    ]}
