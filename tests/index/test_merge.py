"""The merge rule on segment sizes alone: no analyser, no disk."""
import pytest

from index.merge import MERGE_FRACTION, keeps_large


@pytest.mark.parametrize("large, large_live, notes, keeps", [
    (1000, 1000, 1000, True),     # nothing changed
    (1000, 1000, 1100, True),     # 100 added: exactly the share allowed
    (1000, 1000, 1101, False),    # one more: merge
    (1000, 950, 1000, True),      # 50 replaced: 50 deleted + 50 in the small segment
    (1000, 949, 1000, False),     # 51 replaced: 102 > 100
    (1000, 900, 900, True),       # 100 removed
    (1000, 899, 899, False),      # 101 removed
    (10, 10, 11, True),           # a small index keeps its segment for one note ...
    (10, 10, 12, False),          # ... but not for two
    (0, 0, 0, True),              # an empty large segment with nothing beside it
    (0, 0, 1, False),             # anything added to an empty one: merge
])
def test_the_large_segment_is_kept_while_changes_stay_a_small_share_of_it(
        large, large_live, notes, keeps):
    assert MERGE_FRACTION == 0.1
    assert keeps_large(large, large_live, notes) is keeps


def test_the_share_is_a_setting(monkeypatch):
    import index.merge

    monkeypatch.setattr(index.merge, "MERGE_FRACTION", 0.5)
    assert keeps_large(1000, 1000, 1500) and not keeps_large(1000, 1000, 1501)
