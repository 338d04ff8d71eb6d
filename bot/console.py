"""The local console: ask questions in a terminal, no Slack needed.

On a terminal it offers line editing and history (prompt_toolkit), highlights the matched words,
``m`` shows more results, ``o N`` opens note N whole. Piped, it reads one question per line and
prints plain text.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from index import DEFAULT_MIN_CONFIDENCE, Hit, LiveSearcher, answered, marked, printable

from .reply import language

HELP = """Type a question and press Enter.
  m, more     more results for the last question
  o N, open N show note N in full
  h, help     this help
  q, quit     leave (Ctrl-D works too)"""
BOLD, BOLD_YELLOW, RESET = "\033[1m", "\033[1;33m", "\033[0m"
NOT_ANSWERED = {"ja": "確信を持って答えられるノートはありません。近いノート（弱い一致）:",
                "en": "No note answers this confidently. The closest notes (weak matches):"}
WEAK = {"ja": "（弱い一致）", "en": " (weak match)"}


def highlight(text: str, words, color: bool) -> str:
    """``text`` with each of ``words`` emphasised (ANSI colour, or nothing when not ``color``)."""
    return marked(text, words, lambda w: f"{BOLD_YELLOW}{w}{RESET}") if color else text


def render_hits(hits: list[Hit], color: bool = False, start: int = 1, weak: str = "") -> str:
    """Results as numbered plain-text blocks; ``weak`` marks each title as a weak match."""
    if not hits:
        return "該当するノートが見つかりませんでした。 (no matching notes)"
    blocks = []
    for n, h in enumerate(hits, start):
        title = f"{BOLD}{h.title}{RESET}" if color else h.title
        meta = printable(", ".join(x for x in (h.path, h.date, h.url) if x))
        blocks.append(f"{n}. {title}{weak}  [{meta}]  score {h.score:.2f}, "
                      f"confidence {h.confidence:.2f}\n"
                      f"   {highlight(h.excerpt, h.matched, color)}")
    return "\n".join(blocks)


def render_answer(question: str, hits: list[Hit], min_confidence: float,
                  color: bool = False, confident: bool | None = None) -> str:
    """The results for ``question``; when the first is not confident enough (or not
    ``confident``, for a later page), a line that says so first, and each marked weak."""
    if confident is None:
        confident = answered(hits, min_confidence)
    if confident or not hits:
        return render_hits(hits, color)
    lang = language(question)
    return f"{NOT_ANSWERED[lang]}\n{render_hits(hits, color, weak=WEAK[lang])}"


class Console:
    """The console's state: the searcher, the last question and how many results were shown."""

    def __init__(self, searcher: LiveSearcher, k: int = 3, out=sys.stdout, color: bool = False,
                 min_confidence: float = DEFAULT_MIN_CONFIDENCE):
        self.searcher, self.k, self.out, self.color = searcher, k, out, color
        self.min_confidence = min_confidence
        self.question, self.hits, self.confident = None, [], False

    def handle(self, line: str) -> bool:
        """Act on one input line; False when the user wants to leave."""
        line = line.strip()
        word, _, arg = line.partition(" ")
        arg = arg.strip()
        if not line:
            return True
        # a command is typed alone: "exit code 137って何" or "help me with GIL" is a question
        if line in ("q", "quit", "exit", ":q"):
            return False
        if line in ("h", "help", "?"):
            self.say(HELP)
        elif line in ("m", "more"):
            self.more()
        elif word == "o" and " " not in arg or word == "open" and (arg.isdigit() or not arg):
            self.open(arg)
        else:
            self.question = line
            self.hits = self.searcher.search(line, k=self.k)
            self.confident = answered(self.hits, self.min_confidence)
            self.say(render_answer(line, self.hits, self.min_confidence, self.color,
                                   confident=self.confident))
        return True

    def more(self):
        if self.question is None:
            self.say("Ask a question first.")
            return
        more = self.searcher.search(self.question, k=self.k, offset=len(self.hits))
        if not more:
            self.say("No more results.")
            return
        self.say(render_hits(more, self.color, start=len(self.hits) + 1,
                             weak="" if self.confident else WEAK[language(self.question)]))
        self.hits += more

    def open(self, arg: str):
        # isdecimal, not isdigit: "²" is a digit that int() refuses
        if not arg.isdecimal() or not 1 <= int(arg) <= len(self.hits):
            self.say(f"Which note? Type o 1 to o {len(self.hits)}." if self.hits
                     else "Ask a question first.")
            return
        hit = self.hits[int(arg) - 1]
        doc = self.searcher.doc_by_path(hit.path)
        if doc is None:
            self.say(f"{printable(hit.path)} is no longer in the index; ask again.")
            return
        self.say(f"# {doc['title']}\n[{printable(hit.path)}]\n\n"
                 f"{highlight(doc['text'], hit.matched, self.color)}")

    def say(self, text: str):
        print(text, file=self.out, flush=True)


def run(searcher: LiveSearcher, k: int = 3, history: Path | None = None,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> int:
    """Run the console until end of input or ``quit``."""
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    color = interactive and not os.environ.get("NO_COLOR")
    console = Console(searcher, k=k, color=color, min_confidence=min_confidence)
    if not interactive:
        for raw in sys.stdin.buffer:
            if not console.handle(raw.decode("utf-8-sig", errors="replace")):  # -sig: no BOM
                break
        return 0
    from prompt_toolkit import PromptSession

    session = PromptSession(history=_history(history))
    print(f"notebot: {searcher.status()['notes']} notes. Ask a question; h for help, q to quit.")
    while True:
        try:
            text = session.prompt("notes> ")
        except KeyboardInterrupt:
            continue
        except EOFError:
            return 0
        for line in text.splitlines() or [""]:  # several lines pasted at once: one by one
            if not console.handle(line):
                return 0


def _history(path: Path | None):
    """The history kept in ``path``; in memory, with a warning, when ``path`` can't be written
    (a read-only index directory): prompt_toolkit would fail on every line."""
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    if path is None:
        return InMemoryHistory()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab"):
            pass
    except OSError as err:
        print(f"notebot: warning: cannot keep the history in {path} ({err.strerror or err}); "
              "it lasts for this session only", file=sys.stderr)
        return InMemoryHistory()
    return FileHistory(str(path))
