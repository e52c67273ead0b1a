"""A vocabulary read in another key: how a key-normalized model writes in any key.

A model trained on songs moved to C major / A minor (`musegen.keys.key_shift`,
``normalize_keys=True`` when training) predicts ids whose tokens are in that key.
`transposed_vocabulary` relabels those ids: id *i* keeps its place and its token
is moved by `semitones`. Priming through the relabeled vocabulary moves a prime
into the model's key; decoding through it moves what the model writes back out;
the logits processors bind to its tokens, so ``--key``, ``--chords`` or a pitch
range mean the pitches the output sounds. Nothing in the decode loop changes.

Examples:
    >>> from musegen.tokens.note_tokenizer import NoteTokenizer
    >>> from musegen.tokens.vocabulary import Vocabulary
    >>> tok = NoteTokenizer()
    >>> vocab = Vocabulary(["C4", "E4", "G4", "4th", "rest"])
    >>> transposed_vocabulary(tok, vocab, 2).tokens  # the model's C major, read in D major
    ['D4', 'F#4', 'A4', '4th', 'rest']
"""

from __future__ import annotations

from typing import Any

from musegen.tokens.vocabulary import Vocabulary

__all__ = ["transpose_token", "transposed_vocabulary"]


def transpose_token(tokenizer: Any, token: str, semitones: int) -> str | None:
    """`token` with its pitches moved by `semitones`, or None when one would leave 0..127.

    A token without pitches (a duration, a rest, a step, ``<unk>``) is returned
    as it is. A token of pitch classes (the original recipe's chords ``0.4.7``
    and unisons ``0``, `Tokenizer.skuli`) moves round the octave: never out of
    range. The tokenizer must describe its tokens (``describe``) and spell
    pitches (``pitches_to_text``), as `Tokenizer` and its subclasses do; an event
    token (`Tokenizer`'s compound spelling) keeps the rest of its fields.

    Raises:
        ValueError: for a tokenizer of several instruments, whose drums must not move.

    Examples:
        >>> from musegen.tokens.tokenizer import Tokenizer
        >>> transpose_token(Tokenizer.seed(), "C4,E4_long_v81", -1)
        'B3,E-4_long_v81'
        >>> transpose_token(Tokenizer.seed(), "rest_short", 5)
        'rest_short'
        >>> print(transpose_token(Tokenizer(), "G9", 1))  # 128 is no MIDI pitch
        None
        >>> [transpose_token(Tokenizer.skuli(), t, 1) for t in ("0", "4.7.11", "B4")]
        ['1', '5.8.0', 'C5']
    """
    if hasattr(tokenizer, "decode_score"):
        raise ValueError("a band's tokens are not transposed: its drums would move")
    info = tokenizer.describe(token)
    if not info.pitches or not semitones:
        return token
    pitches = tuple(info.pitches)
    # a note or chord; else the recipe's unison chord, its one pitch class spelt as a chord
    for spelt in (pitches, pitches * 2):
        head = tokenizer.pitches_to_text(spelt)
        if token.startswith(head):
            break
    else:
        raise ValueError(f"cannot transpose {token!r}: it does not begin with its pitches")
    if _octave_free(tokenizer, spelt, head):  # pitch classes: moved round the octave
        moved = tuple(60 + (p + semitones) % 12 for p in spelt)
    else:
        moved = tuple(p + semitones for p in spelt)
        if not all(0 <= p <= 127 for p in moved):
            return None
    return tokenizer.pitches_to_text(moved) + token[len(head) :]


def _octave_free(tokenizer: Any, pitches: tuple[int, ...], text: str) -> bool:
    """Whether `text` spells `pitches` without their octaves (the recipe's pitch classes).

    It does when the pitches an octave away are spelt the same.
    """
    other = tuple(p - 12 if p >= 12 else p + 12 for p in pitches)
    return bool(tokenizer.pitches_to_text(other) == text)


def transposed_vocabulary(tokenizer: Any, vocabulary: Vocabulary, semitones: int) -> Vocabulary:
    """The same ids, each token's pitches moved by `semitones` (see the module docs).

    A token whose move would leave MIDI's 0..127 becomes ``<out of range: TOKEN>``,
    which no tokenizer decodes: the id stays, and is skipped if ever written.

    Examples:
        >>> from musegen.tokens.tokenizer import Tokenizer
        >>> vocab = Vocabulary(["C4", "rest", "A4,C5"])
        >>> transposed_vocabulary(Tokenizer(), vocab, -3).tokens
        ['A3', 'rest', 'F#4,A4']
    """
    moved = [(t, transpose_token(tokenizer, t, semitones)) for t in vocabulary.tokens]
    return Vocabulary(f"<out of range: {t}>" if m is None else m for t, m in moved)
