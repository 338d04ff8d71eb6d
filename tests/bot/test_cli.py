"""``notebot`` as its users run it: in-process for most cases, as a real process where the
process boundary matters (bytes on argv and stdin, a closed pipe, the README's commands)."""
import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios

import pytest

from conftest import NOTEBOT, NOTES, REPO, SHIPPED_CORPUS, run_module, write_note
from bot import cli
from index import store

# ---------------------------------------------------------------- the shipped corpus

def test_readme_first_commands_put_the_gil_note_first(tmp_path):
    """``notebot build`` then ``notebot ask "GILって何？"``, run where the README runs them."""
    env = dict(os.environ, NOTEBOT_INDEX=str(tmp_path / "index"))
    build = run_module("build", cwd=REPO, env=env)
    assert build.returncode == 0, build.stderr
    assert b"30 added" in build.stdout
    ask = run_module("ask", "GILって何？", cwd=REPO, env=env)
    assert ask.returncode == 0, ask.stderr
    first = ask.stdout.decode().splitlines()[0]
    assert first.startswith("1. PythonのGlobal Interpreter Lock (GIL) について  [python/gil.md")
    assert ask.stderr == b""  # the index was fresh: nothing to say


@pytest.fixture(scope="module")
def shipped_index(tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("shipped") / "index"
    store.build(SHIPPED_CORPUS, index_dir)
    return index_dir


@pytest.mark.parametrize("question, first", [
    ("GILって何？", "python/gil.md"),
    ("70007エラー", "tools/apache-httpd-70007.md"),
    ("oslo_service", "openstack/oslo-service-eventlet.md"),
    ("http.Clientのサンプル", "go/http-client-sample.md"),
    ("Go 1.5 クロスコンパイル", "go/cross-compile.md"),
    ("サーバー向け半導体", "misc/server-semiconductor-share.md"),
    ("QEMUのライブマイグレーション", "misc/qemu-live-migration.md"),
    ("Linuxの起動", "misc/linux-boot-process.md"),
])
def test_shipped_corpus_answers(run_cli, shipped_index, question, first):
    result = run_cli(["ask", "--json", question, "--corpus", SHIPPED_CORPUS,
                      "--index", shipped_index])
    assert result.rc == 0, result.err
    assert json.loads(result.out)["results"][0]["path"] == first


# ---------------------------------------------------------------- ask --json: the contract

RESULT_KEYS = {"path", "title", "score", "confidence", "excerpt", "url", "date"}


def parse_json_lines(out: str) -> list[dict]:
    lines = out.splitlines()
    objects = [json.loads(line) for line in lines]
    for obj in objects:
        assert set(obj) == {"question", "answered", "results"}
        assert isinstance(obj["answered"], bool)
        assert obj["answered"] is False or obj["results"]
        scores = [r["score"] for r in obj["results"]]
        assert scores == sorted(scores, reverse=True)
        for r in obj["results"]:
            assert set(r) == RESULT_KEYS
            assert isinstance(r["score"], (int, float)) and r["score"] > 0
            assert 0 < r["confidence"] <= 1
            assert isinstance(r["excerpt"], str) and len(r["excerpt"]) <= 200
            for markup in ("**", "](", "<div", "</", "```", "\x1b"):
                assert markup not in r["excerpt"], (markup, r["excerpt"])
            assert r["url"] is None or isinstance(r["url"], str)
            assert r["date"] is None or isinstance(r["date"], str)
    return objects


@pytest.mark.parametrize("k", [1, 2, 3, 50])
def test_json_has_at_most_k_results_best_first(run_cli, corpus, k):
    result = run_cli(["ask", "--json", "-k", k, "スレッドとサーバー", "--corpus", corpus])
    [obj] = parse_json_lines(result.out)
    assert obj["question"] == "スレッドとサーバー"
    assert 1 <= len(obj["results"]) <= k


def test_json_result_fields(run_cli, corpus):
    result = run_cli(["ask", "--json", "GILって何？", "--corpus", corpus])
    [obj] = parse_json_lines(result.out)
    top = obj["results"][0]
    assert top["path"] == "python/gil.md"
    assert top["title"] == "PythonのGlobal Interpreter Lock (GIL) について"
    assert (top["url"], top["date"]) == ("https://example.com/gil", "2019-05-01")
    assert "Global Interpreter Lock (GIL)" in top["excerpt"]


def test_markup_never_reaches_an_excerpt(run_cli, corpus):
    for question in ["注意書き", "太字と斜体", "リンクの文字", "表の中の文章", "コードブロック"]:
        result = run_cli(["ask", "--json", question, "--corpus", corpus])
        [obj] = parse_json_lines(result.out)
        assert obj["results"][0]["path"] == "misc/markup.md", question


def test_one_json_object_per_question_read_from_stdin(run_cli, corpus):
    questions = ["GILって何？", "", "   ", "xyzzy plugh", "70007", "\t", "oslo_service"]
    result = run_cli(["ask", "--json", "--corpus", corpus], stdin="\n".join(questions) + "\n")
    assert result.rc == 0, result.err
    objects = parse_json_lines(result.out)
    assert [o["question"] for o in objects] == [q for q in questions if q.strip()]
    assert objects[0]["results"][0]["path"] == "python/gil.md"
    assert objects[1]["results"] == []
    assert objects[2]["results"][0]["path"] == "tools/apache-70007.md"


HOSTILE_QUESTIONS = {
    "1 MB": "GILって何？" + "あ" * 1_000_000,
    "control characters": "GIL\x00\x01\x1b[31mって\x07何？\x7f",
    "emoji": "🐍 GILって何？😀👍🏽🇯🇵",
    "Slack channel ping": "<!channel> GILって何？",
    "Slack mention and link": "<@U012ABCDEF> <https://example.com|GIL>って何？",
    "only punctuation": "？？？！！！、、、。。。",
    "zero-width and bidi": "\u200bG\u200dIL\u202eって何？\ufeff",
    "full-width": "ＧＩＬって何？",
    "SQL and shell": "'; DROP TABLE notes; -- $(rm -rf /) `id`",
    "very long word": "ア" * 100_000,
}


@pytest.mark.parametrize("question", HOSTILE_QUESTIONS.values(), ids=HOSTILE_QUESTIONS.keys())
def test_hostile_questions_on_the_command_line(run_cli, corpus, question):
    result = run_cli(["ask", "--json", "-k", "2", question, "--corpus", corpus])
    assert result.rc == 0, result.err
    assert "Traceback" not in result.err
    [obj] = parse_json_lines(result.out)
    assert len(obj["results"]) <= 2
    if "GIL" in question or "ＧＩＬ" in question:
        assert obj["results"][0]["path"] == "python/gil.md"


def test_hostile_questions_on_stdin(tmp_path, corpus, built):
    lines = [*HOSTILE_QUESTIONS.values(), "GIL\ud800って何？\udfff"]  # lone surrogates
    data = b"\n".join(q.encode("utf-8", "surrogatepass") for q in lines)
    data += b"\nGIL\xff\xfe\xc3(\x80\xe3\x81\n"  # invalid UTF-8
    data += b"\r\nGIL\xe3\x81\xa3\xe3\x81\xa6\xe4\xbd\x95\xef\xbc\x9f\r\n"  # CRLF line ends
    result = run_module("ask", "--json", "--corpus", corpus, "--index", built, stdin=data)
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    objects = parse_json_lines(result.stdout.decode("utf-8"))
    assert len(objects) == len(lines) + 2
    assert objects[-2]["question"].startswith("GIL\ufffd")
    assert objects[-2]["results"][0]["path"] == "python/gil.md"
    assert objects[-1]["question"] == "GILって何？"


def test_json_escapes_the_unicode_line_separators(run_cli, corpus):
    question = "GIL\u2028って\u2029何？"
    result = run_cli(["ask", "--json", question, "--corpus", corpus])
    assert "\u2028" not in result.out and "\u2029" not in result.out
    [line] = result.out.split("\n")[:-1]  # one record, even for readers that split at U+2028
    assert "\\u2028" in line and json.loads(line)["question"] == question


def test_a_byte_order_mark_on_stdin_is_not_part_of_the_first_question(run_cli, corpus):
    result = run_cli(["ask", "--json", "--corpus", corpus], stdin="\ufeffGILって何？\nGIL\n")
    assert [o["question"] for o in parse_json_lines(result.out)] == ["GILって何？", "GIL"]


def test_invalid_utf8_on_the_command_line(corpus, built):
    result = run_module("ask", "--json", os.fsdecode(b"GIL\xff\xfe\xe3\x81"), "--corpus", corpus,
                        "--index", built)
    assert result.returncode == 0, result.stderr
    [obj] = parse_json_lines(result.stdout.decode("utf-8"))
    assert obj["question"] == "GIL\ufffd\ufffd\ufffd"
    assert obj["results"][0]["path"] == "python/gil.md"


def test_plain_output_numbers_results_and_labels_questions_from_stdin(run_cli, corpus):
    result = run_cli(["ask", "--corpus", corpus], stdin="GILって何？\nホゲホゲ\n")
    blocks = result.out.split("\n\n")
    assert blocks[0].startswith("Q: GILって何？\n1. PythonのGlobal Interpreter Lock (GIL)")
    assert blocks[1].startswith("Q: ホゲホゲ\n該当するノートが見つかりませんでした。")


def test_a_reader_that_goes_away_is_not_an_error(corpus, built, tmp_path):
    """``notebot ask --json < questions | head -1``"""
    (tmp_path / "questions").write_bytes("GILって何？\n".encode() * 20_000)
    with open(tmp_path / "questions", "rb") as questions:
        process = subprocess.Popen(
            [*NOTEBOT, "ask", "--json", "--corpus", corpus, "--index", built],
            stdin=questions, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read()
    process.wait(timeout=120)
    assert json.loads(first)["results"][0]["path"] == "python/gil.md"
    assert b"Traceback" not in err and b"Exception ignored" not in err
    assert process.returncode == 0


# ---------------------------------------------------------------- bad usage

@pytest.mark.parametrize("argv", [
    [],
    ["bogus"],
    ["ask", ""],
    ["ask", "   \t "],
    ["ask", "-k", "0", "GIL"],
    ["ask", "-k", "-3", "GIL"],
    ["ask", "-k", "many", "GIL"],
    ["ask", "--frobnicate", "GIL"],
    ["build", "--corpus", "no/such/dir"],
    ["ask", "GIL", "--corpus", "no/such/dir"],
    ["build", "--index", "FILE"],
    ["console", "-k", "x"],
])
def test_bad_usage_exits_2_with_one_line_on_stderr(run_cli, corpus, tmp_path, argv):
    (tmp_path / "FILE").write_text("not a directory")
    argv = [str(tmp_path / "FILE") if a == "FILE" else a for a in argv]
    if argv[:1] in (["build"], ["console"]) and "--corpus" not in argv:
        argv += ["--corpus", corpus]
    result = run_cli(argv)
    assert result.rc == 2
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("notebot: "), result.err
    assert "Traceback" not in result.err


def test_bad_usage_as_a_real_process(tmp_path):
    result = run_module("ask", "-k", "zero", "GIL", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == b""
    assert len(result.stderr.decode().splitlines()) == 1


# ---------------------------------------------------------------- build, settings, damage

def test_build_prints_a_one_line_summary_and_warnings_on_stderr(run_cli, corpus):
    write_note(corpus, "bad/binary.md", b"\x00\x01\x02")
    result = run_cli(["build", "--corpus", corpus])
    assert result.rc == 0
    assert result.out.splitlines() == [result.out.strip()]
    assert result.out.startswith(f"full build: {len(NOTES)} added, 0 changed, 0 removed, "
                                 "1 skipped")
    assert "notebot: warning: bad/binary.md: skipped: looks binary" in result.err
    again = run_cli(["build", "--corpus", corpus])
    assert again.out.startswith("build: 0 added, 0 changed, 0 removed, 1 skipped, "
                                f"{len(NOTES)} unchanged")
    (corpus / "go/cross-compile.md").unlink()
    full = run_cli(["build", "--full", "--corpus", corpus])
    assert full.out.startswith(f"full build: {len(NOTES) - 1} added, 0 changed, 0 removed, "
                               "1 skipped, 0 unchanged")


def test_a_build_shows_a_progress_bar_on_a_terminal_and_nowhere_else(run_cli, corpus, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setattr(cli, "PROGRESS_AFTER_S", 0)  # (a build this small takes less)
    piped = run_cli(["build", "--corpus", corpus, "--index", tmp_path / "piped"])
    assert piped.err == ""  # scripts and logs get the summary alone
    assert piped.out.startswith(f"full build: {len(NOTES)} added")
    master, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    with open(terminal, "w", encoding="utf-8") as tty, monkeypatch.context() as m:
        m.setattr(sys, "stderr", tty)
        assert cli.main(["build", "--corpus", str(corpus), "--index", str(tmp_path / "tty")]) == 0
    os.set_blocking(master, False)
    shown = b""
    while True:
        try:
            shown += os.read(master, 65536)
        except (BlockingIOError, OSError):  # (read all, or the terminal's end closed)
            break
    os.close(master)
    last = shown.replace(b"\r\n", b"\n").split(b"\r")[-1]  # the bar as left, a line of its own
    assert last.startswith(b"notebot: analysing: 100%") and last.endswith(b"\n")
    assert f" {len(NOTES)}/{len(NOTES)} ".encode() in last


def test_ask_builds_a_missing_index_first_and_says_so(run_cli, corpus, index_dir):
    result = run_cli(["ask", "GILって何？", "--corpus", corpus])
    assert result.rc == 0
    assert (index_dir / "CURRENT").exists()  # NOTEBOT_INDEX
    assert result.err.startswith("notebot: index out of date")
    assert "full build:" in result.err
    assert run_cli(["ask", "GILって何？", "--corpus", corpus]).err == ""


def test_ask_updates_a_stale_index(run_cli, corpus):
    run_cli(["build", "--corpus", corpus])
    write_note(corpus, "new/kubernetes.md", "# Kubernetesのポッド\nポッドはコンテナの単位。\n")
    result = run_cli(["ask", "--json", "ポッド", "--corpus", corpus])
    assert json.loads(result.out)["results"][0]["path"] == "new/kubernetes.md"
    assert "1 new, 0 changed, 0 removed" in result.err


def test_settings_come_from_flags_then_environment_then_defaults(run_cli, corpus, tmp_path,
                                                                 monkeypatch):
    other = tmp_path / "other"
    write_note(other, "k8s.md", "# Kubernetesのポッド\nポッドはコンテナの単位。\n")
    monkeypatch.setenv("NOTEBOT_CORPUS", str(other))
    from_env = run_cli(["ask", "--json", "ポッド"])
    assert json.loads(from_env.out)["results"][0]["path"] == "k8s.md"
    from_flag = run_cli(["ask", "--json", "GIL", "--corpus", corpus, "--index", tmp_path / "i2"])
    assert json.loads(from_flag.out)["results"][0]["path"] == "python/gil.md"
    assert (tmp_path / "i2" / "CURRENT").exists()
    monkeypatch.delenv("NOTEBOT_INDEX")
    run_cli(["build", "--corpus", corpus])
    cached = list((tmp_path / "cache" / "notebot").glob("index-corpus-*/CURRENT"))
    assert len(cached) == 1  # the default index lives in XDG_CACHE_HOME, outside the package


@pytest.mark.parametrize("command", [["ask", "GIL"], ["console"], ["eval", "questions.tsv"]])
def test_a_synonyms_file_that_is_not_utf8_is_refused_in_one_line(run_cli, corpus, tmp_path,
                                                                   monkeypatch, command):
    (tmp_path / "questions.tsv").write_text("GIL\tpython/gil.md\n", encoding="utf-8")
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_bytes("データベース, DB\n".encode("shift_jis"))
    monkeypatch.setenv("NOTEBOT_SYNONYMS", str(synonyms))
    result = run_cli([*command, "--corpus", corpus])
    assert (result.rc, result.out) == (2, "")
    [line] = result.err.splitlines()
    assert line.startswith(f"notebot: NOTEBOT_SYNONYMS {synonyms}: not UTF-8")


def test_a_full_disk_on_standard_output_is_one_line(corpus, built):
    with open("/dev/full", "wb") as full:
        result = subprocess.run([*NOTEBOT, "ask", "GIL", "--corpus", corpus,
                                 "--index", built], stdout=full, stderr=subprocess.PIPE,
                                timeout=120)
    assert result.returncode == 1
    assert result.stderr.decode() == "notebot: No space left on device\n"


def test_an_index_under_a_file_is_bad_usage_in_one_line(run_cli, corpus, tmp_path):
    (tmp_path / "FILE").write_text("not a directory")
    result = run_cli(["build", "--corpus", corpus, "--index", tmp_path / "FILE" / "index"])
    assert result.rc == 2 and result.err.count("\n") == 1
    assert f"'{tmp_path / 'FILE'}' is a file" in result.err


def test_an_index_whose_folder_does_not_exist_is_not_made_silently(run_cli, corpus, tmp_path):
    result = run_cli(["build", "--corpus", corpus, "--index", tmp_path / "typo" / "index"])
    assert result.rc == 2 and "does not exist" in result.err
    assert not (tmp_path / "typo").exists()


def test_a_corpus_that_is_a_file_is_named_as_such(run_cli, tmp_path):
    (tmp_path / "notes.md").write_text("# メモ\n")
    result = run_cli(["build", "--corpus", tmp_path / "notes.md"])
    assert result.rc == 2 and "is a file, not a directory of notes" in result.err


def test_the_words_of_an_unquoted_question_are_one_question(run_cli, corpus):
    result = run_cli(["ask", "--json", "GILって", "何？", "--corpus", corpus])
    [line] = result.out.splitlines()
    assert json.loads(line)["question"] == "GILって 何？"


def test_version(run_cli, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("notebot ")


def test_an_empty_corpus_builds_with_a_warning(run_cli, tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_cli(["build", "--corpus", tmp_path / "empty"])
    assert result.rc == 0 and "warning: no notes (*.md, *.markdown, *.txt) in" in result.err


def test_eval_warns_about_an_expected_note_that_does_not_exist(run_cli, corpus, tmp_path):
    questions = tmp_path / "q.tsv"
    questions.write_text("GILって何？\tpython/gill.md\nGoのhttp.Client\tGo言語のhttp.Clientの使い方\n",
                         encoding="utf-8")
    result = run_cli(["eval", questions, "--corpus", corpus])
    assert "line 1: no note has the path or title 'python/gill.md'" in result.err
    assert "line 2" not in result.err  # a title is as good as a path


@pytest.mark.parametrize("encoding", ["utf-16", "shift_jis"])
def test_eval_refuses_a_file_that_is_not_utf8(run_cli, corpus, tmp_path, encoding):
    questions = tmp_path / "questions.tsv"
    questions.write_text("GILって何？\tpython/gil.md\n", encoding=encoding)
    result = run_cli(["eval", questions, "--corpus", corpus])
    assert (result.rc, result.out) == (2, "")
    assert result.err == f"notebot: {questions} is not UTF-8: save it as UTF-8\n"


def test_eval_reads_utf8_with_a_byte_order_mark(run_cli, corpus, tmp_path):
    questions = tmp_path / "questions.tsv"
    questions.write_text("GIL\tgo/cross-compile.md\n", encoding="utf-8-sig")
    result = run_cli(["eval", questions, "--corpus", corpus])
    assert result.rc == 0
    assert "miss (line 1, not in the top 10): GIL\n" in result.out


def test_eval_prints_questions_without_terminal_escapes(run_cli, corpus, tmp_path):
    questions = tmp_path / "questions.tsv"
    questions.write_text("\x1b]0;HACKED\x07\x1b[2JGIL\tgo/\x1b[31mcross-compile.md\n",
                         encoding="utf-8")
    result = run_cli(["eval", questions, "--corpus", corpus])
    assert result.rc == 0
    assert "miss (line 1, " in result.out and "HACKED" in result.out
    assert "\x1b" not in result.out and "\x07" not in result.out


def test_a_damaged_index_is_rebuilt_by_ask_without_a_traceback(corpus, built):
    (built / "CURRENT").write_bytes(b"\xff\xfe garbage")
    result = run_module("ask", "--json", "GILって何？", "--corpus", corpus, "--index", built)
    assert result.returncode == 0
    assert json.loads(result.stdout)["results"][0]["path"] == "python/gil.md"
    err = result.stderr.decode()
    assert err.startswith("notebot: index out of date (") and "full build:" in err
    assert "Traceback" not in err


def test_a_question_from_stdin_is_echoed_without_terminal_escapes(run_cli, corpus):
    result = run_cli(["ask", "--corpus", corpus], stdin="\x1b[2J\x1b]0;pwned\x07GIL\n")
    assert result.rc == 0
    assert "Q: " in result.out and "\x1b" not in result.out and "\x07" not in result.out


def test_no_control_character_from_a_note_reaches_the_terminal(run_cli, tmp_path):
    corpus = tmp_path / "corpus"
    write_note(corpus, "evil\x1b[2J.md", "---\ntitle: 端末のメモ\nurl: \"http://x/\\e]0;pwned\\a\"\n"
               "date: \"\\e[31m2020-01-01\"\ntags: [\"\\e[5mblink\"]\n---\n端末を壊すメモ。\n")
    write_note(corpus, "bad\x1b[31m.md", b"\xff\xfe\x1b[2J")  # invalid UTF-8: a warning
    outputs = [run_cli(["build", "--corpus", corpus]),
               run_cli(["ask", "端末", "--corpus", corpus]),
               run_cli(["ask", "--corpus", corpus], stdin="端末\x1b[2J\n"),
               run_cli(["doctor", "--offline", "--corpus", corpus]),
               run_cli(["console", "--corpus", corpus], stdin="端末\no 1\n")]
    assert "bad" in outputs[0].err and "evil" in outputs[1].out + outputs[4].out
    for result in outputs:
        for control in ("\x1b", "\x07"):
            assert control not in result.out + result.err
