"""The live searcher behind the bot: a build published by another process is picked up before the
next question, and no question in flight fails while generations come and go."""
from __future__ import annotations

import threading

from conftest import bump_mtime, write_note
from index import store
from index.live import LiveSearcher


def paths(hits):
    return [h.path for h in hits]


def test_a_new_generation_is_used_from_the_next_question(corpus, built):
    said = []
    live = LiveSearcher(built, say=said.append)
    assert "new/kubernetes.md" not in paths(live.search("ポッドとは"))
    write_note(corpus, "new/kubernetes.md", "# Kubernetesのポッド\nポッドはコンテナの単位。\n")
    store.build(corpus, built)
    assert paths(live.search("ポッドとは"))[0] == "new/kubernetes.md"
    assert live.status()["notes"] == len(list(corpus.rglob("*.*")))
    assert said == ["now answering from gen-000002 (9 notes)"]


def test_an_unusable_generation_keeps_the_old_one_answering(corpus, built):
    said = []
    live = LiveSearcher(built, say=said.append)
    (built / "CURRENT").write_text("gen-000099")  # published, then lost
    for _ in range(3):
        assert paths(live.search("GILって何？"))[0] == "python/gil.md"
    (built / "CURRENT").unlink()
    assert paths(live.search("GILって何？"))[0] == "python/gil.md"
    assert len(said) == 2 and all(s.startswith("keeping gen-000001: ") for s in said)
    (built / "CURRENT").write_text("gen-000001")
    assert live.status()["generation"] == "gen-000001"


def test_a_synonyms_file_spoilt_while_running_keeps_the_old_generation_answering(
        corpus, built, tmp_path):
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_text("GIL, グローバルインタプリタロック\n", encoding="utf-8")
    said = []
    live = LiveSearcher(built, say=said.append, synonyms_file=synonyms)
    synonyms.write_bytes("GIL, ロック\n".encode("shift_jis"))
    write_note(corpus, "new/kubernetes.md", "# Kubernetesのポッド\nポッドはコンテナの単位。\n")
    store.build(corpus, built)
    for _ in range(2):
        assert paths(live.search("GILって何？"))[0] == "python/gil.md"
    assert len(said) == 1 and said[0].startswith("keeping gen-000001: cannot read the synonyms")


def test_questions_in_flight_never_fail_while_builds_publish(corpus, built):
    live = LiveSearcher(built, say=lambda _: None)
    errors, answered, done = [], [], threading.Event()

    def ask():
        while not done.is_set() and len(answered) < 5000:
            try:
                answered.append(paths(live.search("GILって何？"))[0])
            except Exception as err:  # noqa: BLE001 -- any failure is the finding
                errors.append(err)

    askers = [threading.Thread(target=ask) for _ in range(4)]
    for t in askers:
        t.start()
    gil = corpus / "python/gil.md"
    for n in range(6):  # each build publishes a generation and removes older ones
        gil.write_text(gil.read_text(encoding="utf-8") + f"\n追記{n}。GILの話。\n", encoding="utf-8")
        bump_mtime(gil, n + 1)
        store.build(corpus, built)
    done.set()
    for t in askers:
        t.join(60)
    assert errors == []
    assert answered and set(answered) == {"python/gil.md"}
    assert live.status()["generation"] == "gen-000007"
