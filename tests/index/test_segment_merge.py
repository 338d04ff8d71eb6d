"""A build writes its analysed notes in pieces when they pass its buffer, and merges the pieces
a range of terms at a time: the result is the same files as a build that kept everything in
memory, and a merge of hand-made segments is the segment of the notes it keeps."""
import zlib

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import bump_mtime, write_note
from index import generation, merge, segment, store


def _files(index_dir):
    gen = generation.current(index_dir)
    return {p.name: zlib.crc32(p.read_bytes()) for p in gen.iterdir()
            if p.name != "manifest.json"}


def test_a_build_in_small_pieces_writes_the_same_files_as_one_in_memory(corpus, tmp_path,
                                                                         monkeypatch):
    for i in range(12):
        write_note(corpus, f"more/n{i:02d}.md", f"# メモ{i}\n監視サーバー{i}の設定。" * (i + 1))
    store.build(corpus, tmp_path / "whole", full=True, buffer_mb=1024)
    monkeypatch.setattr(segment, "MERGE_CHUNK_POSTINGS", 7)
    monkeypatch.setattr(segment, "MERGE_CHUNK_BYTES", 100)
    store.build(corpus, tmp_path / "pieces", full=True, buffer_mb=1e-6)
    pieces = _files(tmp_path / "pieces")
    assert pieces == _files(tmp_path / "whole")
    assert not [name for name in pieces if name.startswith("new-")]


def _write(gen, name, rows, records):
    """Segment ``name`` of notes ``rows`` (title, body count per term)."""
    packed = np.array([[t << 32 | b for t, b in row] for row in rows], dtype=np.int64)
    postings = sp.csr_matrix(packed).tocsc()
    postings.eliminate_zeros()
    postings.sort_indices()
    lengths = [sum(b for _, b in row) for row in rows]
    return segment.write(gen, name, postings, lengths, records)


@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_merge_interleaves_and_leaves_out_notes(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(segment, "MERGE_CHUNK_POSTINGS", chunk)
    a = [[(0, 1), (1, 0), (0, 0)], [(0, 2), (0, 0), (0, 3)], [(0, 0), (0, 0), (2, 1)]]
    b = [[(0, 0), (0, 5), (0, 0), (70000, 0)], [(1, 1), (0, 0), (0, 1), (0, 0)]]
    _write(tmp_path, "a", a, [b'{"n": "a0"}\n', b'{"n": "a1"}\n', b'{"n": "a2"}\n'])
    _write(tmp_path, "b", b, [b'{"n": "b0"}\n', b'{"n": "b1"}\n'])
    # b1, a0, a2, b0 (a1 left out)
    sources = [(tmp_path, "a", np.array([1, -1, 2])), (tmp_path, "b", np.array([3, 0]))]
    checksums, lengths = segment.merge(tmp_path, "m", sources, 4, 5)
    wanted = [b[1], a[0], a[2], b[0]]
    _write(tmp_path, "w", [row + [(0, 0)] * (5 - len(row)) for row in wanted],
           [b'{"n": "b1"}\n', b'{"n": "a0"}\n', b'{"n": "a2"}\n', b'{"n": "b0"}\n'])
    for part in segment.files("m"):
        assert (tmp_path / part).read_bytes() == (tmp_path / part.replace("m.", "w.")).read_bytes()
        assert checksums[part] == zlib.crc32((tmp_path / part).read_bytes())
    assert lengths.tolist() == [2, 1, 1, 5]
    loaded = segment.load(tmp_path, "m", 0, 5)
    assert loaded.postings.title.dtype == np.int64  # (70000 does not fit in 16 bits)
    assert loaded.record(1) == b'{"n": "a0"}\n'
    loaded.close()


def test_merge_refuses_a_damaged_record(tmp_path):
    _write(tmp_path, "a", [[(0, 1)], [(0, 2)]], [b'{"n": "a0"}\n', b'{"n": "a1"}\n'])
    with open(tmp_path / "a.docs.jsonl", "r+b") as f:
        f.seek(15)
        f.write(b"X")
    with pytest.raises(store.IndexUnusable, match="stored note 1"):
        segment.merge(tmp_path, "m", [(tmp_path, "a", np.array([0, 1]))], 2, 1)


def _df(index_dir):
    data = generation.load(index_dir)
    try:
        return {t: int(n) for t, n in zip(data.terms, data.df.tolist()) if n}
    finally:
        data.close()


def test_document_frequencies_stay_exact_over_builds_that_keep_the_large_segment(
        corpus, tmp_path, monkeypatch):
    """They are counted from the previous generation's and the deleted notes' stored text, not
    from the large segment's postings (the fallback, made to fail here)."""
    monkeypatch.setattr(merge, "MERGE_FRACTION", 100.0)
    store.build(corpus, tmp_path / "incremental")

    def counted_in_the_segment(*args):
        raise AssertionError("the large segment's postings were read")

    monkeypatch.setattr(segment.Segment, "term_counts", counted_in_the_segment)
    notes = sorted(corpus.rglob("*.md"))
    for n, path in enumerate(notes[:3]):
        if n == 1:
            path.unlink()
        else:
            path.write_text(path.read_text(encoding="utf-8") + "\n追記: 監視の手順。\n",
                            encoding="utf-8")
            bump_mtime(path)
        store.build(corpus, tmp_path / "incremental")
        store.build(corpus, tmp_path / f"full-{n}", full=True)
        assert len(generation.load(tmp_path / "incremental").segments) == 2
        assert _df(tmp_path / "incremental") == _df(tmp_path / f"full-{n}")
