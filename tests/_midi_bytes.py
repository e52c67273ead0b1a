"""Raw MIDI bytes for the tests of bad input (what mido and symusic refuse to write), and a timer.

Examples:
    >>> midi([note(60)])[:4]
    b'MThd'
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

Events = list[tuple[int, tuple[int, ...]]]
"""(delta ticks, message bytes) of one track."""


def vlq(n: int) -> bytes:
    """MIDI's variable-length quantity."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def track(events: Events) -> bytes:
    """An MTrk chunk of (delta ticks, message bytes), closed by End of Track."""
    body = b"".join(vlq(delta) + bytes(message) for delta, message in events) + b"\x00\xff\x2f\x00"
    return b"MTrk" + len(body).to_bytes(4, "big") + body


def midi(tracks: list[Events], division: int = 480, fmt: int = 1) -> bytes:
    """A file of `tracks` (format `fmt`, `division` ticks per quarter note or SMPTE)."""
    header = fmt.to_bytes(2, "big") + len(tracks).to_bytes(2, "big") + division.to_bytes(2, "big")
    return b"MThd" + (6).to_bytes(4, "big") + header + b"".join(track(t) for t in tracks)


def note(pitch: int, ticks: int = 480, channel: int = 0, delta: int = 0, velocity: int = 80):
    """A note-on `delta` ticks after the last event and its note-off `ticks` later."""
    return [(delta, (0x90 | channel, pitch, velocity)), (ticks, (0x80 | channel, pitch, 0))]


def tempo(microseconds: int, delta: int = 0) -> tuple[int, tuple[int, ...]]:
    """A set-tempo meta event."""
    return (delta, (0xFF, 0x51, 3, *microseconds.to_bytes(3, "big")))


class Hang(BaseException):
    """Raised by `time_limit`; a BaseException, so that no ``except Exception`` swallows it."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise `Hang` in the block once `seconds` have passed (main thread, Unix)."""

    def expire(signum, frame):
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
