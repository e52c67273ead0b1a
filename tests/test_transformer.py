"""`build_transformer`: build_lstm's contract (shapes, fit, save, likelihood) with attention."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from musegen.evaluation.likelihood import nll_per_quarter, token_nll
from musegen.generation.decoding import generate
from musegen.generation.runner import KerasRunner, runner_for
from musegen.training.dataset import SequenceDataset
from musegen.training.fitting import fit
from musegen.training.transformer import PositionEmbedding, build_transformer, transformer_context

VOCAB = 12


def small(**options: object) -> keras.Model:
    settings: dict[str, object] = {"layers": 1, "width": 16, "heads": 2, "context": 8}
    settings.update(options)
    return build_transformer(VOCAB, **settings)  # type: ignore[arg-type]


def test_shapes_and_compile_match_build_lstm() -> None:
    model = small(dropout=0.0)
    ids = np.array([[2, 3, 4, 5, 6]], np.int32)
    assert model(ids).shape == (1, 5, VOCAB)
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    assert model.loss.get_config()["from_logits"] is True
    window = small(seq_len=8, return_sequences=False)
    assert window.output_shape == (None, VOCAB)
    assert small(output="probabilities").layers[-1].name == "softmax"


def test_no_output_sees_a_later_id() -> None:
    model = small(layers=2, dropout=0.0)
    ids = np.array([[2, 3, 4, 5, 6, 7, 8, 9]], np.int32)
    before = np.asarray(model(ids))
    for t in (0, 3, 7):
        changed = ids.copy()
        changed[0, t] = 11
        after = np.asarray(model(changed))
        np.testing.assert_allclose(after[:, :t], before[:, :t], rtol=1e-5, atol=1e-6)
        assert not np.allclose(after[:, t], before[:, t])


def test_an_input_longer_than_the_context_is_refused_in_one_line() -> None:
    model = small()
    with pytest.raises(ValueError) as caught:
        model(np.zeros((1, 9), np.int32))
    assert str(caught.value) == "this Transformer reads at most 8 ids at once, got 9"
    with pytest.raises(ValueError, match=r"seq_len must be in 1\.\.context"):
        small(seq_len=9)
    with pytest.raises(ValueError, match="needs a fixed seq_len"):
        small(return_sequences=False)


def test_fit_lowers_the_loss(tmp_path: Path) -> None:
    songs = [[2, 3, 4, 5, 6, 7, 8, 9, 10, 11] * 3] * 8
    data = SequenceDataset.from_ids(songs, VOCAB, seq_len=8, shape="chunks", val_fraction=0.25)
    model = small(learning_rate=3e-3)
    history = fit(model, data, epochs=6, run_dir=tmp_path / "run", batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.7 * losses[0], losses


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_save_and_load_give_the_same_outputs(tmp_path: Path) -> None:
    model = small(layers=2)
    file = tmp_path / "transformer.keras"
    model.save(file)
    loaded = keras.saving.load_model(file, safe_mode=True)
    ids = np.array([[2, 5, 7, 3]], np.int32)
    np.testing.assert_allclose(np.asarray(loaded(ids)), np.asarray(model(ids)), rtol=1e-6)
    assert transformer_context(loaded) == 8
    layer = next(x for x in loaded.layers if isinstance(x, PositionEmbedding))
    assert layer.get_config()["context"] == 8 and layer.get_config()["width"] == 16


def test_the_likelihood_code_scores_it() -> None:
    model = small(dropout=0.0)
    song = [2, 3, 4, 5, 6, 7]
    nll = token_nll(model, song)
    logits = np.asarray(model(np.array([song[:-1]], np.int32)), np.float64)[0]
    log_p = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    np.testing.assert_allclose(nll, -log_p[np.arange(5), song[1:]], rtol=1e-5)


def test_generation_reads_the_last_context_ids() -> None:
    """A runner given the context re-reads a sliding window: past the context is fine."""
    model = small()
    runner = KerasRunner(model, context=transformer_context(model))
    ids = generate(runner, [2, 3], 12, seed=0, blas_threads=None)
    assert ids.shape == (1, 12) and ids.min() >= 0 and ids.max() < VOCAB


def test_the_default_runner_generates_past_the_context_the_same_as_a_window() -> None:
    """`runner_for` gives a Transformer its context: the last `context` ids, at every step."""
    model = small()
    assert type(runner_for(model)).__name__ == "KerasRunner"
    window = KerasRunner(model, context=transformer_context(model))
    ids = generate(model, [2, 3], 30, seed=4, blas_threads=None)
    assert ids.shape == (1, 30)
    assert np.array_equal(ids, generate(window, [2, 3], 30, seed=4, blas_threads=None))


def test_a_saved_transformer_bundle_loads_and_generates_in_a_fresh_process(tmp_path: Path) -> None:
    """Its layers are registered when a bundle loads, not only after importing the module."""
    import subprocess
    import sys

    from musegen.tokens.note_tokenizer import NoteTokenizer
    from musegen.tokens.vocabulary import Vocabulary

    tokenizer = NoteTokenizer(holds=True)
    vocabulary = Vocabulary(["C4", "E4", "G4", "4th", "8th"])
    from musegen.training.bundle import save_bundle

    model = build_transformer(len(vocabulary), layers=1, width=16, heads=2, context=8)
    save_bundle(tmp_path / "b", model, tokenizer, vocabulary)
    code = (
        "from musegen.training.bundle import load_bundle\n"
        "from musegen.generation.decoding import generate\n"
        f"bundle = load_bundle({str(tmp_path / 'b')!r})\n"
        "print(generate(bundle.model, [2, 3], 20, seed=0).shape)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "(1, 20)"


def test_the_likelihood_code_scores_a_song_longer_than_the_context_window_by_window() -> None:
    """Each id is scored from the window that gives it the most ids before it (half a context+)."""
    keras.utils.set_random_seed(1)
    model = small()  # context 8: windows of 8 ids, each 4 after the one before
    song = np.random.default_rng(0).integers(0, VOCAB, size=30)
    nll = token_nll(model, song)
    assert nll.shape == (29,) and np.all(np.isfinite(nll))
    expected = []
    for t in range(29):  # output t predicts id t + 1
        begin = 0 if t < 8 else 4 * ((t - 8) // 4 + 1)
        assert 4 <= t - begin < 8 or (begin == 0 and t < 8)  # half a context or more before
        logits = keras.ops.convert_to_numpy(model(song[None, begin : begin + 8]))[0, t - begin]
        expected.append(-(logits - np.log(np.exp(logits).sum()))[song[t + 1]])
    np.testing.assert_allclose(nll, expected, rtol=1e-4, atol=1e-5)
    assert np.isclose(nll_per_quarter(model, [song], [29.0]), nll.sum() / 29.0)
