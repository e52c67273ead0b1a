"""Infilling: a span of a piece regenerated from the music before it, scored by the music after."""

from __future__ import annotations

import numpy as np
import pytest

from musegen.events import Piece
from musegen.generation.infill import _leading_to, infill
from musegen.io.corpus import load_corpus

START, END = 8.0, 16.0  # bars 3 and 4 of 4/4


@pytest.fixture(scope="module")
def chorale() -> Piece:
    """A chorale the chorale model did not train on (it read the first eight)."""
    return load_corpus("music21:bach", limit=10, progress=False).pieces[9]


def _outside(events) -> list[tuple[float, float, tuple[int, ...]]]:
    return sorted((e.offset, e.duration, e.pitches) for e in events if not START <= e.offset < END)


def _reference_score(model, prime: list[int], candidate: np.ndarray, after: list[int]) -> float:
    """The log-likelihood of `after` read on from prime and candidate, by Keras itself."""
    import keras

    sequence = np.array([[*prime, *candidate.tolist(), *after]])
    logits = model(sequence)[0]  # the model gives logits
    log_p = np.asarray(keras.ops.log_softmax(logits, axis=-1), dtype=np.float64)
    first = len(prime) + len(candidate)
    return float(sum(log_p[t - 1, sequence[0, t]] for t in range(first, sequence.shape[1])))


def test_infill_keeps_the_rest_and_keeps_the_likeliest_candidate(chorale_model, chorale) -> None:
    from dataclasses import replace

    model, tokenizer, vocab, _ = chorale_model
    filled = infill(model, tokenizer, vocab, chorale, START, END, candidates=6, seed=0)
    assert _outside(filled.piece.events) == _outside(chorale.events)  # nothing else moved
    gap = [e for e in filled.piece.events if START <= e.offset < END]
    assert gap and all(e.offset + e.duration <= END + 1e-9 for e in gap)
    assert [(e.offset, e.pitches) for e in gap] != [
        (e.offset, e.pitches) for e in chorale.events if START <= e.offset < END
    ]  # new music in the gap
    before = chorale.with_events([e for e in chorale.events if e.offset < START])
    prime = vocab.encode(_leading_to(tokenizer, before, START), unknown="skip")
    rest = [replace(e, offset=e.offset - END) for e in chorale.events if e.offset >= END]
    after = vocab.encode(tokenizer.encode(chorale.with_events(rest)), unknown="skip")
    others = [i for i in range(6) if i != filled.chosen]
    other = others[np.random.default_rng(0).integers(len(others))]
    chosen = _reference_score(model, prime, filled.candidates[filled.chosen], after)
    random = _reference_score(model, prime, filled.candidates[other], after)
    assert chosen == pytest.approx(filled.scores[filled.chosen], rel=1e-4)
    assert random == pytest.approx(filled.scores[other], rel=1e-4)
    assert chosen >= random and filled.chosen == int(np.argmax(filled.scores))
    assert len(set(filled.scores.round(6).tolist())) > 1  # the candidates do differ


def test_infill_refuses_a_span_it_cannot_fill(chorale_model, chorale) -> None:
    model, tokenizer, vocab, _ = chorale_model
    for start, end, message in [(0, 8, "0 < start < end"), (8, 8, "0 < start < end"),
                                (8, 400, "no music after the gap")]:  # fmt: skip
        with pytest.raises(ValueError, match=message):
            infill(model, tokenizer, vocab, chorale, start, end, candidates=2)


def test_the_infill_command_leaves_every_note_outside_the_bars_as_it_was(
    chorale_model, chorale, tmp_path, capsys
) -> None:
    import symusic

    from musegen.cli import main
    from musegen.io.writing import write_midi
    from musegen.training.bundle import save_bundle

    model, tokenizer, vocab, _ = chorale_model
    bundle = save_bundle(tmp_path / "bundle", model, tokenizer, vocab)
    song = write_midi(chorale, tmp_path / "chorale.mid")
    out = tmp_path / "filled.mid"
    args = ["infill", str(bundle), str(song), "--bars", "3:4", "--candidates", "4"]
    assert main([*args, "--seed", "0", "--grammar", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    # the chorale opens with a one-quarter pickup: bar 0, as scores number it
    assert "bars 3-4 of 4/4 (quarter notes 9 to 17): 4 candidates, kept #" in printed

    start, end = 9.0, 17.0

    def notes(path, inside: bool) -> list[tuple[float, float, int]]:
        score = symusic.Score(str(path), ttype="quarter")
        return sorted(
            (n.time, n.end, n.pitch)
            for t in score.tracks
            for n in t.notes
            if (start <= n.time < end) == inside
        )

    assert notes(out, False) == notes(song, False)
    assert notes(out, True) and notes(out, True) != notes(song, True)
    assert main([*args, "--seed", "1", "--chords", "C G", "--out", str(out)]) == 0
    assert notes(out, False) == notes(song, False)
    chords = {9.0: {0, 4, 7}, 13.0: {7, 11, 2}}  # bar 3 under C, bar 4 under G
    gap = notes(out, True)
    assert gap and all(p % 12 in chords[9.0 if s < 13 else 13.0] for s, _, p in gap)
    for bad, message in [("12:9", "1 <= FIRST <= LAST"), ("x", "FIRST:LAST")]:
        with pytest.raises(SystemExit) as exit_:  # argparse's one line
            main([*args[:3], "--bars", bad, "--out", str(out)])
        assert exit_.value.code == 2
        assert message in capsys.readouterr().err
