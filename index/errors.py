"""The one error the index raises to its users."""


class IndexUnusable(Exception):
    """The index is missing, damaged, stale in format, or made by another analyzer."""
