"""Keys and scales by name: ``"D minor"`` -> the pitch classes it allows.

A key name is a tonic (a letter, then ``#`` or ``♯``, ``b``, ``♭`` or ``-`` for
sharps and flats) and a mode: ``major``, ``minor`` (natural minor, the scale
`musegen.evaluation.metrics.scale_consistency` fits), ``harmonic minor`` or
``melodic minor`` (ascending). `best_key` names the major or natural-minor key
that holds the most notes of a piece, and `key_shift` the semitones that move
it to C major or A minor (key normalization); `tied_keys` says whether that key
is clear, or tied with others (a chromatic run holds every scale alike).
`key_name` spells a key as its key signature does (``Ab major``, not ``G# major``).

Examples:
    >>> sorted(scale("A minor"))
    [0, 2, 4, 5, 7, 9, 11]
    >>> sorted(scale("D harmonic minor"))
    [1, 2, 4, 5, 7, 9, 10]
"""

from __future__ import annotations

import re

import numpy as np

from musegen.events import Piece

__all__ = [
    "KEYS",
    "MODES",
    "SCALES",
    "best_key",
    "key_name",
    "key_shift",
    "scale",
    "tied_keys",
    "tonic",
]

MODES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
    "melodic minor": (0, 2, 3, 5, 7, 9, 11),
}
"""Mode name -> its steps above the tonic, in semitones."""

_TONICS = ("C", "C#", "D", "E-", "E", "F", "F#", "G", "G#", "A", "B-", "B")
KEYS = tuple(f"{tonic} {mode}" for mode in ("major", "minor") for tonic in _TONICS)
"""The 24 major and natural-minor keys, C major first; the rows of `SCALES`."""
SCALES = np.array(
    [[(pc - root) % 12 in MODES[mode] for pc in range(12)]
     for mode in ("major", "minor") for root in range(12)]
)  # fmt: skip
"""The keys of `KEYS` as pitch-class masks, shape (24, 12)."""
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_KEY_RE = re.compile(r"^\s*([A-Ga-g])([#b-]*)\s+(.+?)\s*$")
_SIGNS = str.maketrans({"\u266d": "b", "\u266f": "#"})  # ♭ and ♯, as --chords reads them
_SPELT = {
    "major": ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"),
    "minor": ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"),
}
"""Each tonic as the key signature with fewer accidentals spells it (F# major and Eb minor,
six each way, as usually written)."""


def scale(key: str) -> frozenset[int]:
    """The pitch classes (0 = C) of a key named like ``"D minor"`` or ``"F# major"``.

    Raises:
        ValueError: naming the key when its tonic or mode is not understood.

    Examples:
        >>> sorted(scale("Bb major"))
        [0, 2, 3, 5, 7, 9, 10]
    """
    root, mode = _parse(key)
    return frozenset((root + step) % 12 for step in MODES[mode])


def key_name(key: str) -> str:
    """`key` as its key signature spells it: ``"Ab major"``, not ``"G# major"`` nor ``"A- major"``.

    Of the two spellings of a tonic, the one whose key signature has fewer
    sharps or flats; flats as ``b``. The harmonic and melodic minors are
    spelt as the natural minor.

    Raises:
        ValueError: naming the key when its tonic or mode is not understood.

    Examples:
        >>> key_name("G# major"), key_name("E- major"), key_name("A# minor")
        ('Ab major', 'Eb major', 'Bb minor')
    """
    root, mode = _parse(key)
    return f"{_SPELT['major' if mode == 'major' else 'minor'][root]} {mode}"


def tonic(key: str) -> int:
    """The pitch class (0 = C) of a key's tonic.

    Examples:
        >>> tonic("F# minor"), tonic("E- major")
        (6, 3)
    """
    return _parse(key)[0]


def _parse(key: str) -> tuple[int, str]:
    match = _KEY_RE.match(key.translate(_SIGNS))
    mode = match.group(3).lower() if match else ""
    accidentals = match.group(2) if match else ""
    if (
        not match
        or mode not in MODES
        or ("#" in accidentals and accidentals != "#" * len(accidentals))
    ):
        raise ValueError(
            f"unknown key {key!r}: give a tonic (C, F#, Bb, E\u266d, ...) "
            f"and a mode ({', '.join(MODES)})"
        )
    sharps = accidentals.count("#")
    return (_LETTERS[match.group(1).upper()] + sharps - (len(accidentals) - sharps)) % 12, mode


def best_key(piece: Piece) -> str:
    """The major or natural-minor key holding the most of the piece's notes.

    Every pitch of a chord counts as one note, rests are left out. Between keys
    holding as many notes (a major key and its relative minor always do), the
    one whose tonic sounds most wins, then major, then the lower tonic from C.
    A piece with no note gives ``"C major"``.

    Examples:
        >>> from musegen.events import Event
        >>> best_key(Piece(tuple(Event(i, 1, (p,)) for i, p in enumerate([62, 65, 69, 70, 62]))))
        'D minor'
    """
    counts = _pitch_class_counts(piece)
    held = SCALES @ counts + np.tile(counts, 2) / (counts.sum() + 1)  # < 1: breaks ties only
    return KEYS[int(held.argmax())]  # the first of equals: major, then the lower tonic


def tied_keys(piece: Piece) -> tuple[str, ...]:
    """The keys `best_key` chooses among once its tie-break is spent: one key when it is clear.

    The keys that hold as many notes as the best and whose tonic sounds as often,
    in `KEYS` order, one per scale (a major key and its relative minor hold the
    same notes: where both tie, the major is named); `best_key` is the first.
    More than one means the notes do not tell the key apart, and a lean toward
    the first would be a guess. A piece with no note ties all twelve scales.

    Examples:
        >>> from musegen.events import Event
        >>> tied_keys(Piece(tuple(Event(i, 1, (60 + i,)) for i in range(12))))[:3]  # chromatic
        ('C major', 'C# major', 'D major')
        >>> tied_keys(Piece(tuple(Event(i, 1, (p,)) for i, p in enumerate([62, 65, 69, 70, 62]))))
        ('D minor',)
        >>> tied_keys(Piece((Event(0, 1, (60, 64, 67)),)))  # a triad: C major or G major?
        ('C major', 'G major')
    """
    counts = _pitch_class_counts(piece)
    held = SCALES @ counts
    tonics = np.tile(counts, 2)
    best = held == held.max()
    top = np.flatnonzero(best & (tonics == tonics[best].max()))
    found: dict[tuple[bool, ...], str] = {}
    for index in top:  # KEYS order: the majors first, so a scale is named by its major key
        found.setdefault(tuple(SCALES[index]), KEYS[index])
    return tuple(found.values())


def _pitch_class_counts(piece: Piece) -> np.ndarray:
    """How often each pitch class sounds (every pitch of a chord once), C to B."""
    counts = np.zeros(12)
    for event in piece.notes:
        for pitch in event.pitches:
            counts[pitch % 12] += 1
    return counts


def key_shift(piece: Piece | str) -> int:
    """Semitones (-6..+5) that move a piece's `best_key` (or a named key) to C major or A minor.

    A major key and its relative minor hold the same notes, so both go to the
    key without sharps or flats: ``piece.transpose(key_shift(piece))`` is the
    piece key-normalized, and ``transpose(-shift)`` moves music made in that
    key back. Of the two shifts that reach it, the smaller one is taken (up by
    6 is down by 6: down).

    Examples:
        >>> from musegen.events import Event
        >>> d_minor = Piece(tuple(Event(i, 1, (p,)) for i, p in enumerate([62, 65, 69, 70, 62])))
        >>> key_shift(d_minor)  # D minor (F major's notes) to A minor: down 5
        -5
        >>> key_shift(d_minor.transpose(-3)), key_shift("B minor")  # D major's notes: down 2
        (-2, -2)
    """
    key = piece if isinstance(piece, str) else best_key(piece)
    major_tonic = (tonic(key) + (3 if key.endswith("minor") else 0)) % 12
    return -major_tonic if major_tonic <= 6 else 12 - major_tonic
