"""``notebot console``: driven through a real pseudo-terminal (line editing, history, colour,
more results, opening a note), and piped (plain text, one command per line)."""
import io
import os
import re

import pexpect
import pytest

from bot import console
from conftest import NOTEBOT, run_module
from index import store
from index.live import LiveSearcher
from index.search import Hit

GIL_TITLE = "PythonのGlobal Interpreter Lock (GIL) について"
# prompt_toolkit turns bracketed paste on when a prompt starts and off when Enter ends it.
PROMPT_START, PROMPT_END = "\x1b[?2004h", "\x1b[?2004l"
# Any CSI escape sequence: what a terminal consumes as a control instead of showing.
_CSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


def shown(raw: str) -> str:
    """What a terminal shows of ``raw`` (escape sequences consumed, not printed)."""
    return _CSI.sub("", raw).replace("\r", "")


@pytest.fixture
def spawn(corpus, built, tmp_path):
    """spawn(*args, **env) -> a ``notebot console`` on a pseudo-terminal, already prompting."""
    children = []

    def start(*args, **env):
        child = pexpect.spawn(
            NOTEBOT[0], ["console", "--corpus", str(corpus), "--index", str(built), *args],
            env=dict(os.environ, TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1", **env),
            encoding="utf-8", codec_errors="replace", dimensions=(50, 200), timeout=60,
            cwd=str(tmp_path))
        child.logfile_read = io.StringIO()  # everything shown, for tests that look back
        children.append(child)
        child.expect(r"notebot: \d+ notes\. Ask a question")
        child.expect_exact(PROMPT_START)
        child.expect_exact("notes>")
        return child

    yield start
    for child in children:
        if child.isalive():
            child.terminate(force=True)


def ask(child, line: str) -> str:
    """Type ``line`` and Enter; what the console printed before its next prompt."""
    child.send(line + "\r")
    child.expect_exact(PROMPT_END)
    child.expect_exact(PROMPT_START)
    printed = child.before
    child.expect_exact("notes>")
    return printed


def test_a_question_gets_numbered_results_with_the_matched_words_highlighted(spawn):
    child = spawn()
    raw = ask(child, "GILって何？")
    screen = shown(raw)
    assert "1. " + GIL_TITLE in screen
    assert "[python/gil.md, 2019-05-01, https://example.com/gil]" in screen
    assert console.BOLD_YELLOW + "GIL" + console.RESET in raw
    child.send("q\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_titles_are_shown_whole_in_colour(spawn):
    # every escape sequence in a result is a colour (SGR) that the terminal does not print
    raw = ask(spawn(), "GILって何？")
    block = raw[raw.index("1. "):]
    assert all(seq.endswith("m") for seq in _CSI.findall(block)), _CSI.findall(block)
    assert GIL_TITLE in shown(block)


def test_more_results_and_opening_a_note(spawn):
    child = spawn("-k", "1")
    first = shown(ask(child, "スレッド"))
    assert "1. " + GIL_TITLE in first and "2. " not in first
    more = shown(ask(child, "m"))
    assert "2. " in more and "1. " not in more
    opened = shown(ask(child, "o 1"))
    assert f"# {GIL_TITLE}" in opened and "[python/gil.md]" in opened
    assert "I/O待ちの多い処理なら、スレッドでも効果がある。" in opened  # the whole note
    assert "Which note?" in shown(ask(child, "o 9"))
    assert "Which note?" in shown(ask(child, "o ²"))  # a digit to str.isdigit, not to int()
    assert "more results for the last question" in shown(ask(child, "h"))
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_line_editing_and_history(spawn):
    child = spawn()
    # type, fix a typo with backspace and the arrow keys, then Enter
    child.send("GIX")
    child.send("\x7f")               # backspace
    child.send("Lって何")
    child.send("\x1b[D\x1b[D\x1b[C\x1b[C")  # left, left, right, right
    screen = shown(ask(child, "？"))
    assert "1. " + GIL_TITLE in screen
    ask(child, "h")
    child.send("\x1b[A\x1b[A")        # up twice: back to the question
    assert "1. " + GIL_TITLE in shown(ask(child, ""))
    child.send("半分だけ")
    child.sendcontrol("c")            # Ctrl-C drops the line, the console goes on
    child.expect_exact(PROMPT_START)
    child.expect_exact("notes>")
    child.send("q\r")
    child.expect(pexpect.EOF)
    # the history outlives the session: up, past "q", to the question
    child = spawn()
    child.send("\x1b[A\x1b[A")
    assert "1. " + GIL_TITLE in shown(ask(child, ""))


def test_a_history_that_cannot_be_written_is_kept_in_memory(spawn, built):
    (built / "console-history").mkdir()  # unwritable even for root, like a read-only index
    child = spawn()
    ask(child, "GILって何？")
    child.send("\x1b[A")  # up: the question, from the history in memory
    assert "1. " + GIL_TITLE in shown(ask(child, ""))
    child.send("q\r")
    child.expect(pexpect.EOF)
    screen = shown(child.logfile_read.getvalue())
    assert "Unhandled exception" not in screen and "Traceback" not in screen
    assert screen.count(f"notebot: warning: cannot keep the history in {built}") == 1


def test_no_color_is_respected(spawn):
    raw = ask(spawn(NO_COLOR="1"), "GILって何？")
    block = raw[raw.index("1. "):]
    assert _CSI.findall(block) == []


def test_the_console_writes_nothing_outside_its_index_directory(spawn, tmp_path):
    before = set(tmp_path.iterdir())
    child = spawn()
    ask(child, "GILって何？")
    child.send("q\r")
    child.expect(pexpect.EOF)
    assert set(tmp_path.iterdir()) == before


def test_piped_the_console_reads_commands_and_prints_plain_text(corpus, built):
    commands = "GILって何？\nm\no 1\no ²\no x\nh\n\n\xff\nq\nthis line is never read\n"
    result = run_module("console", "--corpus", corpus, "--index", built,
                        stdin=commands.encode("utf-8", "surrogateescape").replace(
                            "\xff".encode(), b"\xff"))
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, err
    assert "Traceback" not in err
    assert "\x1b" not in out
    assert "1. " + GIL_TITLE in out
    assert f"# {GIL_TITLE}\n[python/gil.md]" in out
    assert "more results for the last question" in out
    assert "never read" not in out


def test_piped_input_with_a_byte_order_mark_starts_with_its_first_command(corpus, built):
    result = run_module("console", "--corpus", corpus, "--index", built,
                        stdin="\ufeffq\nGILって何？\n".encode())
    assert result.returncode == 0 and result.stdout.decode() == ""


@pytest.mark.parametrize("line", ["", "   ", "o", "o 0", "o -1", "o 99", "o ²", "o ١", "m", "more",
                                  "\x00\x1b[2J", "😀" * 1000, "<!channel>", "q" * 10_000])
def test_no_input_line_breaks_the_console(built, line):
    out = io.StringIO()
    con = console.Console(LiveSearcher(built), out=out)
    assert con.handle(line) is True
    assert con.handle("GILって何？") is True
    assert con.handle(line) is True
    assert "1. " + GIL_TITLE in out.getvalue()


@pytest.mark.parametrize("line", ["exit GILって何", "q GIL", "quit GIL", "help me with GIL",
                                  "h GIL", "? GIL", "more GILのこと", "m GIL",
                                  "open GIL", "o 1 GIL"])
def test_a_command_word_followed_by_more_text_is_a_question(built, line):
    out = io.StringIO()
    con = console.Console(LiveSearcher(built), out=out)
    assert con.handle(line) is True
    assert "1. " + GIL_TITLE in out.getvalue()
    assert con.handle("exit code 137って何") is True  # not a way out
    assert con.handle("GIL") is True


@pytest.mark.parametrize("line", ["o x", "o GIL", "o ²"])
def test_o_with_one_word_is_the_open_command(built, line):
    out = io.StringIO()
    con = console.Console(LiveSearcher(built), out=out)
    con.handle("GILって何？")
    con.handle(line)
    assert out.getvalue().splitlines()[-1] == "Which note? Type o 1 to o 1."


def test_the_console_answers_from_an_index_built_while_it_runs(corpus, built):
    out = io.StringIO()
    con = console.Console(LiveSearcher(built), out=out)
    con.handle("Terraform")
    assert "見つかりませんでした" in out.getvalue()
    (corpus / "new").mkdir()
    (corpus / "new" / "tf.md").write_text("# Terraformのモジュール\nモジュールで設定を分ける。\n",
                                          encoding="utf-8")
    store.build(corpus, built)  # as `notebot build` in another shell
    con.handle("Terraform")
    assert "new/tf.md" in out.getvalue()
    con.handle("o 1")
    assert "モジュールで設定を分ける" in out.getvalue()


def test_highlight_marks_each_word_once_even_when_words_overlap():
    text = "http.Clientとhttpの話"
    marked = console.highlight(text, ["http", "http.Client", "Client"], color=True)
    b, r = console.BOLD_YELLOW, console.RESET
    assert marked == f"{b}http.Client{r}と{b}http{r}の話"
    assert console.highlight(text, ["http"], color=False) == text


def test_results_render_as_plain_text_without_colour():
    hit = Hit("python/gil.md", GIL_TITLE, 2.5, 0.71, "GILという。", ("GIL",), None, "2019-05-01",
              ())
    assert console.render_hits([hit]) == (f"1. {GIL_TITLE}  [python/gil.md, 2019-05-01]  "
                                          "score 2.50, confidence 0.71\n   GILという。")
    assert "見つかりませんでした" in console.render_hits([])


def test_lines_pasted_at_once_are_asked_one_by_one(spawn):
    child = spawn()
    child.send("\x1b[200~GILって何？\r70007エラー\rGoのクロスコンパイル\x1b[201~")
    printed = shown(ask(child, ""))
    for title in (GIL_TITLE, "Apache HTTPDの70007エラー", "Go 1.5のクロスコンパイル"):
        assert "1. " + title in printed
