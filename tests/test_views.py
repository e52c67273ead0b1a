"""TranspositionViews: one model read in several keys, its next-id distributions averaged."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from musegen.evaluation.likelihood import nll_per_quarter, token_nll
from musegen.generation.decoding import generate
from musegen.generation.views import TranspositionViews
from musegen.tokens.frame_tokenizer import FrameTokenizer
from musegen.tokens.note_tokenizer import NoteTokenizer
from musegen.tokens.transposition import transpose_token
from musegen.tokens.vocabulary import Vocabulary
from musegen.training.model import build_lstm

TOKENIZER = FrameTokenizer()
VOCAB = Vocabulary(
    [TOKENIZER.start_text, TOKENIZER.step_text]
    + [TOKENIZER.pitches_to_text((p,)) for p in range(55, 70)]
)


@pytest.fixture(scope="module")
def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return build_lstm(len(VOCAB), units=(8,), embedding_dim=4, dense_units=None, dropout=0)


def song(pitches: list[list[int]]) -> np.ndarray:
    tokens = [TOKENIZER.start_text]
    for frame in pitches:
        tokens += [TOKENIZER.pitches_to_text((p,)) for p in frame] + [TOKENIZER.step_text]
    return np.array(VOCAB.encode(tokens, unknown="error"))


def reference_nll(model: keras.Model, ids: np.ndarray, shifts: range) -> np.ndarray:
    """The mixture the long way: per view, a forward pass over the ids it can read, read back."""
    total, count = np.zeros(len(ids) - 1), np.zeros(len(ids) - 1)
    for s in shifts:
        moved = [transpose_token(TOKENIZER, t, s) for t in VOCAB.decode(ids.tolist())]
        readable = next((i for i, m in enumerate(moved) if m is None or m not in VOCAB), len(ids))
        view_ids = np.array([VOCAB.id_of(m) for m in moved[:readable]])  # type: ignore[arg-type]
        known = min(readable, len(ids) - 1)  # predictions from ids the view has read
        p = keras.ops.convert_to_numpy(keras.ops.softmax(model(view_ids[None, :known])))[0]
        own = np.zeros_like(p)  # the view's probability of each id, read in the song's key
        own[:, :2] = p[:, :2]
        for i in range(2, len(VOCAB)):
            back = transpose_token(TOKENIZER, VOCAB.decode([i])[0], s)
            if back is not None and back in VOCAB:
                own[:, i] = p[:, VOCAB.id_of(back)]
        own /= own.sum(axis=1, keepdims=True)
        total[:known] += own[np.arange(known), ids[1 : known + 1]]
        count[:known] += 1
    return -np.log(total / count)


def test_id_maps_are_exact() -> None:
    vocab = Vocabulary(["C4", "C#4", "D4", "4th"])
    views = TranspositionViews(NoteTokenizer(), vocab, (-1, 0, 1))
    assert views.ids.tolist() == [
        [0, 1, -1, 2, 3, 5],  # C4 moved down has no id; C#4 -> C4; D4 -> C#4; a length stays
        [0, 1, 2, 3, 4, 5],
        [0, 1, 3, 4, -1, 5],
    ]
    assert len(views) == 3


@pytest.mark.parametrize("semitones", [(), (1, 2), (0, 0, 1)])
def test_semitones_must_hold_zero_once(semitones: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="semitones must hold 0"):
        TranspositionViews(TOKENIZER, VOCAB, semitones)


def test_mixture_is_a_distribution() -> None:
    views = TranspositionViews(TOKENIZER, VOCAB, range(-2, 3))
    logits = np.random.default_rng(0).normal(size=(5 * 3, 4, len(VOCAB)))
    mixed = views.mix(logits, np.ones((5, 3, 4), bool))
    assert mixed.shape == (3, 4, len(VOCAB))
    np.testing.assert_allclose(np.exp(mixed).sum(-1), 1.0)
    only_own = np.zeros((5, 3, 4), bool)
    only_own[views.semitones.index(0)] = True  # one view: its own softmax
    own = logits.reshape(5, 3, 4, -1)[views.semitones.index(0)]
    np.testing.assert_allclose(
        np.exp(views.mix(logits, only_own)), keras.ops.convert_to_numpy(keras.ops.softmax(own))
    )


def test_one_view_scores_as_the_model(model: keras.Model) -> None:
    ids = song([[60, 64], [62, 65], [60, 67]])
    np.testing.assert_allclose(
        token_nll(model, ids, views=TranspositionViews(TOKENIZER, VOCAB, [0])),
        token_nll(model, ids),
    )


def test_views_score_the_mixture_of_each_reading(model: keras.Model) -> None:
    # 69 + 1 has no id: from there on the views up drop out, the views down stay
    songs = [song([[60, 64], [62, 65], [60, 67]]), song([[57, 60], [69, 55], [60]])]
    views = TranspositionViews(TOKENIZER, VOCAB, range(-2, 3))
    for ids in songs:
        np.testing.assert_allclose(
            token_nll(model, ids, views=views), reference_nll(model, ids, range(-2, 3)), rtol=1e-5
        )
    quarters = [3.0, 3.0]
    expected = np.mean([reference_nll(model, s, range(-2, 3)).sum() / q for s, q in
                        zip(songs, quarters, strict=True)])  # fmt: skip
    assert nll_per_quarter(model, songs, quarters, views=views) == pytest.approx(expected, 1e-5)


def test_views_must_match_the_model(model: keras.Model) -> None:
    views = TranspositionViews(TOKENIZER, Vocabulary(["step", "C4"]), [0, 1])
    with pytest.raises(ValueError, match="the views map 4 ids"):
        token_nll(model, [2, 3], views=views)
    with pytest.raises(ValueError, match="the views map 4 ids"):
        generate(model, [2, 3], 4, views=views)


def test_one_view_generates_as_the_model(model: keras.Model) -> None:
    prime = song([[60, 64]])
    alone = generate(model, prime, 12, seed=3, batch_size=2)
    one = generate(model, prime, 12, seed=3, batch_size=2, views=TranspositionViews(
        TOKENIZER, VOCAB, [0]))  # fmt: skip
    np.testing.assert_array_equal(one, alone)


def test_generation_samples_the_mixture(model: keras.Model) -> None:
    """Stepwise decoding gives the same next-id distribution as scoring the whole song."""
    views = TranspositionViews(TOKENIZER, VOCAB, range(-3, 4))
    prime = song([[60, 64], [62]])
    first = generate(model, prime, 40, "categorical", seed=1, views=views)
    assert first.tolist() == generate(model, prime, 40, "categorical", seed=1, views=views).tolist()
    ids = np.concatenate([prime, first[0]])
    logits = []  # what the sampler saw at each step, from greedy decoding's own record
    from musegen.generation.runner import runner_for

    runner = runner_for(model, views)
    out, state = runner(ids[None, : len(prime)])
    logits.append(out[0])
    for t in range(len(prime), len(ids) - 1):
        out, state = runner(ids[None, t : t + 1], state)
        logits.append(out[0])
    stepwise = -np.array([lp[i] for lp, i in zip(logits, ids[len(prime) :], strict=True)])
    whole = token_nll(model, ids, views=views)[len(prime) - 1 :]
    np.testing.assert_allclose(stepwise, whole, rtol=1e-4, atol=1e-5)


def test_a_transposed_run_is_read_in_its_keys(tmp_path, capsys) -> None:
    from musegen.cli import main
    from musegen.io.reading import read_midi
    from musegen.training.bundle import load_bundle

    run = tmp_path / "run"
    args = ["train", "music21:bach", "--limit", "3", "--units", "8", "--seq-len", "16",
            "--batch-size", "4", "--minutes", "0", "--epochs", "1", "--quiet",
            "--no-normalize-keys", "--transpose", "-1", "1"]  # fmt: skip
    assert main([*args, "--out", str(run)]) == 0
    assert "the model read in 3 keys" in capsys.readouterr().out  # as far as it moved the songs
    bundle = load_bundle(run / "bundle")
    assert bundle.view_semitones == 1
    assert TranspositionViews.of_bundle(bundle).semitones == (-1, 0, 1)
    assert TranspositionViews.of_bundle(bundle, 0) is None
    assert len(TranspositionViews.of_bundle(bundle, 3)) == 7
    out = {}
    for views in ("0", "1"):  # 1: the bundle's own
        path = tmp_path / f"views-{views}.mid"
        assert main(["generate", str(run), "--steps", "60", "--seed", "2", "--views", views,
                     "--out", str(path)]) == 0  # fmt: skip
        out[views] = read_midi(path).events
        assert ("read in 3 keys" in capsys.readouterr().out) == (views == "1")
    assert out["0"] and out["1"] and out["0"] != out["1"]
    from musegen.events import Event, Piece
    from musegen.io.writing import write_midi

    scale = [60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62, 60]  # a clear key: C major
    prime = write_midi(Piece(tuple(Event(i, 1, (p,)) for i, p in enumerate(scale))),
                       tmp_path / "c-major.mid")  # fmt: skip
    leaned = {}  # a model of several keys leans toward the prime's key by default
    for strength in ("0", None, "3"):
        path = tmp_path / f"lean-{strength}.mid"
        more = [] if strength is None else ["--key-strength", strength]
        assert main(["generate", str(run), "--steps", "80", "--seed", "4", *more,
                     "--prime", str(prime), "--out", str(path)]) == 0  # fmt: skip
        said = capsys.readouterr().out
        assert ("leaning toward C major" in said) == (strength != "0"), said
        leaned[strength] = read_midi(path)
    from musegen.evaluation.metrics import scale_consistency

    assert leaned["0"].events != leaned[None].events  # the default 0.5 changes the draws
    assert scale_consistency(leaned["3"]) >= scale_consistency(leaned["0"])
    with pytest.raises(SystemExit) as exit_:  # argparse's one line
        main(["generate", str(run), "--key-strength", "-1", "--steps", "8"])
    assert exit_.value.code == 2
    assert "argument --key-strength: takes" in capsys.readouterr().err
    written = {}  # beam search reads what sampling reads: the views and the key lean
    for how in (["--beam", "1"], ["--sampler", "argmax"]):
        path = tmp_path / f"{how[1]}.mid"
        assert main(["generate", str(run), "--bars", "4", *how, "--out", str(path)]) == 0
        assert "read in 3 keys" in capsys.readouterr().out
        written[how[1]] = path.read_bytes()
    assert written["1"] == written["argmax"]
    with pytest.raises(SystemExit) as exit_:  # argparse's one line
        main([*args[:-3], "--views", "-1", "--out", str(tmp_path / "x")])
    assert exit_.value.code == 2
    assert "argument --views: takes" in capsys.readouterr().err
    assert main([*args[:-3], "--tracks", "--views", "1", "--out", str(tmp_path / "x")]) == 2
    assert "--tracks does not transpose" in capsys.readouterr().err
