"""The prime, as `compose` and ``musegen generate`` read it, on real music (issue 35, item 5).

Notes the bundle's vocabulary lacks are counted, named and left out whole (their
durations with them); a prime with none left, an empty one and a drums-only one
each say so; a prime without a clear key is not leaned toward one. The chorale
is music21's BWV 66.6 written to MIDI with all four parts; the shipped
``musegen:folk`` bundle learnt tunes from E3 up, so the chorale's bass is
mostly out of its reach.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from musegen.cli import main
from musegen.events import Event, Piece
from musegen.generation.compose import compose, key_lean
from musegen.io.reading import read_piece
from musegen.io.tracks import Score, Track
from musegen.io.writing import write_midi
from musegen.keys import best_key


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> dict[str, Path]:
    """BWV 66.6 with all parts, its bass alone two octaves down, and a chromatic scale."""
    from music21 import corpus

    folder = tmp_path_factory.mktemp("primes")
    chorale = corpus.parse("bach/bwv66.6")
    chorale.write("midi", fp=folder / "chorale.mid")
    bass = chorale.parts[-1].transpose(-24)  # below every pitch the folk bundle knows
    bass.write("midi", fp=folder / "low-bass.mid")
    chromatic = Piece(tuple(Event(i * 0.5, 0.5, (60 + i % 12,)) for i in range(24)))
    write_midi(chromatic, folder / "chromatic.mid")
    return {
        "chorale": folder / "chorale.mid",
        "low-bass": folder / "low-bass.mid",
        "chromatic": folder / "chromatic.mid",
    }


@pytest.fixture(scope="module")
def bundles() -> dict[str, object]:
    from musegen.training.bundle import load_bundle

    return {name: load_bundle(f"musegen:{name}") for name in ("chorales", "folk", "quartets")}


def _notes(piece: Piece) -> list[int]:
    return [p for e in piece.notes for p in e.pitches]


def test_prime_notes_the_vocabulary_lacks_are_counted_named_and_left_out_whole(
    bundles, real
) -> None:
    folk = bundles["folk"]
    prime = read_piece(real["chorale"])
    spelt = set(folk.vocabulary.tokens)
    lacking = [p for p in _notes(prime) if folk.tokenizer.pitches_to_text((p,)) not in spelt]
    assert 0 < len(lacking) < len(_notes(prime))
    made = compose(folk, real["chorale"], bars=1, seed=0)
    said = [line for line in made.messages if "prime notes" in line]
    assert len(said) == 1, made.messages
    match = re.fullmatch(
        r"(\d+) of (\d+) prime notes are not in the bundle's vocabulary \(e\.g\. (.+)\) "
        r"and were skipped",
        said[0],
    )
    assert match, said[0]
    assert (int(match[1]), int(match[2])) == (len(lacking), len(_notes(prime)))
    named = match[3].split(", ")
    assert named and all(name not in spelt for name in named)
    # the prime the model reads is whole: no duration or step left without its notes
    read, skipped = folk.tokenizer.decode_with_skipped(folk.vocabulary.decode(made.prime))
    assert skipped == []
    kept = _notes(read)
    assert kept and all(folk.tokenizer.pitches_to_text((p,)) in spelt for p in kept)


def test_a_prime_the_vocabulary_holds_says_nothing(bundles, real) -> None:
    made = compose(bundles["chorales"], real["chorale"], bars=1, seed=0)
    assert not [line for line in made.messages if "vocabulary" in line], made.messages


def test_a_prime_with_no_note_of_the_vocabulary_is_refused_naming_them(
    bundles, real, tmp_path, capsys
) -> None:
    with pytest.raises(ValueError, match=r"none of the prime's \d+ notes is in the bundle's "
                                         r"vocabulary \(e\.g\. [^)]+\)"):  # fmt: skip
        compose(bundles["folk"], real["low-bass"], bars=1, seed=0)
    out = tmp_path / "x.mid"
    assert main(["generate", "musegen:folk", "--prime", str(real["low-bass"]), "--bars", "1",
                 "--out", str(out)]) == 1  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("musegen: none of the prime's "), err
    assert not out.exists()


def _empty_and_drums(folder: Path) -> tuple[Path, Path]:
    import symusic

    empty = symusic.Score(480)
    empty.tracks.append(symusic.Track("piano", 0, False))
    empty.dump_midi(str(folder / "empty.mid"))
    kit = Track(Piece(tuple(Event(i * 0.5, 0.5, (36 + 2 * (i % 2),)) for i in range(8))),
                name="kit", is_drum=True)  # fmt: skip
    return folder / "empty.mid", write_midi(Score((kit,)), folder / "drums.mid")


@pytest.mark.parametrize("name", ["folk", "quartets"])
def test_an_empty_or_drums_only_prime_file_says_which(name, bundles, tmp_path, capsys) -> None:
    empty, drums = _empty_and_drums(tmp_path)
    with pytest.raises(ValueError, match=re.escape(f"{empty} is empty")):
        compose(bundles[name], empty, bars=1)
    if name == "folk":  # a band's drums are notes like any other, in its vocabulary or not
        with pytest.raises(
            ValueError, match=re.escape(f"{drums} has no pitched notes (drums only)")
        ):
            compose(bundles[name], drums, bars=1)
    else:
        with pytest.raises(ValueError, match=r"none of the prime's 8 notes .*\(e\.g\. @drums\)"):
            compose(bundles[name], drums, bars=1)
    for prime, said in ((empty, "is empty"), (drums, "drums")):
        assert main(["generate", f"musegen:{name}", "--prime", str(prime), "--bars", "1",
                     "--out", str(tmp_path / "x.mid")]) == 1  # fmt: skip
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and said in err[0] and "no token of the vocabulary" not in err[0], err


@pytest.mark.parametrize("name", ["folk", "quartets"])
def test_an_empty_or_drums_only_prime_piece_says_which(name, bundles) -> None:
    with pytest.raises(ValueError, match="the prime is empty"):
        compose(bundles[name], Piece(()), bars=1)
    kit = Score((Track(Piece((Event(0, 1, (36,)),)), is_drum=True),))
    said = "the prime has no pitched notes (drums only)" if name == "folk" else "(e.g. @drums)"
    with pytest.raises(ValueError, match=re.escape(said)):
        compose(bundles[name], kit, bars=1)


def test_a_chromatic_prime_has_no_clear_key_and_is_not_leaned_toward_one(bundles, real) -> None:
    made = compose(bundles["chorales"], real["chromatic"], bars=1, seed=0, key_strength=0.5)
    assert not [line for line in made.messages if "leaning toward" in line], made.messages
    from musegen.keys import tied_keys

    chromatic = read_piece(real["chromatic"])
    assert len(tied_keys(chromatic)) == 12  # every major scale holds 7 of its 12 pitch classes
    said = [line for line in made.messages if "no clear key" in line]
    assert len(said) == 1 and said[0].startswith("the prime has no clear key"), made.messages
    lean = key_lean(bundles["chorales"], chromatic, strength=0.5)
    assert lean is not None and lean[0] is None


def test_a_chorale_has_a_clear_key_and_is_leaned_toward_it(bundles, real) -> None:
    chorale = read_piece(real["chorale"])
    made = compose(bundles["chorales"], real["chorale"], bars=1, seed=0, key_strength=0.5)
    assert f"leaning toward {best_key(chorale)}, the prime's key" in made.messages[0]
    from musegen.keys import tied_keys

    assert tied_keys(chorale) == (best_key(chorale),)


def test_tied_keys_breaks_ties_as_best_key_does() -> None:
    """A major key and its relative minor hold the same notes: one scale, one key. C D E F G C
    fits C major and F major alike, and C, its tonic, sounds most: a clear key."""
    from musegen.keys import tied_keys

    scale = Piece(tuple(Event(i, 1, (p,)) for i, p in enumerate([60, 62, 64, 65, 67, 60])))
    assert tied_keys(scale) == ("C major",) and best_key(scale) == "C major"
    single = Piece((Event(0, 1, (60,)),))
    assert tied_keys(single) == ("C major", "C minor")
    triad = Piece((Event(0, 1, (60, 64, 67)),))
    assert tied_keys(triad) == ("C major", "G major")


def test_a_prime_whose_notes_never_end_says_so(bundles, tmp_path) -> None:
    """The readers drop notes never switched off (as symusic and pretty_midi do): say why."""
    import mido

    path = tmp_path / "noend.mid"
    track = mido.MidiTrack(
        [mido.Message("note_on", note=60 + i, velocity=80, time=480 * bool(i)) for i in range(3)]
    )
    mido.MidiFile(tracks=[track]).save(path)
    with pytest.raises(
        ValueError,
        match=re.escape(f"{path} has no notes to continue: its 3 notes are never switched off"),
    ):
        compose(bundles["folk"], path, bars=1)


def test_a_piano_prime_for_a_string_quartet_is_played_by_the_strings_that_reach_it(bundles):
    """A real two-hand piano file: its right hand goes to an upper string, its left to the cello."""
    path = Path(__file__).resolve().parents[1] / "data" / "skuli-midi" / "8.mid"
    made = compose(bundles["quartets"], path, bars=2, seed=0)
    moved = [m for m in made.messages if "is played by the band's" in m]
    assert moved, made.messages
    said = {re.sub(r"^the prime's track \d+ \(([^,]+), program \d+\).*", r"\1", m): m
            for m in moved}  # fmt: skip
    assert "Violoncello (program 42)" in said["Piano LH"]
    assert "Violoncello" not in said["Piano RH"]
    music = made.pieces[0].music
    assert {t.program for t in music.tracks} <= {40, 41, 42}
    assert sum(len(t.piece.notes) for t in music.tracks) > 0


def test_the_primes_tracks_are_named_by_their_numbers(bundles, tmp_path) -> None:
    """Two hands both named "Piano" gave two identical lines; a track named "Created" read as
    "the prime's Created (program 0)"."""
    hand = Piece(tuple(Event(i, 1, (p,)) for i, p in enumerate([72, 74, 76, 77, 79, 77, 76, 74])))
    score = Score((Track(hand, program=0, name="Piano"),
                   Track(hand.transpose(-24), program=0, name="Piano")))  # fmt: skip
    made = compose(bundles["quartets"], score, bars=1, seed=0)
    moved = [m for m in made.messages if "is played by the band's" in m]
    assert [m.split(" is played")[0] for m in moved] == [
        "the prime's track 1 (Piano, program 0)",
        "the prime's track 2 (Piano, program 0)",
    ], moved


def test_the_lean_names_the_key_as_its_signature_spells_it(bundles, tmp_path) -> None:
    """The Maple Leaf Rag (A-flat major) was "G# major"; an E-flat tune "E- major"."""
    from music21 import corpus

    rag = tmp_path / "maple.mid"
    corpus.parse("joplin/maple_leaf_rag").write("midi", fp=rag)
    lean = key_lean(bundles["chorales"], read_piece(rag), strength=0.5)
    assert lean is not None and lean[1].startswith("leaning toward Ab major,"), lean
    e_flat = Piece(tuple(Event(i, 1, (p,)) for i, p in enumerate([63, 65, 67, 68, 70, 72, 74, 63])))
    lean = key_lean(bundles["chorales"], e_flat, strength=0.5)
    assert lean is not None and lean[1].startswith("leaning toward Eb major,"), lean


def test_a_pitch_range_the_bundle_never_plays_is_refused(tmp_path, capsys) -> None:
    """``--pitch-range C8:C9`` wrote an empty file and exited 0."""
    out = tmp_path / "x.mid"
    assert main(["generate", "musegen:chorales", "--pitch-range", "C8:C9", "--bars", "1",
                 "--out", str(out)]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "C8:C9" in err[0] and "A1 to G6" in err[0], err
    assert not out.exists()


def test_an_empty_piece_says_so(tmp_path, capsys) -> None:
    """``--steps 1`` wrote "0 notes and chords" without a word."""
    out = tmp_path / "x.mid"
    assert main(["generate", "musegen:chorales", "--steps", "1", "--seed", "0",
                 "--out", str(out)]) == 0  # fmt: skip
    said = capsys.readouterr().out
    assert "piece 1 is empty" in said, said


def test_a_key_strength_for_a_band_says_it_is_not_used(tmp_path, capsys) -> None:
    """A band is never leaned toward a key: ``--key-strength 0.5`` said nothing."""
    out = tmp_path / "x.mid"
    assert main(["generate", "musegen:quartets", "--bars", "1", "--seed", "0",
                 "--key-strength", "0.5", "--out", str(out)]) == 0  # fmt: skip
    said = capsys.readouterr().out
    assert "--key-strength 0.5 is ignored" in said, said


def test_k_for_the_bundles_own_sampler_is_refused_when_it_is_not_top_k(tmp_path, capsys) -> None:
    """No --sampler: the bundle's sampler decides; ``--k 5`` with top_p was dropped."""
    assert main(["generate", "musegen:chorales", "--k", "5", "--bars", "1",
                 "--out", str(tmp_path / "x.mid")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "--k is an option of --sampler top_k" in err, err
