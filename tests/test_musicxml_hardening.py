"""MusicXML that music21 reads gives music or one `MidiReadError` naming the file, never a crash.

Each case starts from a real file of music21's corpus (Bach's BWV 66.6, a Haydn
quartet movement) and changes what a MusicXML writer may put there: the ids of
the parts, the MIDI data of their instruments, the case of the suffix. The
recipe encoding's pitch-class tokens (``Tokenizer.skuli``) transpose too.
"""

from __future__ import annotations

import functools
import io
import shutil
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from music21 import corpus

from musegen.io.corpus import load_corpus
from musegen.io.reading import MidiReadError, read_piece, read_tracks
from musegen.tokens.tokenizer import Tokenizer
from musegen.tokens.transposition import transpose_token, transposed_vocabulary
from musegen.tokens.vocabulary import Vocabulary


def _score_xml(work: str) -> str:
    """The MusicXML text inside a compressed corpus file (``.mxl``)."""
    with zipfile.ZipFile(corpus.getWork(work)) as archive:
        container = ET.fromstring(archive.read("META-INF/container.xml"))
        rootfile = container.find(".//rootfile")
        assert rootfile is not None
        return archive.read(rootfile.get("full-path", "")).decode("utf-8")


def _tracks(path: Path) -> list[tuple[str, int, bool, list[tuple[float, float, tuple[int, ...]]]]]:
    return [
        (t.name, t.program, t.is_drum, [(e.offset, e.duration, e.pitches) for e in t.piece.notes])
        for t in read_tracks(path).tracks
    ]


def _write(root: ET.Element, path: Path) -> Path:
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def _drums(root: ET.Element) -> ET.Element:
    """The chorale with its bass a drum part: two drum sounds, each note naming one."""
    score_part = root.find("part-list/score-part[@id='P4']")
    part = root.find("part[@id='P4']")
    assert score_part is not None and part is not None
    for old in score_part.findall("midi-instrument") + score_part.findall("score-instrument"):
        score_part.remove(old)
    for key, name in ((36, "Bass Drum"), (38, "Snare")):
        sound = ET.SubElement(score_part, "score-instrument", id=f"P4-I{key}")
        ET.SubElement(sound, "instrument-name").text = name
    for key in (36, 38):
        midi = ET.SubElement(score_part, "midi-instrument", id=f"P4-I{key}")
        ET.SubElement(midi, "midi-channel").text = "10"
        ET.SubElement(midi, "midi-unpitched").text = str(key + 1)  # 1-based
    for number, mx_note in enumerate(part.iter("note")):
        pitch = mx_note.find("pitch")
        if pitch is None:
            continue
        index = list(mx_note).index(pitch)
        mx_note.remove(pitch)
        unpitched = ET.Element("unpitched")
        ET.SubElement(unpitched, "display-step").text = "F" if number % 2 else "C"
        ET.SubElement(unpitched, "display-octave").text = "4" if number % 2 else "5"
        mx_note.insert(index, unpitched)
        ET.SubElement(mx_note, "instrument", id=f"P4-I{36 if number % 2 else 38}")
    return root


@pytest.fixture(scope="module")
def chorale() -> str:
    return _chorale()


@functools.cache
def _chorale() -> str:
    return _score_xml("bach/bwv66.6")


@pytest.fixture(scope="module")
def quartet() -> str:
    return _score_xml("haydn/opus74no1/movement3")


# -- (a) a <midi-unpitched> that is not a number -------------------------------------


def test_junk_midi_unpitched_in_a_second_midi_instrument_reads_the_score(chorale, tmp_path):
    """music21 reads a part's first <midi-instrument> only; the drum keys read them all."""
    plain = _tracks(_write(ET.fromstring(chorale), tmp_path / "plain.musicxml"))
    root = ET.fromstring(chorale)
    for score_part in root.iter("score-part"):
        extra = ET.SubElement(score_part, "midi-instrument", id=f"{score_part.get('id')}-I9")
        ET.SubElement(extra, "midi-unpitched").text = "abc"
    assert _tracks(_write(root, tmp_path / "junk.musicxml")) == plain


def test_junk_midi_unpitched_of_a_drum_sound_keeps_the_other_sounds(chorale, tmp_path):
    plain = _tracks(_write(_drums(ET.fromstring(chorale)), tmp_path / "drums.musicxml"))
    assert plain[3][:3] == ("Bass", 0, True)
    assert {p for _, _, pitches in plain[3][3] for p in pitches} == {36, 38}
    root = _drums(ET.fromstring(chorale))
    snare = root.find("part-list/score-part/midi-instrument[@id='P4-I38']/midi-unpitched")
    assert snare is not None
    snare.text = "abc"
    tracks = _tracks(_write(root, tmp_path / "junk.musicxml"))
    assert tracks[:3] == plain[:3]
    assert 36 in {p for _, _, pitches in tracks[3][3] for p in pitches}


# -- (b) a part id holding a quote ---------------------------------------------------


@pytest.mark.parametrize("part_id", ["P'1", 'P"1', "P'\"1", "]", "Ṗ 1", ""])
def test_a_part_id_with_quotes_or_brackets_reads_the_score(part_id, quartet, tmp_path):
    plain = _tracks(_write(ET.fromstring(quartet), tmp_path / "plain.musicxml"))
    root = ET.fromstring(quartet)
    for element in [*root.iter("score-part"), *root.iter("part")]:
        if element.get("id") == "P1":
            element.set("id", part_id)
    assert _tracks(_write(root, tmp_path / "quoted.musicxml")) == plain


def test_a_drum_part_id_with_a_quote_keeps_its_drum_keys(chorale, tmp_path):
    plain = _tracks(_write(_drums(ET.fromstring(chorale)), tmp_path / "drums.musicxml"))
    root = _drums(ET.fromstring(chorale))
    for element in [*root.iter("score-part"), *root.iter("part")]:
        if element.get("id") == "P4":
            element.set("id", "P'4")
    assert _tracks(_write(root, tmp_path / "quoted.musicxml")) == plain


# -- (c) compressed MusicXML with an upper-case suffix -------------------------------


@pytest.mark.parametrize("suffix", [".MXL", ".Mxl"])
def test_an_upper_case_mxl_suffix_reads_as_mxl(suffix, tmp_path):
    lower = Path(shutil.copy(corpus.getWork("bach/bwv66.6"), tmp_path / "bwv66.6.mxl"))
    upper = tmp_path / "upper" / f"bwv66.6{suffix}"
    upper.parent.mkdir()
    shutil.copy(lower, upper)
    assert _tracks(upper) == _tracks(lower)
    assert read_piece(upper).events == read_piece(lower).events
    found = load_corpus(upper.parent, progress=False)
    assert found.failures == [] and found.pieces[0].events == read_piece(lower).events


def test_a_corrupt_musicxml_file_is_one_error_naming_the_file_and_its_format(tmp_path):
    bad = tmp_path / "broken.MXL"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(MidiReadError, match=r"broken\.MXL.*MusicXML") as caught:
        read_tracks(bad)
    assert "MIDI" not in caught.value.reason


# -- (d) the recipe encoding's pitch classes -----------------------------------------


@pytest.mark.parametrize(
    ("token", "semitones", "moved"),
    [
        ("0", 2, "2"),  # a unison chord: one pitch class
        ("11", 1, "0"),
        ("0", -1, "11"),
        ("4.7.11", 1, "5.8.0"),  # chords stay in normal order
        ("0.4.7", 2, "2.6.9"),
        ("0.4.7", 60, "0.4.7"),  # pitch classes never leave the range
        ("0", -61, "11"),
        ("C4", 2, "D4"),  # a note keeps its octave
    ],
)
def test_the_recipe_encodings_pitch_class_tokens_transpose_mod_12(token, semitones, moved):
    assert transpose_token(Tokenizer.skuli(), token, semitones) == moved


def test_a_recipe_vocabulary_transposes_and_decodes_as_the_moved_music():
    tok = Tokenizer.skuli()
    vocab = Vocabulary(["0", "4.7.11", "C4", "G9", "11"])
    moved = transposed_vocabulary(tok, vocab, 3)
    assert moved.tokens == ["3", "7.10.2", "E-4", "<out of range: G9>", "2"]
    for before, after in zip(vocab.tokens[:3], moved.tokens[:3], strict=True):
        classes = {p % 12 for e in tok.decode([before]).events for p in e.pitches}
        assert {p % 12 for e in tok.decode([after]).events for p in e.pitches} == {
            (c + 3) % 12 for c in classes
        }


# -- any attribute values: music, or one error naming the file -----------------------

_JUNK = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", " ", "abc", "1e3", "0x10", "١٢", "½", "None", "-0", "+5", "1_0"]),
    st.text(max_size=12),
)
_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
_FIELDS = ("midi-channel", "midi-program", "midi-unpitched", "volume", "pan", "midi-bank")


def _xml_safe(text: str) -> str:
    """`text` less the characters XML 1.0 cannot hold."""
    return "".join(
        c for c in text if c in "\t\n\r" or 0x20 <= ord(c) <= 0xD7FF or 0xE000 <= ord(c) <= 0xFFFD
    )


@st.composite
def _mutations(draw: st.DrawFn) -> list[tuple[str, int, str, str]]:
    """(what, part index 0..3, field, value) changes to the chorale with a drum part."""
    changes = []
    for _ in range(draw(st.integers(1, 6))):
        what = draw(st.sampled_from(["midi", "id", "name", "instrument-name"]))
        part = draw(st.integers(0, 3))
        field = draw(st.sampled_from(_FIELDS))
        value = draw(_TEXT if what in ("id", "name", "instrument-name") else _JUNK)
        changes.append((what, part, field, _xml_safe(value)))
    return changes


def _mutated(text: str, changes: list[tuple[str, int, str, str]]) -> bytes:
    root = _drums(ET.fromstring(text))
    score_parts = root.findall("part-list/score-part")
    parts = root.findall("part")
    for what, index, field, value in changes:
        score_part, part = score_parts[index], parts[index]
        if what == "id":
            score_part.set("id", value)
            part.set("id", value)
        elif what == "name":
            name = score_part.find("part-name")
            assert name is not None
            name.text = value
        elif what == "instrument-name":
            for name in score_part.iter("instrument-name"):
                name.text = value
        else:
            for midi in score_part.findall("midi-instrument"):
                element = midi.find(field)
                if element is None:
                    element = ET.SubElement(midi, field)
                element.text = value
    out = io.BytesIO()
    ET.ElementTree(root).write(out, encoding="utf-8", xml_declaration=True)
    return out.getvalue()


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=_mutations())
def test_any_midi_instrument_values_give_music_or_one_error_naming_the_file(changes, tmp_path):
    path = tmp_path / "mutated.musicxml"
    path.write_bytes(_mutated(_chorale(), changes))
    try:
        score = read_tracks(path)
    except MidiReadError as err:
        assert err.path == str(path) and str(path) in str(err)
        assert "\n" not in str(err)
        event("read: one error naming the file")
    else:
        assert score.tracks, changes  # the voices are there whatever the MIDI data says
        for track in score.tracks:
            assert all(0 <= p <= 127 for e in track.piece.notes for p in e.pitches)
        event("read: music")


# -- a metre MIDI cannot hold as written ---------------------------------------------


def test_a_mixed_metre_is_read_as_the_bar_midi_holds_and_written(tmp_path):
    """music21 reports 2/4+3/8 as it is written; MIDI holds its bar, 7/8 (mido reads it back)."""
    import mido
    from music21 import meter, note, stream

    from musegen.io.writing import write_midi

    part = stream.Part(
        [meter.TimeSignature("2/4+3/8"), *(note.Note("C4", quarterLength=0.5) for _ in range(7))]
    )
    path = tmp_path / "mixed.musicxml"
    stream.Score([part]).write("musicxml", fp=path)
    piece = read_piece(path)
    assert piece.time_signature == "7/8"
    out = write_midi(piece, tmp_path / "mixed.mid")
    metres = [
        (m.numerator, m.denominator)
        for track in mido.MidiFile(out).tracks
        for m in track
        if m.type == "time_signature"
    ]
    assert metres == [(7, 8)]
