"""The index on disk: incremental builds, damage detection and repair, killed builds, and builds
running while questions are answered."""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import NOTEBOT, NOTES, bump_mtime, write_note
from index import analysis, generation, store
from index.errors import IndexUnusable
from index.analyzer import Analyzer
from index.search import Searcher

N = len(NOTES)


def top_paths(index_dir, question, k=3):
    data = generation.load(index_dir)
    try:
        return [h.path for h in Searcher(data).search(question, k=k)]
    finally:
        data.close()


def current(index_dir: Path) -> Path:
    return index_dir / (index_dir / "CURRENT").read_text().strip()


class CountingAnalyzer(Analyzer):
    """Remembers every text it analysed (to see which notes a build read again)."""

    def __init__(self):
        super().__init__()
        self.texts = []

    def counts(self, text):
        self.texts.append(text)
        return super().counts(text)


# ---------------------------------------------------------------- incremental builds

def test_first_build_adds_every_note(corpus, index_dir):
    report = store.build(corpus, index_dir, workers=1)
    assert (report.full, report.added, report.changed, report.removed, report.skipped) == (
        True, N, 0, 0, 0)
    assert f"({N} notes)" in report.summary()
    assert top_paths(index_dir, "GILって何？")[0] == "python/gil.md"


def test_nothing_changed_means_nothing_analysed_and_no_new_generation(corpus, built):
    before = current(built)
    counting = CountingAnalyzer()
    report = store.build(corpus, built, analyzer=counting, workers=1)
    assert (report.full, report.added, report.changed, report.unchanged) == (False, 0, 0, N)
    assert counting.texts == []
    assert current(built) == before


def test_only_the_changed_note_is_analysed(corpus, built):
    path = write_note(corpus, "misc/server.md", "# サーバーの選び方\n新しいラックサーバーを導入した。\n")
    bump_mtime(path)
    counting = CountingAnalyzer()
    report = store.build(corpus, built, analyzer=counting, workers=1)
    assert (report.added, report.changed, report.removed, report.unchanged) == (0, 1, 0, N - 1)
    assert all("ラック" in t or "サーバー" in t for t in counting.texts), counting.texts
    assert top_paths(built, "ラックサーバー")[0] == "misc/server.md"
    assert "misc/server.md" not in top_paths(built, "ディスクの速さ")  # the old text is gone


def test_a_touched_but_unchanged_note_is_not_analysed(corpus, built):
    bump_mtime(corpus / "python/gil.md")
    counting = CountingAnalyzer()
    report = store.build(corpus, built, analyzer=counting, workers=1)
    assert (report.changed, report.unchanged) == (0, N)
    assert counting.texts == []


def test_added_and_removed_notes(corpus, built):
    write_note(corpus, "new/kubernetes.md", "# Kubernetesのポッド\nポッドはコンテナをまとめる単位。\n")
    (corpus / "go/http-client.md").unlink()
    report = store.build(corpus, built)
    assert (report.added, report.removed, report.unchanged) == (1, 1, N - 1)
    assert top_paths(built, "ポッド")[0] == "new/kubernetes.md"
    assert "go/http-client.md" not in top_paths(built, "http.Client")
    data = generation.load(built)
    try:
        assert data.doc_by_path("go/http-client.md") is None
        assert data.n_notes == N
    finally:
        data.close()


def test_a_renamed_note_is_found_under_its_new_name(corpus, built):
    (corpus / "python/gil.md").rename(corpus / "python/global-interpreter-lock.md")
    report = store.build(corpus, built)
    assert (report.added, report.removed) == (1, 1)
    assert top_paths(built, "GIL")[0] == "python/global-interpreter-lock.md"


def test_a_build_tells_its_progress_over_the_notes_it_analyses(corpus, built):
    calls = []
    write_note(corpus, "new/a.md", "# 新しいメモ\nスレッドの話。\n")
    store.build(corpus, built, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 1), (1, 1)]  # only the new note is analysed
    calls.clear()
    store.build(corpus, built, full=True, workers=1, progress=lambda *c: calls.append(c))
    assert calls[0] == (0, N + 1) and calls[-1] == (N + 1, N + 1) and len(calls) > 2
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_full_rebuilds_everything(corpus, built):
    counting = CountingAnalyzer()
    report = store.build(corpus, built, analyzer=counting, full=True, workers=1)
    assert (report.full, report.added, report.unchanged) == (True, N, 0)
    assert report.summary().startswith("full build:")
    assert len(counting.texts) == 2 * N  # title and body of every note


def test_old_generations_are_cleaned_up(corpus, built):
    for n in range(4):
        write_note(corpus, f"new/note{n}.md", f"# メモ{n}\n" + "本文。" * (n + 1))
        store.build(corpus, built)
    assert len(list(built.glob("gen-*"))) <= 2


def test_incremental_builds_answer_exactly_like_a_full_build(corpus, tmp_path):
    """Many small edits, built one at a time, must give the same index as building at the end."""
    incremental = tmp_path / "incremental"
    store.build(corpus, incremental)
    edits = [
        ("add", "new/a.md", "# スレッドの話\nスレッドとプロセスの違い。GILは関係ない。\n"),
        ("edit", "python/gil.md", "# GIL\nGILはPython 3.13で外せるようになった。スレッドが並列に動く。\n"),
        ("remove", "misc/server.md", None),
        ("add", "new/b.md", "# サーバーの監視\nサーバーのメモリとスレッド数を監視する。\n"),
        ("edit", "new/a.md", "# スレッドの話（改）\nスレッドとプロセスとコルーチンの違いをまとめた。\n"),
        ("remove", "go/cross-compile.md", None),
    ]
    for action, rel, text in edits:
        if action == "remove":
            (corpus / rel).unlink()
        else:
            bump_mtime(write_note(corpus, rel, text))
        store.build(corpus, incremental)
    full = tmp_path / "full"
    store.build(corpus, full)
    for question in ["GILって何？", "スレッド", "サーバーのメモリ", "Go 1.5", "プロセスの違い",
                     "oslo_service", "70007"]:
        a, b = generation.load(incremental), generation.load(full)
        try:
            hits_a = Searcher(a).search(question, k=10)
            hits_b = Searcher(b).search(question, k=10)
        finally:
            a.close()
            b.close()
        assert [h.path for h in hits_a] == [h.path for h in hits_b], question
        assert [h.score for h in hits_a] == pytest.approx([h.score for h in hits_b]), question
        assert [h.excerpt for h in hits_a] == [h.excerpt for h in hits_b], question


def test_titles_weigh_more_than_bodies(tmp_path):
    corpus = tmp_path / "c"
    write_note(corpus, "a.md", "# コンテナの話\n本文でKubernetesに触れる。\n")
    write_note(corpus, "b.md", "# Kubernetesの話\n本文でコンテナに触れる。\n")
    store.build(corpus, tmp_path / "i")
    assert top_paths(tmp_path / "i", "Kubernetes") == ["b.md", "a.md"]
    assert top_paths(tmp_path / "i", "コンテナ") == ["a.md", "b.md"]


def test_an_empty_corpus_builds_and_answers_nothing(tmp_path):
    (tmp_path / "empty").mkdir()
    report = store.build(tmp_path / "empty", tmp_path / "i")
    assert report.added == 0
    assert top_paths(tmp_path / "i", "GIL") == []


# ---------------------------------------------------------------- hostile note files

def hostile_corpus(root: Path):
    write_note(root, "python/gil.md", NOTES["python/gil.md"])
    write_note(root, "bad/invalid-utf8.md", "# 壊れた".encode() + b"\xff\xfe" + "文字コードのメモ\nエンコーディングが壊れている。\n".encode())
    write_note(root, "bad/binary.md", bytes(range(256)) * 4)
    write_note(root, "bad/empty.md", b"")
    write_note(root, "bad/front-matter.md", '---\ntitle: "閉じていない\ntags: [a\n---\n前付けが壊れたメモ。\n')
    write_note(root, "bad/not-a-mapping.md", "---\n- 一\n- 二\n---\n前付けがリストのメモ。\n")
    os.symlink("..", root / "bad" / "loop")
    os.symlink("self.md", root / "bad" / "self.md")
    (root / os.fsdecode(b"bad/name-\xff.md")).write_text("# 名前が壊れたメモ\nファイル名が不正。\n")
    with open(root / "bad/huge.md", "wb") as f:
        f.truncate(33 * 1024 * 1024)
    if os.path.exists("/proc/self/mem"):
        # root reads chmod 000 files; /proc/self/mem fails to read for anyone (EIO)
        os.symlink("/proc/self/mem", root / "bad" / "unreadable.md")


def test_hostile_note_files_are_warned_about_and_never_stop_a_build(tmp_path):
    corpus = tmp_path / "corpus"
    hostile_corpus(corpus)
    report = store.build(corpus, tmp_path / "i")
    text = "\n".join(report.warnings)
    for name in ["invalid-utf8.md", "binary.md", "front-matter.md", "loop", "self.md",
                 "name-\ufffd.md", "huge.md"]:
        assert name in text, name
    if os.path.exists("/proc/self/mem"):
        assert "unreadable.md: skipped: a link to outside the corpus" in text
    index_dir = tmp_path / "i"
    assert top_paths(index_dir, "GILって何？")[0] == "python/gil.md"
    assert top_paths(index_dir, "エンコーディング")[0] == "bad/invalid-utf8.md"
    assert top_paths(index_dir, "前付けが壊れた")[0] == "bad/front-matter.md"
    assert top_paths(index_dir, "ファイル名が不正")[0] == "bad/name-\ufffd.md"
    data = generation.load(index_dir)
    try:
        assert data.doc_by_path("bad/binary.md") is None
        assert data.doc_by_path("bad/empty.md") is not None
    finally:
        data.close()
    # skipped files are remembered: the next build has nothing to do
    assert store.build(corpus, index_dir).added == 0


def test_a_multi_megabyte_note_is_indexed_and_answers(tmp_path):
    corpus = tmp_path / "corpus"
    line = "サーバーのメモリを増やすと処理が速くなる。ディスクの速さも大事だ。ログは毎日確認する。" * 8
    filler = (line + "\n") * 1_000  # about 1 MB each side
    write_note(corpus, "big.md", "# 巨大なメモ\n" + filler + "一度だけホゲラッタという言葉が出てくる。\n"
               + filler)
    write_note(corpus, "small.md", NOTES["python/gil.md"])
    assert (corpus / "big.md").stat().st_size > 2_000_000
    report = store.build(corpus, tmp_path / "i")
    assert report.added == 2
    data = generation.load(tmp_path / "i")
    try:
        [hit] = Searcher(data).search("ホゲラッタとは", k=3)
    finally:
        data.close()
    assert hit.path == "big.md" and "ホゲラッタ" in hit.excerpt and len(hit.excerpt) <= 200


# ---------------------------------------------------------------- damaged indexes

def _gen(index_dir):
    return current(index_dir)


def _edit_manifest(index_dir, change):
    path = _gen(index_dir) / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def _truncate_arrays(index_dir):
    for p in _gen(index_dir).glob("*.npy"):
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _garble_same_size(pattern):
    def damage(index_dir):
        for p in _gen(index_dir).glob(pattern):
            p.write_bytes(b"\xff" * p.stat().st_size)
    return damage


def _garble_in_place(pattern):
    """Every value of the arrays overwritten, their header and size kept."""
    def damage(index_dir):
        for p in _gen(index_dir).glob(pattern):
            data = p.read_bytes()
            start = 10 + int.from_bytes(data[8:10], "little")  # (.npy version 1 header)
            p.write_bytes(data[:start] + b"\xff" * (len(data) - start))
    return damage


DAMAGE = {
    "garbage CURRENT": lambda d: (d / "CURRENT").write_bytes(b"\xff\xfe\x00garbage"),
    "empty CURRENT": lambda d: (d / "CURRENT").write_bytes(b""),
    "CURRENT names a missing generation": lambda d: (d / "CURRENT").write_text("gen-999999"),
    "deleted generation": lambda d: shutil.rmtree(_gen(d)),
    "garbage manifest": lambda d: (_gen(d) / "manifest.json").write_bytes(os.urandom(300)),
    "truncated manifest": lambda d: (_gen(d) / "manifest.json").write_bytes(
        (_gen(d) / "manifest.json").read_bytes()[:100]),
    "manifest is a list": lambda d: (_gen(d) / "manifest.json").write_text("[1, 2, 3]"),
    "manifest without analyzer": lambda d: _edit_manifest(d, lambda m: m.pop("analyzer")),
    "manifest without notes": lambda d: _edit_manifest(d, lambda m: m.pop("notes")),
    "manifest without scoring": lambda d: _edit_manifest(d, lambda m: m.pop("scoring")),
    "wrong format version": lambda d: _edit_manifest(d, lambda m: m.update(format_version=999)),
    "analyzer settings mismatch": lambda d: _edit_manifest(
        d, lambda m: m["analyzer"].update(dictionary="unidic-lite 0.0.1")),
    "truncated arrays": _truncate_arrays,
    "garbage arrays, same size": _garble_same_size("*.npy"),
    "garbage vocabulary, same size": _garble_same_size("vocab.bin"),
    "garbage note list, same size": _garble_same_size("notes.paths"),
    "missing note numbers": lambda d: (_gen(d) / "notes.doc.npy").unlink(),
    **{f"{name} garbled in place": _garble_in_place(name) for name in (
        "idf.npy", "norm.npy", "df.npy", "*.docs.offsets.npy", "*.indptr.npy")},
    "missing vocabulary": lambda d: (_gen(d) / "vocab.bin").unlink(),
    "missing vocabulary hashes": lambda d: (_gen(d) / "vocab.hashes.npy").unlink(),
    "generation is a file": lambda d: (shutil.rmtree(_gen(d)), _gen(d).write_text("x")),
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_index_is_detected_and_rebuilt_with_a_message(corpus, built, damage):
    damage(built)
    said = []
    data = store.load_fresh(corpus, built, say=said.append)
    try:
        hits = Searcher(data).search("GILって何？", k=3)
        assert hits[0].path == "python/gil.md"
        assert "Global Interpreter Lock" in hits[0].excerpt
    finally:
        data.close()
    assert said and said[0].startswith("index out of date")
    assert any(line.startswith(f"full build: {N} added") for line in said), said
    # and it stays repaired: the next load needs no build
    said.clear()
    store.load_fresh(corpus, built, say=said.append).close()
    assert said == []


def _damage_stored_note(index_dir, old=b"Global", new=b"Glocal"):
    """One letter of one stored note changed: the file keeps its size and stays valid JSON."""
    [path] = _gen(index_dir).glob("*.docs.jsonl")
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new, 1))


def test_a_damaged_stored_note_is_reported_not_shown(corpus, built, run_cli):
    _damage_stored_note(built)
    data = generation.load(built)
    try:
        with pytest.raises(IndexUnusable, match=r"docs\.jsonl is damaged"):
            Searcher(data).search("GILって何？", k=3)
        assert Searcher(data).search("Goのクロスコンパイル", k=1)[0].path == "go/cross-compile.md"
    finally:
        data.close()
    said = run_cli(["ask", "--corpus", corpus, "GILって何？"])
    assert said.rc == 1 and said.out == ""
    assert "docs.jsonl is damaged" in said.err and "notebot build --full" in said.err
    # the full build it asks for repairs it
    assert run_cli(["build", "--full", "--corpus", corpus]).rc == 0
    said = run_cli(["ask", "--corpus", corpus, "GILって何？"])
    assert said.rc == 0 and "Global Interpreter Lock" in said.out


def test_an_incremental_build_that_meets_a_damaged_stored_note_rebuilds_from_scratch(corpus, built):
    # A small index: the next build rewrites every note, the damaged one included.
    _damage_stored_note(built)
    write_note(corpus, "misc/new.md", "---\ntitle: 新しいノート\n---\n本文。\n")
    report = store.build(corpus, built)
    assert report.full and report.added == N + 1
    assert any("docs.jsonl is damaged" in w and "rebuilt from scratch" in w
               for w in report.warnings), report.warnings
    data = generation.load(built)
    try:
        assert "Global Interpreter Lock" in Searcher(data).search("GILって何？", k=1)[0].excerpt
    finally:
        data.close()


def test_file_names_that_read_the_same_once_replaced_do_not_break_the_build(corpus, index_dir):
    for raw in (b"n\xfe.md", b"n\xff.md"):
        (corpus / os.fsdecode(raw)).write_text("重複する名前のノート。", encoding="utf-8")
    report = store.build(corpus, index_dir)
    assert report.added == N + 1
    assert any("rename one of them" in w for w in report.warnings)
    assert top_paths(index_dir, "重複する名前")[0] == "n\ufffd.md"


# ---------------------------------------------------------------- killed builds

# Runs one build in a child process and SIGKILLs it at the named moment (a test-only hook, put
# in by replacing one store function); returns nothing: the process dies.
KILLER = r"""
import os, signal, sys
from index import files, generation, notes, segment, store

corpus, index_dir, point = sys.argv[1:4]

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

def after(n, fn):
    calls = [0]
    def wrapped(*args, **kwargs):
        calls[0] += 1
        if calls[0] > n:
            die()
        return fn(*args, **kwargs)
    return wrapped

if point == "analysing":
    notes.parse = after(1, notes.parse)
elif point == "writing arrays":
    store.save_array = segment.save_array = after(3, files.save_array)
elif point == "writing the manifest":
    store.write_bytes = after(0, files.write_bytes)
elif point == "replacing CURRENT":
    os.replace = after(0, os.replace)
elif point == "cleaning up":
    generation.remove_old = die
store.build(corpus, index_dir, workers=1)
print("the build was not killed")
"""

KILL_POINTS = ["analysing", "writing arrays", "writing the manifest", "replacing CURRENT",
               "cleaning up"]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_build_killed_midway_leaves_the_previous_index_answering(corpus, built, point):
    before = current(built)
    write_note(corpus, "python/gil.md", NOTES["python/gil.md"].replace(
        "この仕組みを", "この排他制御の仕組みを"))
    bump_mtime(corpus / "python/gil.md")
    write_note(corpus, "new/kubernetes.md", "# Kubernetesのポッド\nポッドはコンテナの単位。\n")
    child = subprocess.run([sys.executable, "-c", KILLER, str(corpus), str(built), point],
                           capture_output=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    published = point == "cleaning up"
    assert (current(built) != before) == published
    # the index in use answers, old or new
    assert top_paths(built, "GILって何？")[0] == "python/gil.md"
    assert ("new/kubernetes.md" in top_paths(built, "ポッド")) == published
    # and the next build finishes the job and tidies up
    report = store.build(corpus, built)
    if not published:
        assert (report.added, report.changed) == (1, 1)
    assert top_paths(built, "ポッド")[0] == "new/kubernetes.md"
    assert top_paths(built, "排他制御")[0] == "python/gil.md"
    assert len(list(built.glob("gen-*"))) <= 2


@pytest.mark.slow
def test_a_real_build_process_killed_at_any_moment_loses_nothing(tmp_path):
    """``python -m bot build`` over enough notes to use worker processes, SIGKILLed as soon as
    its new generation appears on disk: the previous index still answers, the next build
    recovers."""
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    write_note(corpus, "python/gil.md", NOTES["python/gil.md"])
    store.build(corpus, index_dir)
    before = current(index_dir)
    sentence = "サーバーのメモリ{n}番を増やすと、スレッドの処理が速くなる。ログは毎日確認する。\n"
    bulk = analysis.PARALLEL_MIN_NOTES + 16
    for n in range(bulk):
        write_note(corpus, f"bulk/{n:04d}.md", f"# 運用メモ{n}\n" + sentence.format(n=n) * 20)
    child = subprocess.Popen([*NOTEBOT, "build", "--corpus", str(corpus),
                              "--index", str(index_dir)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while child.poll() is None and not any(p.name != before.name
                                               for p in index_dir.glob("gen-*")):
            time.sleep(0.005)  # bounded: the build ends by itself within seconds
    finally:
        try:
            os.killpg(child.pid, signal.SIGKILL)  # the build and its worker processes
        except ProcessLookupError:  # it had already finished
            pass
        child.wait(timeout=60)
    assert top_paths(index_dir, "GILって何？")[0] == "python/gil.md"
    report = store.build(corpus, index_dir, workers=1)
    assert report.added + report.unchanged == 1 + bulk
    assert top_paths(index_dir, "運用メモ17")[0] == "bulk/0017.md"
    assert len(list(index_dir.glob("gen-*"))) <= 2


def test_a_build_on_worker_processes_makes_the_index_one_process_makes(tmp_path):
    """Each worker numbers the terms it meets across its lists of notes and sends only the new
    ones: the index (vocabulary order included) must be the one a single process makes."""
    rng = random.Random(7)
    words = ["サーバー", "メモリ", "スレッド", "ログ", "監視", "設定", "http.client", "oslo_service",
             "京都", "東京都", "Kubernetes", "キャッシュ", "障害", "復旧", "手順", "性能"]
    corpus = tmp_path / "corpus"
    n_notes = analysis.PARALLEL_MIN_NOTES + 100
    for n in range(n_notes):
        picked = rng.sample(words, 5) + [f"製品{rng.randrange(3 * n + 1)}号", f"id{n}"]
        write_note(corpus, f"bulk/{n:04d}.md", f"# メモ{n}\n" + "と".join(picked) + "について。\n")
    indexes = []
    for workers in (1, 2):
        index_dir = tmp_path / f"index-{workers}"
        assert store.build(corpus, index_dir, workers=workers).added == n_notes
        manifest = json.loads((current(index_dir) / "manifest.json").read_text())
        indexes.append((manifest["checksums"], manifest["notes"]))
    assert indexes[0] == indexes[1]


def test_a_script_that_builds_without_a_main_guard_fails_with_a_message_not_a_hang(tmp_path):
    """Worker processes import the main script again; one that calls build() at its top level
    used to wait for ever for the lock its parent's build held."""
    corpus = tmp_path / "corpus"
    for n in range(analysis.PARALLEL_MIN_NOTES + 16):
        write_note(corpus, f"bulk/{n:04d}.md", f"# 運用メモ{n}\nサーバー{n}番のログを確認する。\n")
    script = tmp_path / "script.py"
    script.write_text(f"import sys\nsys.path.insert(0, {str(Path(store.__file__).parents[1])!r})\n"
                      "from index import store\n"
                      f"store.build({str(corpus)!r}, {str(tmp_path / 'index')!r})\n")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode != 0
    assert "call it under `if __name__ == '__main__':`" in run.stderr


# ---------------------------------------------------------------- builds while asking

def test_a_build_that_waits_for_another_says_so(corpus, built):
    import fcntl
    write_note(corpus, "misc/new.md", "---\ntitle: 新しいノート\n---\n本文。\n")
    said, waiting = [], threading.Event()

    def say(line):
        said.append(line)
        if line.startswith("waiting"):
            waiting.set()

    with open(built / "lock", "a+") as other_build:
        fcntl.flock(other_build, fcntl.LOCK_EX)
        worker = threading.Thread(target=lambda: said.append(
            store.load_fresh(corpus, built, say=say).close()))
        worker.start()
        assert waiting.wait(30)
        assert worker.is_alive()  # still waiting
    worker.join(30)
    assert said[0].startswith("index out of date (1 new")
    assert said[1] == f"waiting for another build of {built} to finish"
    assert said[2].startswith("build: 1 added")

BUILDER = r"""
import sys
from pathlib import Path
from index import store

corpus, index_dir, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for n in range(rounds):
    (corpus / "churn.md").write_text(f"# 変更{n}\n" + "書き換えの多いメモ。" * (n + 1), encoding="utf-8")
    store.build(corpus, index_dir, full=(n % 3 == 2))
print(rounds)
"""


def test_asks_never_fail_while_builds_publish_new_generations(corpus, built):
    builder = subprocess.Popen([sys.executable, "-c", BUILDER, str(corpus), str(built), "12"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    answers, failures = 0, []
    try:
        while builder.poll() is None or answers < 5:
            try:
                paths = top_paths(built, "GILって何？")
                if paths[:1] != ["python/gil.md"]:
                    failures.append(paths)
            except Exception as err:  # noqa: BLE001 -- any failure is what we look for
                failures.append(repr(err))
            answers += 1
            if answers > 10_000:
                break
    finally:
        out, err = builder.communicate(timeout=120)
    assert builder.returncode == 0, err.decode()
    assert out.decode().strip() == "12"
    assert failures == []
    assert answers >= 5


def test_concurrent_asks_through_load_fresh_while_the_corpus_changes(corpus, built):
    """Several askers that may each have to rebuild: builds are serialised, nobody fails."""
    errors = []

    def asker(n):
        try:
            for i in range(3):
                write_note(corpus, f"churn/{n}-{i}.md", f"# 追加{n}-{i}\nポッドの話{n}。\n")
                data = store.load_fresh(corpus, built, say=lambda line: None)
                try:
                    hits = Searcher(data).search("GILって何？", k=1)
                    assert hits[0].path == "python/gil.md"
                finally:
                    data.close()
        except Exception as err:  # noqa: BLE001
            errors.append(repr(err))

    threads = [threading.Thread(target=asker, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert top_paths(built, "追加2-2")[0] == "churn/2-2.md"


def test_a_build_leaves_the_cycle_collector_as_it_found_it(tmp_path, monkeypatch):
    """A build turns Python's cycle collector off while it runs (see store._no_gc): it must be
    back on afterwards, after a failed build too, and stay off if it was off before."""
    import gc

    write_note(tmp_path / "notes", "a.md", "# メモ\n本文。\n")
    seen = []
    real = store._publish

    def publish(*args):
        seen.append(gc.isenabled())
        return real(*args)

    monkeypatch.setattr(store, "_publish", publish)
    store.build(tmp_path / "notes", tmp_path / "index", workers=1)
    assert seen == [False] and gc.isenabled()

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(store, "_publish", fail)
    write_note(tmp_path / "notes", "b.md", "# メモ\n本文。\n")
    with pytest.raises(OSError):
        store.build(tmp_path / "notes", tmp_path / "index", workers=1)
    assert gc.isenabled()
    gc.disable()
    try:
        monkeypatch.setattr(store, "_publish", real)
        store.build(tmp_path / "notes", tmp_path / "index", workers=1)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_edit_that_keeps_the_size_and_sets_the_time_back_is_seen(tmp_path):
    """cp -p, touch -r or rsync -t can leave an edited note with its old size and modification
    time; its status-change time still moves, and the build must analyse the note again."""
    note = write_note(tmp_path / "notes", "a.md", "# メモ\nGILの話。\n")
    store.build(tmp_path / "notes", tmp_path / "index", workers=1)
    before = os.stat(note)
    note.write_text("# メモ\nCPUの話。\n", encoding="utf-8")  # (the same number of bytes)
    os.utime(note, ns=(before.st_atime_ns, before.st_mtime_ns))
    while os.stat(note).st_ctime_ns <= before.st_ctime_ns:  # (a coarse clock: wait a tick)
        time.sleep(0.01)
        os.utime(note, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(note)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    report = store.build(tmp_path / "notes", tmp_path / "index", workers=1)
    assert report.changed == 1
    assert top_paths(tmp_path / "index", "CPU") == ["a.md"]


def test_tied_notes_come_in_path_order_from_a_full_and_an_incremental_build(tmp_path):
    same = "# 同じメモ\n同じ内容のメモ。\n"
    for name in ("c.md", "a.md"):
        write_note(tmp_path / "corpus", name, same)
    for n in range(30):  # so that the next build adds a segment rather than merging
        write_note(tmp_path / "corpus", f"other/{n}.md", f"# 別のメモ{n}\n天気の話。\n")
    store.build(tmp_path / "corpus", tmp_path / "inc")
    write_note(tmp_path / "corpus", "b.md", same)
    store.build(tmp_path / "corpus", tmp_path / "inc")  # b.md is numbered after c.md
    store.build(tmp_path / "corpus", tmp_path / "full", full=True)
    for index_dir in ("inc", "full"):
        assert top_paths(tmp_path / index_dir, "同じ内容") == ["a.md", "b.md", "c.md"]
        assert top_paths(tmp_path / index_dir, "同じ内容", k=1) == ["a.md"]


def _descendants(pid: int) -> set[int]:
    """The processes below ``pid`` (from /proc)."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_the_workers_of_a_killed_build_end_with_it(tmp_path, sig):
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    write_note(corpus, "python/gil.md", NOTES["python/gil.md"])
    store.build(corpus, index_dir)
    sentence = "サーバーのメモリ{n}番を増やすと、スレッドの処理が速くなる。ログは毎日確認する。\n"
    for n in range(analysis.PARALLEL_MIN_NOTES * 4):
        write_note(corpus, f"bulk/{n:04d}.md", f"# 運用メモ{n}\n" + sentence.format(n=n) * 200)
    child = subprocess.Popen([*NOTEBOT, "build", "--full", "--corpus",
                              str(corpus), "--index", str(index_dir)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(workers := _descendants(child.pid)) < 2:  # the forkserver and a worker at least
        assert child.poll() is None and time.monotonic() < deadline, "no workers started"
        time.sleep(0.05)
    os.kill(child.pid, sig)
    child.wait(timeout=60)
    deadline = time.monotonic() + 5
    while (alive := [p for p in workers if Path(f"/proc/{p}").exists()]) and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    for p in alive:  # (so that a failure leaves nothing running)
        os.kill(p, signal.SIGKILL)
    assert alive == [], "worker processes outlived the build by 5 s"
    assert top_paths(index_dir, "GILって何？")[0] == "python/gil.md"  # the old index answers
