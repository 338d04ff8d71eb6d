"""When a build merges: the rule, as a pure function over segment sizes.

A generation has a large segment and at most one small one. A build writes the notes it
analysed, with those of the previous small segment, as the new small segment, and keeps the
large segment as it is (hard-linked) -- until the small segment and the notes deleted from the
large one grow past ``MERGE_FRACTION`` of it; then it writes everything as one segment (without
analysing again). So adding a note to a large index costs about as much as the notes added since
the last merge, not the whole index (the idea of Lucene's and Whoosh's merge policies, with two
tiers).
"""

# The small segment and the deleted notes may grow to this share of the large segment before a
# build merges them (rewriting the whole index).
MERGE_FRACTION = 0.1


def keeps_large(large: int, large_live: int, notes: int) -> bool:
    """Whether the next generation keeps the large segment of ``large`` notes, of which
    ``large_live`` stay in use, when it will hold ``notes`` notes in all."""
    others = notes - large_live
    deleted = large - large_live
    return others + deleted <= MERGE_FRACTION * large
