"""Counts in words for messages: ``1 file``, ``2 files``."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """`count` and `noun`, the noun with an ``s`` unless the count is one.

    Examples:
        >>> plural(1, "token"), plural(0, "file"), plural(3, "piece")
        ('1 token', '0 files', '3 pieces')
    """
    return f"{count} {noun}{'' if count == 1 else 's'}"
