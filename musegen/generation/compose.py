"""`compose`: from a bundle, a prime and a length to the music as it is written. One clock.

Every way of making music with a bundle goes through here (`musegen generate`,
the benches, the examples): it reads the prime, decodes new ids (sampling or
beam search, one `musegen.generation.runner.Runner` for both) and turns them into
the music that is written. Time is counted once, from one zero: where the
prime's music ends, as the `musegen.generation._clock.Clock` of the token table
reads it. The processors (`ChordProgression`, `NoteDensity`), the length
(``bars=``, ``quarters=``), the chord track and the written file all count from
there, so a chord asked for bar 3 sounds under the notes of bar 3 of the file.

- The prime ends on a whole event: an event it leaves unfinished (a chord cut
  mid-way) is left out, so its pitches neither leak into the new music nor
  escape a key or a chord.
- A new event that a step places before the zero (a note-level spelling may
  step back into the prime's last event) starts at 0 in the file, ending where
  it ended: the processors read it at 0 too.
- A prime note the vocabulary cannot spell (a pitch, or a band's instrument, it
  never learnt) is left out whole, its duration with it, and `Composition.messages`
  counts and names them; a prime with none left, an empty one and a drums-only
  one are refused, each saying which.

Examples:
    >>> from musegen.tokens.note_tokenizer import NoteTokenizer
    >>> from musegen.tokens.vocabulary import Vocabulary
    >>> from musegen.training.bundle import Bundle
    >>> from musegen.training.model import build_lstm
    >>> vocab = Vocabulary(["C4", "E4", "G4", "4th", "half"])
    >>> bundle = Bundle(build_lstm(len(vocab), units=(8,)), NoteTokenizer(), vocab)
    >>> out = compose(bundle, ["C4", "4th"], quarters=4, seed=0, sampler="categorical")
    >>> out.pieces[0].length, out.pieces[0].music.events[0].offset
    (4.0, 0.0)
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from musegen._metre import bar_length, parse_time_signature
from musegen._words import plural
from musegen.defaults import GENERATION
from musegen.events import Event, Piece
from musegen.generation import processors as _processors
from musegen.generation import samplers
from musegen.generation._clock import Clock, LengthStop, Time
from musegen.generation.beam import beam_search
from musegen.generation.decoding import _steps_for, generate
from musegen.generation.processors import (
    BarConstraint,
    ChordProgression,
    KeyConstraint,
    PitchClassHistogram,
)
from musegen.generation.views import TranspositionViews
from musegen.io.tracks import Score, Track
from musegen.tokens.token_table import BAR, METRE, TokenTable
from musegen.training.bundle import Bundle

__all__ = [
    "Composition",
    "Continuation",
    "compose",
    "continuation",
    "key_lean",
    "with_chord_track",
]

DEFAULT_STEPS = 500
"""Ids per piece when no length is given."""

_EPS = 1e-6


@dataclass(frozen=True)
class Continuation:
    """One generated piece as it is written, its time 0 where the prime's music ends.

    Attributes:
        music: A `Piece`, or a `musegen.io.tracks.Score` for a band.
        ids: The generated ids kept (whole events; no padding).
        skipped: The generated tokens the decoder skipped: (position, token).
        length: The music's length in quarter notes: the length asked for when
            `reached`, else how far the music got.
        reached: Whether the music reached the length asked for (True when
            none was asked).
    """

    music: Piece | Score
    ids: np.ndarray
    skipped: tuple[tuple[int, str], ...]
    length: float
    reached: bool


@dataclass(frozen=True)
class Composition:
    """What `compose` made: the pieces, how, and what the user should hear about it.

    Attributes:
        pieces: One `Continuation` per piece.
        prime: The prime's ids, as the model read them (ending on a whole event).
        how: The decoding, e.g. ``"top-p 0.9, read in 7 keys"`` or ``"beam search, width 4"``.
        views: The keys the model was read in (1: the model alone).
        messages: Lines worth telling: the key leaned toward (or that the prime
            has no clear key), prime notes and tokens the vocabulary lacks, a
            length not reached.
        prime_end: Where the model's clock put the prime's end, in quarter notes
            (each piece's time 0), or None for a tokenizer without a clock.
    """

    pieces: tuple[Continuation, ...]
    prime: tuple[int, ...]
    how: str
    views: int
    messages: tuple[str, ...]
    prime_end: float | None = None


def compose(
    bundle: Bundle,
    prime: Sequence[int] | Sequence[str] | Piece | Score | str | os.PathLike[str] | None = None,
    *,
    bars: float | None = None,
    quarters: float | None = None,
    steps: int | None = None,
    tempo: float | None = None,
    time_signature: str | None = None,
    key: str | None = None,
    processors: Sequence[Any] = (),
    key_strength: float | None = None,
    views: int | None = None,
    sampler: samplers.Sampler | str | dict[str, Any] | None = None,
    beam: int | None = None,
    num: int = 1,
    seed: int | None = None,
) -> Composition:
    """Continue `prime` with `bundle`'s model; the music as it is written, from one zero.

    Args:
        bundle: A trained bundle (`musegen.training.bundle.load_bundle`).
        prime: Ids, tokens, a `Piece` (a `Score` for a band), a music file
            (MIDI, MusicXML, anything music21 reads), or None for the
            bundle's stored prime.
        bars: The length in bars of `time_signature`.
        quarters: The length in quarter notes (instead of `bars`).
        steps: The most ids per piece (default: 500 without a length, else 64
            per quarter note).
        tempo: The written tempo (default: the prime's, else 120).
        time_signature: The written metre, in which `bars` and chords per bar
            count (default: the prime's, else 4/4).
        key: Only pitches of this key (``"D minor"``); a key-normalized model
            also writes in it.
        processors: Logits processors (`musegen.generation.processors`), e.g. a
            `ChordProgression`; they count time from the prime's end.
        key_strength: Lean toward the prime's key (a `PitchClassHistogram` of
            its scale) at this strength; None: `GENERATION.key_strength` for a
            model read in several keys, else 0. Not with `key`, nor for a band.
        views: Read the model in the keys this many semitones each way; None:
            as the bundle was trained; 0: the model alone. Sampling and beam
            search read the same.
        sampler: A sampler, name or record (the bundle's stored one by default).
        beam: Decode by beam search of this width instead of sampling.
        num: Pieces, decoded as one batch.
        seed: Seed of the sampling.

    Raises:
        ValueError: for a bad length, metre, sampler or processor; a prime that
            is empty, drums only (for a single-track bundle) or holds no note of
            the vocabulary; beam search asked for several pieces, or steering a
            tokenizer that cannot describe its tokens.
    """
    if bars is not None and quarters is not None:
        raise ValueError("give the length in bars or in quarters, not both")
    for name, value in (("bars", bars), ("quarters", quarters), ("tempo", tempo)):
        if value is not None and not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value}")
    if steps is not None and steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if num < 1:
        raise ValueError(f"num must be >= 1, got {num}")
    if beam is not None and (beam < 1 or num > 1):
        raise ValueError("beam search takes a width >= 1 and makes one piece (it is deterministic)")
    band = hasattr(bundle.tokenizer, "decode_score")
    music = _read_prime(prime, band)
    bundle = bundle.in_key(music.merged() if isinstance(music, Score) else music or key)
    table = _table(bundle)
    messages: list[str] = []
    ids = _prime_ids(bundle, prime, music, messages)
    if table is not None:  # end on a whole event: an unfinished one would leak its pitches
        ends = np.flatnonzero(table.closes(np.asarray([ids]))[0])
        ids = ids[: ends[-1] + 1] if ends.size else ids
    signature = parse_time_signature(
        time_signature or (music.time_signature if music is not None else "4/4")
    )
    barred = table is not None and bool((table.kinds == BAR).any())
    if barred:  # the music starts on the model's next bar line, in the model's metre
        assert table is not None
        ids, signature = _to_next_bar(bundle, table, ids, time_signature)
    elif time_signature is not None and table is not None:
        messages.append(
            f"the model was trained without bar tokens: {signature} is written in the file, "
            "but its notes do not know where the bar is (train with --encoding notes-bars)"
        )
    if bars is not None:
        quarters = bars * bar_length(signature)
    if quarters is not None and not 64 * quarters < 2**31:
        raise ValueError(f"a length of {quarters:g} quarter notes is more than can be generated")
    if steps is None and quarters is None:
        steps = DEFAULT_STEPS
    chain = [_processors.get(p) for p in processors]
    if key is not None:
        chain.insert(0, KeyConstraint(key))
    chain = [_in_metre(p, signature) for p in chain]
    if barred and not any(isinstance(p, BarConstraint) for p in chain):
        chain.insert(0, BarConstraint(keep_metre=True))  # --bars counts bars of one metre
    if not key and not band and table is not None:  # --key forbids instead; a band has no key
        heard = music or bundle.tokenizer.decode(bundle.vocabulary.decode(ids))
        lean = key_lean(bundle, heard, strength=key_strength, views=views)
        if lean is not None:
            if lean[0] is not None:  # None: the prime has no clear key to lean toward
                chain.append(lean[0])
            messages.append(lean[1])
    elif key_strength is not None:
        _strength(bundle, key_strength, views)  # checked all the same
    unreachable = _unreachable(table, chain)
    if unreachable:
        raise ValueError(unreachable)
    if (chain or quarters is not None) and table is None:
        raise ValueError(
            f"{type(bundle.tokenizer).__name__} cannot be steered or measured (no describe())"
        )
    reading = TranspositionViews.of_bundle(bundle, views)
    if beam:
        rows: Any = beam_search(
            bundle.model, ids, steps or _steps_for(quarters or 0.0), beam, processors=chain,
            table=table, views=reading,
        )[0]  # fmt: skip
        how = f"beam search, width {beam}"
    else:
        pick = samplers.get(sampler if sampler is not None else _stored_sampler(bundle))
        rows = generate(
            bundle.model, ids, steps, pick, processors=chain, table=table, seed=seed,
            batch_size=num, quarters=quarters, views=reading,
        )  # fmt: skip
        how = _describe(pick)
    if reading is not None:
        how += f", read in {len(reading)} keys"
    written_tempo = tempo or (music.tempo if music is not None else 120.0)
    after = None if table is None else Clock(table).run(np.asarray([ids]))  # the prime's end
    pieces: list[Continuation] = []
    for row in rows:
        kept = _whole_events(table, ids, after, row, quarters)
        made = _continuation(bundle, table, after, ids, kept)
        reached = quarters is None or made.length >= quarters - _EPS
        if not reached:
            messages.append(
                f"piece {len(pieces) + 1}: the {len(kept)} steps ran out after "
                f"{made.length:g} of {quarters:g} quarter notes (give more steps)"
            )
        music_made = replace(
            _fit(made.music, quarters), tempo=written_tempo, time_signature=signature
        )
        if barred and isinstance(music_made, Piece):  # from the model's bar line, in one metre
            music_made = replace(music_made, pickup=0.0, time_signature_changes=())
        length = float(quarters) if quarters is not None and reached else made.length
        pieces.append(replace(made, music=music_made, length=length, reached=reached))
    count = 1 if reading is None else len(reading)
    end = None if after is None else float(after.time[0])
    return Composition(tuple(pieces), tuple(ids), how, count, tuple(messages), end)


def _to_next_bar(
    bundle: Bundle, table: TokenTable, ids: list[int], time_signature: str | None
) -> tuple[list[int], str]:
    """The prime's ids ending with a ``bar`` (and the metre asked for), and the metre in force.

    Raises:
        ValueError: for a metre the model never learnt.
    """
    vocabulary = bundle.vocabulary
    metres = [vocabulary.decode([i])[0] for i in ids if table.kinds[i] == METRE]
    known = vocabulary.decode(np.flatnonzero(table.kinds == METRE))
    wanted = parse_time_signature(time_signature) if time_signature else None
    in_force = metres[-1] if metres else None
    if wanted is None and in_force is None:
        wanted = "4/4" if "4/4" in known else (known[0] if known else None)
    ids = [*ids, *(int(i) for i in np.flatnonzero(table.kinds == BAR)[:1])]
    if wanted is not None and wanted != in_force:
        if wanted not in known:
            raise ValueError(
                f"the model never learnt the metre {wanted}: it knows "
                f"{', '.join(sorted(known)) or 'no metre'}"
            )
        ids.append(vocabulary.encode([wanted])[0])
        in_force = wanted
    return ids, in_force or "4/4"


def continuation(
    bundle: Bundle, prime: Sequence[int] | np.ndarray, new: Sequence[int] | np.ndarray
) -> Continuation:
    """The music the ids `new` make after `prime`, its 0 where the prime's music ends.

    The prime and the new ids are decoded together (new ids may complete an
    event the prime began); the prime's own events are left out, and the rest
    moved so that the prime's end, as the token table's clock reads it, is 0.
    A new event that begins before it starts at 0 and ends where it ended (one
    that ends before it is left out).

    Examples:
        >>> from musegen.tokens.note_tokenizer import NoteTokenizer
        >>> from musegen.tokens.vocabulary import Vocabulary
        >>> from musegen.training.model import build_lstm
        >>> vocab = Vocabulary(["C4", "E4", "4th", "half", "+4th"])
        >>> bundle = Bundle(build_lstm(len(vocab), units=(4,)), NoteTokenizer(holds=True), vocab)
        >>> made = continuation(bundle, vocab.encode(["C4", "half"]),  # E4 steps back a quarter
        ...                     vocab.encode(["+4th", "E4", "half", "C4", "4th"]))
        >>> [(e.offset, e.duration, e.pitches) for e in made.music.events]
        [(0.0, 1.0, (64,)), (1.0, 1.0, (60,))]
    """
    table = _table(bundle)
    after = None if table is None else Clock(table).run(np.asarray([prime], dtype=np.int64))
    return _continuation(bundle, table, after, prime, new)


def _continuation(
    bundle: Bundle,
    table: TokenTable | None,
    after: Time | None,
    prime: Sequence[int] | np.ndarray,
    new: Sequence[int] | np.ndarray,
) -> Continuation:
    """`continuation`, given the table and the clock's `Time` after the prime (None: no table)."""
    tokenizer, vocabulary = bundle.tokenizer, bundle.vocabulary
    prime, new = [int(i) for i in prime], [int(i) for i in new]
    if table is not None and after is not None:
        zero = float(after.time[0])
    else:
        zero = float(tokenizer.decode(vocabulary.decode(prime)).duration)
    words = vocabulary.decode(prime), vocabulary.decode(new)
    skipped: tuple[tuple[int, str], ...] = ()
    music: Piece | Score
    if hasattr(tokenizer, "decode_score"):
        whole = tokenizer.decode_score([*words[0], *words[1]])
        before = tokenizer.decode_score(words[0])
        old = {(t.program, t.name, t.is_drum): t.piece.events for t in before.tracks}
        tracks = []
        for track in whole.tracks:
            known = old.get((track.program, track.name, track.is_drum), ())
            events = _new_events(track.piece.events, known, zero)
            if events:
                tracks.append(replace(track, piece=track.piece.with_events(events)))
        music = replace(whole, tracks=tuple(tracks))
        length = music.duration
    else:
        decoded, dropped = tokenizer.decode_with_skipped([*words[0], *words[1]])
        events = _new_events(decoded.events, tokenizer.decode(words[0]).events, zero)
        music = decoded.with_events(events)
        skipped = tuple((i - len(prime), t) for i, t in dropped if i >= len(prime))
        length = music.duration
    if table is not None and after is not None:  # the clock's length: a trailing rest counts
        length = float(Clock(table).run(np.asarray([new], dtype=np.int64), after).time[0]) - zero
    return Continuation(music, np.asarray(new, dtype=np.int64), skipped, max(length, 0.0), True)


def with_chord_track(
    music: Piece | Score, chords: ChordProgression, quarters: float | None = None
) -> Score:
    """`music` with `chords` as a track of block chords of its own, from the same 0.

    Examples:
        >>> piece = Piece((Event(0, 4, (60,)),))
        >>> [t.name for t in with_chord_track(piece, ChordProgression("C G")).tracks]
        ['music', 'chords']
    """
    length = quarters if quarters is not None else music.duration
    chords = _in_metre(chords, music.time_signature)  # a chord a bar: the music's bars
    backing = Track(chords.to_piece(length), program=0, name="chords")
    if isinstance(music, Score):
        return replace(music, tracks=(*music.tracks, backing))
    return Score(
        (Track(music, program=0, name="music"), backing),
        tempo=music.tempo,
        time_signature=music.time_signature,
    )


def key_lean(
    bundle: Bundle,
    music: Piece | Score,
    *,
    strength: float | None = None,
    views: int | None = None,
) -> tuple[PitchClassHistogram | None, str] | None:
    """The soft pull toward `music`'s key that `compose` adds, and the line that says so.

    None for a model read in one key (unless `strength` is given), a strength
    of 0 or music without pitches (`compose` adds none with a key, nor for a
    band). Music whose notes tie several keys (`musegen.keys.tied_keys`: a
    chromatic run, a lone triad) has no key to lean toward: the pull is None
    and the line says so. `musegen infill` leans the gap so.

    Examples:
        >>> from musegen.tokens.note_tokenizer import NoteTokenizer
        >>> from musegen.tokens.vocabulary import Vocabulary
        >>> from musegen.training.model import build_lstm
        >>> vocab = Vocabulary(["C4", "E4", "G4", "4th"])
        >>> bundle = Bundle(build_lstm(len(vocab), units=(4,)), NoteTokenizer(), vocab)
        >>> music = Piece(tuple(Event(i, 1, (p,)) for i, p in enumerate([60, 62, 64, 65, 67, 60])))
        >>> key_lean(bundle, music, strength=0.5)[1]
        "leaning toward C major, the prime's key (key strength 0.5; 0: not at all)"
        >>> key_lean(bundle, Piece((Event(0, 1, (60, 64, 67)),)), strength=0.5)
        (None, 'the prime has no clear key (C major and G major hold as many of its notes): \
none is leaned toward')
    """
    strength = _strength(bundle, strength, views)
    if isinstance(music, Score):
        music = music.merged()
    if not strength or not any(e.pitches for e in music.events):
        return None
    from musegen.keys import key_name, tied_keys

    found = tied_keys(music)
    keys = [key_name(key) for key in found]
    if len(keys) > 1:
        named = (
            " and ".join(keys) if len(keys) == 2 else f"{len(keys)} keys, {keys[0]} to {keys[-1]},"
        )
        tie = f"the prime has no clear key ({named} hold as many of its notes)"
        return None, f"{tie}: none is leaned toward"
    line = f"leaning toward {keys[0]}, the prime's key (key strength {strength:g}; 0: not at all)"
    return PitchClassHistogram.of_key(found[0], strength), line


def _strength(bundle: Bundle, strength: float | None, views: int | None) -> float:
    """The key lean's strength: as given (checked), else the default for how the model is read."""
    if strength is None:
        several = (bundle.view_semitones if views is None else views) > 0
        return GENERATION.key_strength if several else 0.0
    if not (np.isfinite(strength) and strength >= 0):
        raise ValueError(f"key_strength must be a finite number >= 0, got {strength}")
    return float(strength)


def _new_events(whole: Sequence[Event], prime: Sequence[Event], zero: float) -> tuple[Event, ...]:
    """The events of `whole` that `prime` does not hold, moved so that `zero` is 0."""
    left = Counter(prime)
    out = []
    for event in whole:
        if left[event] > 0:
            left[event] -= 1
            continue
        onset = event.offset - zero
        if onset < -_EPS:  # stepped back into the prime: from 0, ending where it ended
            if event.end - zero <= _EPS:
                continue
            event = replace(event, duration=event.end - zero)
            onset = 0.0
        out.append(replace(event, offset=max(onset, 0.0)))
    return tuple(out)


def _read_prime(prime: Any, band: bool) -> Piece | Score | None:
    """The prime's music when it is music or a file; None for ids, tokens or nothing.

    Raises:
        ValueError: for music with no note to continue: empty, or drums only for a
            single-track bundle (a band's drums are notes like its others), saying which.
    """
    from musegen.io.reading import read_piece, read_tracks

    if isinstance(prime, (Piece, Score)):
        if band and isinstance(prime, Piece):
            music: Piece | Score = Score((Track(prime, program=0),), tempo=prime.tempo,
                                         time_signature=prime.time_signature)  # fmt: skip
        else:
            music = prime.merged() if isinstance(prime, Score) and not band else prime
        _check_notes(music, prime, band, "the prime")
        return music
    if isinstance(prime, (str, os.PathLike)):
        path = Path(prime)
        music = read_tracks(path) if band else read_piece(path)
        _check_notes(music, path, band, str(path))
        return replace(music, **_at_the_end(path))  # the music goes on in the metre it ends in
    return None


def _check_notes(music: Piece | Score, given: Any, band: bool, name: str) -> None:
    """Raise ValueError when `music` has no note to continue: `name` is empty, or drums only."""
    notes = music.merged(drums=band) if isinstance(music, Score) else music
    if notes.notes:
        return
    if isinstance(given, Path):  # the reader left the drums out: were there any?
        from musegen.io.reading import MidiReadError, read_tracks

        try:
            given = read_tracks(given)
        except MidiReadError:
            given = music
    drums = isinstance(given, Score) and any(t.is_drum and t.piece.notes for t in given.tracks)
    if drums:
        raise ValueError(f"{name} has no pitched notes (drums only): nothing to continue")
    unended = dict(given.not_kept if isinstance(given, Score) else ()).get("unended note", 0)
    if unended:  # dropped by the readers, as symusic and pretty_midi drop them
        raise ValueError(
            f"{name} has no notes to continue: its {plural(unended, 'note')} "
            f"{'is' if unended == 1 else 'are'} never switched off (no note-off)"
        )
    raise ValueError(f"{name} is empty: no notes to continue")


def _at_the_end(path: Path) -> dict[str, Any]:
    """The tempo and metre a MIDI file is in where it ends (its last changes); {} for others."""
    if path.suffix.lower() not in (".mid", ".midi"):
        return {}
    from musegen.io.midi_fast import read_symusic
    from musegen.io.reading import MidiReadError

    try:
        score: Any = read_symusic(path)  # its tempos as the readers read them (none of 0)
    except MidiReadError:  # already read once: the reader named any fault
        return {}
    found: dict[str, Any] = {}
    if len(score.tempos):
        found["tempo"] = float(score.tempos[-1].qpm)
    if len(score.time_signatures):
        last = score.time_signatures[-1]
        try:
            found["time_signature"] = parse_time_signature(f"{last.numerator}/{last.denominator}")
        except ValueError:
            pass
    return found


def _prime_ids(bundle: Bundle, prime: Any, music: Any, messages: list[str]) -> list[int]:
    """The prime's ids: given, encoded from its music or tokens, or the bundle's stored prime.

    Music loses the notes the vocabulary cannot spell before it is encoded
    (`_spelt`), so that no duration or step is left without its notes; tokens
    the vocabulary still lacks are left out. Each is counted in `messages`.

    Raises:
        ValueError: when no note (or, for tokens, no token) of the vocabulary is left.
    """
    vocabulary = bundle.vocabulary
    if music is not None:
        music, lacking, total, named = _spelt(bundle, music, messages)
        if lacking == total:
            raise ValueError(
                f"none of the prime's {plural(total, 'note')} is in the bundle's vocabulary "
                f"(e.g. {', '.join(named)}): nothing to continue"
            )
        if lacking:
            verb, were = ("is", "was") if lacking == 1 else ("are", "were")
            messages.append(
                f"{lacking} of {total} prime notes {verb} not in the bundle's vocabulary "
                f"(e.g. {', '.join(named)}) and {were} skipped"
            )
        tokens = bundle.tokenizer.encode(music)
    elif prime is None:
        return [int(i) for i in bundle.metadata.get("prime") or [2]]
    elif all(isinstance(t, str) for t in prime):
        tokens = list(prime)
    else:
        return [int(i) for i in prime]
    if not tokens:
        raise ValueError("the prime is empty: no tokens to continue")
    mapped = vocabulary.encode(tokens)
    unknown = [t for t, i in zip(tokens, mapped, strict=True) if i == vocabulary.unk_id]
    named = list(dict.fromkeys(unknown))[:_NAMED]
    if len(unknown) == len(tokens):
        raise ValueError(
            f"none of the prime's {plural(len(tokens), 'token')} is in the bundle's vocabulary"
            + (f" (e.g. {', '.join(named)})" if named else "")
        )
    if unknown:
        verb, were = ("is", "was") if len(unknown) == 1 else ("are", "were")
        messages.append(
            f"{len(unknown)} of {len(tokens)} prime tokens {verb} not in the bundle's "
            f"vocabulary (e.g. {', '.join(named)}) and {were} skipped"
        )
    return [i for i in mapped if i != vocabulary.unk_id]


_NAMED = 3
"""How many of the tokens a prime lacks a message names."""


def _spelt(
    bundle: Bundle, music: Piece | Score, moved: list[str]
) -> tuple[Piece | Score, int, int, list[str]]:
    """`music` without the notes the vocabulary cannot spell, and (left out, notes, named).

    A band's prime track of an instrument the band lacks is played by the
    band's instrument that spells most of its notes (`_played_by_the_band`,
    said in `moved`).

    A note is spelt when every token that carries it in a note of its own (its
    pitch, and a band's instrument: what `TokenInfo.kind` calls ``"pitch"`` and
    ``"instrument"``) is in the vocabulary. A tokenizer whose tokens carry whole
    events (or that cannot describe them) keeps every note: its unknown tokens
    are left out one by one.
    """
    tokenizer, vocabulary = bundle.tokenizer, bundle.vocabulary
    known: dict[tuple[Any, int], list[str]] = {}  # (instrument, pitch) -> the tokens it lacks

    def lacks(track: Track | None, pitch: int) -> list[str]:
        key = (None if track is None else (track.program, track.is_drum), pitch)
        if key not in known:
            alone = Piece((Event(0.0, 1.0, (pitch,)),))
            one: Any = alone if track is None else Score((replace(track, piece=alone),))
            try:
                carried = [t for t in tokenizer.encode(one)
                           if tokenizer.describe(t).kind in ("pitch", "instrument")]  # fmt: skip
            except (AttributeError, NotImplementedError, TypeError, ValueError):
                carried = []  # no describe(): left to the tokens
            known[key] = [t for t in carried if t not in vocabulary]
        return known[key]

    total, left_out = 0, 0
    named: list[str] = []

    def kept(piece: Piece, track: Track | None) -> Piece:
        nonlocal total, left_out
        events = []
        for event in piece.events:
            pitches = []
            for pitch in event.pitches:
                missing = lacks(track, pitch)
                named.extend(t for t in missing if t not in named)
                if not missing:
                    pitches.append(pitch)
            total += len(event.pitches)
            left_out += len(event.pitches) - len(pitches)
            if pitches or event.is_rest:
                events.append(replace(event, pitches=tuple(pitches)))
        return piece.with_events(events)

    if isinstance(music, Score):
        tracks = tuple(_played_by_the_band(bundle, t, lacks, moved, number=i + 1)
                       for i, t in enumerate(music.tracks))  # fmt: skip
        tracks = tuple(replace(t, piece=kept(t.piece, t)) for t in tracks)
        music = replace(music, tracks=tuple(t for t in tracks if t.piece.notes))
    else:
        music = kept(music, None)
    return music, left_out, total, named[:_NAMED]


def _played_by_the_band(
    bundle: Bundle,
    track: Track,
    lacks: Callable[[Track, int], list[str]],
    moved: list[str],
    *,
    number: int = 1,
) -> Track:
    """`track`, or for an instrument the band lacks, as played by its instrument that fits best.

    The line in `moved` names the track by its `number` in the prime (from 1),
    then its name (or instrument) and program: two hands may share one name.

    The best fit spells the most of the track's notes, then reaches the most
    of them (music21's lowest note of the instrument), then sits highest (a
    tune goes to the violin, its bass to the cello); a pitched track is given
    pitched instruments only, drums to drums.
    """
    tokenizer, vocabulary = bundle.tokenizer, bundle.vocabulary
    prefix = getattr(tokenizer, "instrument_prefix", None)
    track_of = getattr(tokenizer, "track_of", None)
    if prefix is None or track_of is None or not hasattr(tokenizer, "instrument_of"):
        return track
    if prefix + tokenizer.instrument_of(track) in vocabulary or not track.piece.notes:
        return track
    names = [t[len(prefix) :] for t in vocabulary.tokens if t.startswith(prefix)]
    players = [p for p in map(track_of, names) if p.is_drum == track.is_drum]
    if not players:
        return track
    pitches = [p for e in track.piece.events for p in e.pitches]

    def spelt(player: Track) -> int:
        return sum(not lacks(player, p) for p in pitches)

    def fit(player: Track) -> tuple[int, int, int]:  # spelt, then reached, then the higher
        lowest = _instrument(player)[1]
        return spelt(player), sum(p >= lowest for p in pitches), lowest

    best = max(players, key=fit)  # max keeps the first of equals
    moved.append(
        f"the prime's track {number} ({track.name or _instrument(track)[0]}, program "
        f"{track.program}) is played "
        f"by the band's {_instrument(best)[0]} (program {best.program}), the instrument that "
        f"reaches the most of its notes ({fit(best)[1]} of {len(pitches)})"
    )
    return replace(track, program=best.program, is_drum=best.is_drum)


def _instrument(player: Track) -> tuple[str, int]:
    """The name and lowest MIDI pitch of `player`'s instrument, as music21 knows them.

    Examples:
        >>> _instrument(Track(Piece(()), program=42))
        ('Violoncello', 36)
    """
    if player.is_drum:
        return "drums", 0
    from music21 import instrument

    try:
        found = instrument.instrumentFromMidiProgram(player.program)
    except Exception:  # music21 knows no instrument for some programs
        return f"program {player.program}", 0
    lowest = found.lowestNote
    return str(found.instrumentName), int(lowest.midi) if lowest is not None else 0


def _in_metre(processor: Any, signature: str) -> Any:
    """A `ChordProgression` given a chord a bar, counted in the written metre."""
    if isinstance(processor, ChordProgression) and processor.per == "bar":
        config = processor.get_config()
        if config["time_signature"] != signature:
            return ChordProgression.from_config({**config, "time_signature": signature})
    return processor


def _whole_events(
    table: TokenTable | None,
    prime: Sequence[int],
    after: Time | None,
    row: np.ndarray,
    quarters: float | None,
) -> np.ndarray:
    """`row` without padding, cut at the length (beam rows) and after its last whole event.

    `after` is the clock's time after `prime` (None without a table).
    """
    row = np.asarray(row, dtype=np.int64)
    row = row[row != 0]  # the pad id: a stream that ended before the others
    if table is None or after is None:
        return row
    if quarters is not None:
        stop = LengthStop(Clock(table), after, quarters)
        for position, token in enumerate(row):
            if stop.update(np.asarray([token]), position):
                row = row[: stop.ends[0]]
                break
    # whether an id closes an event depends on the id before it: the prime's last one first;
    # a bar (and its metre) is whole in itself
    ids = np.asarray([[prime[-1], *row]])
    whole = table.closes(ids)[0] | np.isin(table.kinds[ids[0]], (BAR, METRE))
    closes = np.flatnonzero(whole) - 1
    return row[: closes.max() + 1] if closes.size and closes.max() >= 0 else row[:0]


def _fit(music: Piece | Score, quarters: float | None) -> Any:
    """`music` with no event past `quarters`: the last ones cut there."""
    if quarters is None:
        return music
    if isinstance(music, Score):
        return replace(
            music, tracks=tuple(replace(t, piece=_fit(t.piece, quarters)) for t in music.tracks)
        )
    kept = [
        replace(e, duration=min(e.duration, quarters - e.offset))
        for e in music.events
        if e.offset < quarters - _EPS
    ]
    return music.with_events(kept)


def _stored_sampler(bundle: Bundle, source: Any = "metadata.json") -> dict[str, Any]:
    """The bundle's sampler record, else the measured default.

    Raises:
        BundleError: for a record `musegen.generation.samplers.get` cannot build,
            starting with `source` (the bundle's ``metadata.json``).
    """
    record = bundle.metadata.get("generation")
    if not record:
        return GENERATION.to_dict()
    try:
        samplers.get(dict(record))
    except Exception as err:  # a sampler's constructor raises any type for a bad option
        from musegen.training.bundle import BundleError

        raise BundleError(
            f"{source}: config.generation takes a sampler musegen builds, such as "
            f"{{'name': 'top_p', 'p': 0.9}}: {' '.join(str(err).split())}"
        ) from None
    return dict(record)


def _describe(sampler: Any) -> str:
    """A sampler as a musician reads it: ``top-p 0.9``, ``greedy``, ``top-k 7, temperature 1.2``.

    No class names and no defaults: a temperature of 1 is left out, and so is
    any temperature of the greedy (argmax) sampler, which ignores it. A sampler
    of another kind is named by its class, without ``Sampler``.

    Examples:
        >>> from musegen.generation import samplers
        >>> _describe(samplers.get("top_p", p=0.9)), _describe(samplers.get("argmax"))
        ('top-p 0.9', 'greedy')
        >>> _describe(samplers.get("top_k", k=7, temperature=1.5))
        'top-k 7, temperature 1.5'
        >>> _describe(samplers.get("categorical", temperature=0.8))
        'plain sampling, temperature 0.8'
    """
    config = sampler.get_config() if hasattr(sampler, "get_config") else {}
    kind = type(sampler).__name__
    if kind == "ArgmaxSampler":
        return "greedy"
    named = {"TopPSampler": ("top-p", "p"), "TopKSampler": ("top-k", "k")}
    if kind in named:
        word, option = named[kind]
        value = config.get(option)
        words = f"{word} {value:g}" if isinstance(value, (int, float)) else word
    elif kind == "CategoricalSampler":
        words = "plain sampling"
    else:
        words = kind.removesuffix("Sampler") or kind
    temperature = config.get("temperature", 1.0)
    if isinstance(temperature, (int, float)) and temperature != 1.0:
        words += f", temperature {temperature:g}"
    return words


def _unreachable(table: TokenTable | None, chain: Sequence[Any]) -> str | None:
    """What a `PitchRange` of `chain` says when the vocabulary holds no pitch in it; else None.

    Every event would then be a rest: the piece would come out empty.
    """
    if table is None or not table.pitches.any():
        return None
    held = np.flatnonzero(table.pitches.any(axis=0))
    for processor in chain:
        if isinstance(processor, _processors.PitchRange):
            low, high = processor.low, processor.high
            if not ((held >= low) & (held <= high)).any():
                return (
                    f"pitch range {_pitch_name(low)} to {_pitch_name(high)} holds none of the "
                    f"bundle's pitches ({_pitch_name(held[0])} to {_pitch_name(held[-1])}): "
                    "the music would be silent"
                )
    return None


def _pitch_name(pitch: int) -> str:
    """``Eb5`` for 75: a MIDI pitch as a name, flats as ``b``.

    Examples:
        >>> _pitch_name(75), _pitch_name(36)
        ('Eb5', 'C2')
    """
    from music21 import pitch as m21pitch

    return str(m21pitch.Pitch(midi=int(pitch)).nameWithOctave).replace("-", "b")


def _table(bundle: Bundle) -> TokenTable | None:
    """The vocabulary's `TokenTable`, or None for a tokenizer that cannot describe its tokens."""
    try:
        return TokenTable.build(bundle.tokenizer, bundle.vocabulary)
    except TypeError:
        return None
