"""MusicXML out and in: chords stay chords, bars add up to the metre, the events read back."""

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from fractions import Fraction

import pytest

from musegen.events import Event, Piece
from musegen.io.corpus import load_corpus
from musegen.io.reading import read_tracks
from musegen.io.writing import piece_to_stream

# Held notes under moving ones (two voices), a note tied over the bar line, a gap, triplets.
HELD = Piece(
    (Event(0, 4, (48, 55), 90), Event(1, 1, (64,)), Event(2, 1, (65, 67)), Event(3, 2, (72,)),
     Event(5, 0.5, (60,)), Event(6, 1 / 3, (62,)), Event(6 + 1 / 3, 1 / 3, (64,)),
     Event(6 + 2 / 3, 1 / 3, (65,)), Event(7, 1.5, (60, 64, 67))),
    tempo=90.0, time_signature="3/4",
)  # fmt: skip

# A held note of the second voice tied over the bar line while the first strikes its pitch.
CROSSED = Piece(
    (Event(0, 2, (64,)), Event(1, 5, (60,)), Event(2, 2, (67,)), Event(4, 1, (60, 72)),
     Event(5, 1, (62,))),
)  # fmt: skip


def _spans(piece):
    return [(e.offset, e.duration, e.pitches) for e in piece.notes]


def _bars(path):
    """Per measure of the file's one part, from the XML: (its length and the metre, in quarters;
    the notes struck as members of a chord)."""
    part = ET.parse(path).getroot().find("part")
    bars, divisions, metre = [], None, None
    for measure in part.findall("measure"):
        divisions = int(measure.findtext("attributes/divisions") or divisions)
        if measure.find("attributes/time") is not None:
            time = measure.find("attributes/time")
            metre = Fraction(4 * int(time.findtext("beats")), int(time.findtext("beat-type")))
        at = end = chords = 0
        for item in measure:
            if item.tag == "note" and item.find("chord") is not None:
                chords += item.find("tie[@type='stop']") is None  # not a tied continuation
            elif item.tag in ("note", "forward"):
                at += int(item.findtext("duration"))
            elif item.tag == "backup":
                at -= int(item.findtext("duration"))
            end = max(end, at)
        bars.append((Fraction(end, divisions), metre, chords))
    return bars


@pytest.mark.parametrize("which", ["chorale", "held", "crossed"])
def test_a_musicxml_export_reads_back_the_same_events_in_whole_bars(which, tmp_path):
    piece = (
        load_corpus("music21:bach", limit=1, progress=False).pieces[0]
        if which == "chorale"
        else HELD
    )
    out = piece_to_stream(piece).write("musicxml", tmp_path / "piece.musicxml")
    score = read_tracks(out)
    assert len(score.tracks) == 1
    assert _spans(score.tracks[0].piece) == _spans(piece)
    assert (score.tempo, score.time_signature) == (piece.tempo, piece.time_signature)
    bars = _bars(out)
    pickup = Fraction(piece.pickup)  # the chorale starts with a pickup: a short measure 0
    assert all(length == metre for length, metre, _ in bars[1 if pickup else 0 :]), bars
    assert not pickup or bars[0][0] == pickup, bars
    assert sum(chords for *_, chords in bars) == sum(len(e.pitches) - 1 for e in piece.notes)
    root = ET.parse(out).getroot()
    assert len(root.findall("part")) == 1 and root.find(".//staves") is None  # one staff


@pytest.mark.skipif(shutil.which("mscore3") is None, reason="needs MuseScore 3 (mscore3)")
def test_musescore_engraves_the_export_and_reads_its_chords(tmp_path):
    piece = load_corpus("music21:bach", limit=1, progress=False).pieces[0]
    xml = piece_to_stream(piece).write("musicxml", tmp_path / "chorale.musicxml")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    for out in ("chorale.png", "chorale.mid"):  # the notation, and MuseScore's playback of it
        command = ["mscore3", "-o", str(tmp_path / out), str(xml)]
        subprocess.run(command, env=env, capture_output=True, timeout=120, check=True)
    pages = sorted(tmp_path.glob("chorale*.png"))
    assert pages and all(p.read_bytes()[:4] == b"\x89PNG" for p in pages)
    heard = {(e.offset, p) for e in read_tracks(tmp_path / "chorale.mid").merged().notes
             for p in e.pitches}  # fmt: skip
    spans = [(e.offset, e.offset + e.duration, p) for e in piece.notes for p in e.pitches]
    written = {(start, p) for start, _, p in spans}
    assert heard <= written
    # MIDI cannot strike a pitch again while it sounds: MuseScore leaves out those notes only
    for start, pitch in written - heard:
        assert any(s < start < end and p == pitch for s, end, p in spans), (start, pitch)


BAND = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1">
  <part-list>
    <score-part id="P1"><part-name>Fingered Bass</part-name>
      <score-instrument id="P1-I1"><instrument-name>Electric Bass</instrument-name>
      </score-instrument>
      <midi-instrument id="P1-I1"><midi-channel>1</midi-channel><midi-program>34</midi-program>
      </midi-instrument></score-part>
    <score-part id="P2"><part-name>Drumset</part-name>
      <score-instrument id="P2-I37"><instrument-name>Bass Drum</instrument-name>
      </score-instrument>
      <score-instrument id="P2-I39"><instrument-name>Snare</instrument-name></score-instrument>
      <midi-instrument id="P2-I37"><midi-channel>10</midi-channel><midi-unpitched>37</midi-unpitched>
      </midi-instrument>
      <midi-instrument id="P2-I39"><midi-channel>10</midi-channel><midi-unpitched>39</midi-unpitched>
      </midi-instrument></score-part>
  </part-list>
  <part id="P1"><measure number="1">
    <attributes><divisions>1</divisions><time><beats>2</beats><beat-type>4</beat-type></time>
      <clef><sign>F</sign><line>4</line></clef></attributes>
    <note><pitch><step>E</step><octave>2</octave></pitch><duration>1</duration></note>
    <note><pitch><step>G</step><octave>2</octave></pitch><duration>1</duration></note>
  </measure></part>
  <part id="P2"><measure number="1">
    <attributes><divisions>1</divisions><time><beats>2</beats><beat-type>4</beat-type></time>
      <clef><sign>percussion</sign></clef></attributes>
    <note><unpitched><display-step>F</display-step><display-octave>4</display-octave></unpitched>
      <duration>1</duration><instrument id="P2-I37"/></note>
    <note><unpitched><display-step>C</display-step><display-octave>5</display-octave></unpitched>
      <duration>1</duration><instrument id="P2-I39"/></note>
    <note><unpitched><display-step>F</display-step><display-octave>4</display-octave></unpitched>
      <duration>1</duration><instrument id="P2-I37"/></note>
  </measure></part>
</score-partwise>
"""


@pytest.mark.parametrize("suffix", [".musicxml", ".mxl"])
def test_import_reads_the_midi_program_and_keeps_the_drum_part(suffix, tmp_path):
    path = tmp_path / f"band{suffix}"
    if suffix == ".mxl":  # compressed MusicXML: a zip with a container naming the score
        import zipfile

        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(
                "META-INF/container.xml",
                '<container><rootfiles><rootfile full-path="score.xml"/></rootfiles></container>',
            )
            archive.writestr("score.xml", BAND)
    else:
        path.write_text(BAND)
    score = read_tracks(path)
    tracks = [(t.name, t.program, t.is_drum, _spans(t.piece)) for t in score.tracks]
    assert tracks == [
        ("Fingered Bass", 33, False, [(0.0, 1.0, (40,)), (1.0, 1.0, (43,))]),  # 34, 1-based
        ("Drumset", 0, True, [(0.0, 1.0, (36,)), (1.0, 1.0, (38,)), (2.0, 1.0, (36,))]),
    ]
