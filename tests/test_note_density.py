"""NoteDensity: a soft control toward a number of onsets per quarter note."""

from __future__ import annotations

import numpy as np
import pytest

from musegen.generation.decoding import generate
from musegen.generation.processors import NoteDensity, deserialize, get, serialize
from musegen.tokens.note_tokenizer import NoteTokenizer
from musegen.tokens.token_table import TokenTable
from musegen.tokens.tokenizer import Tokenizer
from musegen.tokens.vocabulary import Vocabulary


def _onsets_per_quarter(tokenizer, vocab, prime: list[int], row: np.ndarray, quarters: float):
    """Distinct onsets of pitched events per quarter note in the music after the prime."""
    zero = tokenizer.decode(vocab.decode(prime)).duration
    events = tokenizer.decode(vocab.decode([*prime, *row[row != Vocabulary.pad_id].tolist()]))
    onsets = {round(e.offset, 6) for e in events.events if e.pitches and e.offset >= zero - 1e-9}
    return len(onsets) / quarters


def test_the_bias_of_each_id_in_both_spellings() -> None:
    vocab = Vocabulary(["C4", "E4", "16th", "8th", "4th", "half", "rest", "+8th", "+0"])
    table = TokenTable.build(NoteTokenizer(holds=True), vocab)
    out = NoteDensity(2.0, strength=3.0).bind(table)(np.zeros((1, len(vocab))), np.zeros((1, 0)))
    bias = dict(zip(vocab.decode(range(len(vocab))), out[0].tolist(), strict=True))
    assert bias["C4"] == bias["E4"] == 0.0  # pitches: untouched
    assert bias["8th"] == 0.0 and bias["+8th"] == 0.0  # the target's note value
    assert bias["16th"] == bias["4th"] == -3.0 and bias["half"] == -6.0  # -3 per octave
    assert bias["rest"] == pytest.approx(-3 * np.log2(3))  # a rest strikes nothing
    assert bias["+0"] == 0.0  # a zero step starts voices together: one onset
    out = NoteDensity(3.0).bind(table)(np.zeros((1, len(vocab))), np.zeros((1, 0)))
    bias = dict(zip(vocab.decode(range(len(vocab))), out[0].tolist(), strict=True))
    assert bias["16th"] == 0.0  # no value lasts a third: the nearest one loses nothing
    assert bias["8th"] == pytest.approx(-np.log2(1.5 / (1 / 0.75)))  # one 1.5x long, one 0.75x
    compound = Tokenizer.seed()
    words = ["C4_short_v81", "C4_long_v81", "rest_short"]
    vocab = Vocabulary(words)
    table = TokenTable.build(compound, vocab)
    lengths = table.durations[2:]
    out = NoteDensity(1.0).bind(table)(np.zeros((2, len(vocab))), np.zeros((2, 3), int))
    off = np.abs(np.log2(np.clip(lengths, 0.125, 8)))
    expected = -(off - off.min()) - np.array([0, 0, 1.0])  # and a rest, log2(1 + 1)
    np.testing.assert_allclose(out[:, 2:], np.broadcast_to(expected, (2, 3)))


def test_config_and_bad_arguments() -> None:
    control = NoteDensity(1.5, strength=2.0)
    assert deserialize(serialize(control)) == control
    assert get("density", target=2).strength == 1.0
    with pytest.raises(ValueError, match="target must be > 0 notes per quarter note, got 0"):
        NoteDensity(0)
    with pytest.raises(ValueError, match="strength must be >= 0, got -1"):
        NoteDensity(1, strength=-1)
    with pytest.raises(RuntimeError, match="bind it to a TokenTable"):
        NoteDensity(1)(np.zeros((1, 3)), np.zeros((1, 0)))


@pytest.mark.parametrize("target", [0.5, 3.0])
def test_the_generated_density_moves_toward_the_target_as_the_strength_grows(
    chorale_model, target: float
) -> None:
    model, tokenizer, vocab, prime = chorale_model
    table = TokenTable.build(tokenizer, vocab)
    prime = prime[: np.flatnonzero(table.closes(np.array([prime]))[0])[-1] + 1]  # whole events
    densities = []
    for strength in (0.0, 1.0, 3.0):
        rows = generate(model, [prime] * 4, 400, "top_p", processors=[NoteDensity(target, strength)],
                        table=table, seed=0, quarters=16)  # fmt: skip
        densities.append(
            np.mean([_onsets_per_quarter(tokenizer, vocab, prime, r, 16) for r in rows])
        )
    gaps = [abs(np.log(d / target)) for d in densities]
    assert gaps[0] > gaps[1] > gaps[2], (target, densities)
    assert gaps[2] < gaps[0] - 0.15, (target, densities)  # by more than a sixth


def test_the_generate_command_leans_toward_the_density(chorale_model, tmp_path, capsys) -> None:
    import symusic

    from musegen.cli import main
    from musegen.training.bundle import save_bundle

    model, tokenizer, vocab, _ = chorale_model
    bundle = str(save_bundle(tmp_path / "bundle", model, tokenizer, vocab))
    onsets = {}
    for name, extra in [("free", []), ("sparse", ["--density", "0.5", "--density-strength", "3"])]:
        song = tmp_path / f"{name}.mid"
        args = ["generate", bundle, "--quarters", "16", "--seed", "0", "--out", str(song)]
        assert main([*args, *extra]) == 0
        score = symusic.Score(str(song), ttype="quarter")
        onsets[name] = len({round(n.time, 3) for t in score.tracks for n in t.notes})
    assert onsets["sparse"] < 0.7 * onsets["free"], onsets
    capsys.readouterr()
    out = str(tmp_path / "x.mid")
    assert main(["generate", bundle, "--density-strength", "2", "--out", out]) == 2
    assert "--density-strength steers the --density" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:  # argparse's one line
        main(["generate", bundle, "--density", "0", "--out", out])
    assert exit_.value.code == 2
    assert "argument --density: takes a finite number from 0.01 to 100" in capsys.readouterr().err


@pytest.mark.parametrize(
    "encoding",
    ["skuli", "final", "notes", "notes-cut", "notes-seed", "notes-high", "frames", "band"],
)
def test_every_shipped_encoding_is_biased_toward_the_value_nearest_the_target(encoding) -> None:
    from musegen.events import Event, Piece
    from musegen.tokens.encodings import encodings
    from musegen.tokens.token_table import DURATION, EVENT
    from musegen.tokens.track_tokenizer import TrackTokenizer

    tokenizer = TrackTokenizer() if encoding == "band" else encodings()[encoding]
    lengths = [0.25, 0.5, 1.0, 2.0, 4.0]
    piece = Piece(tuple(Event(sum(lengths[:i]), d, (60 + i,), 80) for i, d in enumerate(lengths)))
    vocab = tokenizer.build_vocabulary([piece])
    table = TokenTable.build(tokenizer, vocab)
    kind = EVENT if not table.note_level else DURATION
    pitched = table.pitches.any(axis=1) | (kind == DURATION)  # a compound rest: apart
    timing = np.flatnonzero((table.kinds == kind) & pitched)
    for target in (0.5, 4.0):
        bias = NoteDensity(target, strength=2.0).bind(table)(
            np.zeros((1, len(vocab))), np.zeros((1, 0), int)
        )[0]
        assert np.isfinite(bias).all() and bias.max() == 0.0  # soft: nothing forbidden
        distance = np.abs(np.log2(table.durations[timing] * target))
        best = timing[bias[timing] == 0.0]
        assert set(best.tolist()) == set(timing[distance == distance.min()].tolist())
        if len(set(table.durations[timing].tolist())) > 1:  # frames: a single value
            assert (bias[timing] < 0).any()
