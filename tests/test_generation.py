from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from musegen.events import Event, Piece
from musegen.generation.decoding import LSTMRunner, generate, prime_ids
from musegen.generation.samplers import ArgmaxSampler, BaseSampler, CategoricalSampler, TopKSampler
from musegen.tokens.vocabulary import UnknownTokenError, Vocabulary
from musegen.training.model import build_lstm, scale_ids, skuli_lstm

VOCAB = 20


def randomise_batch_norm(model: keras.Model, seed: int = 0) -> keras.Model:
    """Give BatchNormalization layers non-trivial statistics, as training would."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 2.0, gamma.shape).astype("float32"),
                    rng.normal(0, 0.5, beta.shape).astype("float32"),
                    rng.normal(0, 0.5, mean.shape).astype("float32"),
                    rng.uniform(0.5, 2.0, variance.shape).astype("float32"),
                ]
            )
    return model


@pytest.fixture(scope="module")
def chunk_model() -> keras.Model:
    keras.utils.set_random_seed(1)
    model = build_lstm(
        VOCAB,
        units=(16, 12),
        embedding_dim=8,
        dense_units=10,
        batch_norm=True,
        return_sequences=True,
    )
    return randomise_batch_norm(model)


@pytest.fixture(scope="module")
def skuli_model() -> keras.Model:
    keras.utils.set_random_seed(2)
    model = skuli_lstm(VOCAB, seq_len=6, units=(16, 16, 16), dense_units=10)
    first = model.get_layer("lstm_1")
    kernel, recurrent, bias = first.get_weights()
    first.set_weights([kernel * 20, recurrent, bias])  # make it sensitive to its scaled input
    return randomise_batch_norm(model)


def softmax(logits: np.ndarray) -> np.ndarray:
    weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True)


def test_incremental_decoding_matches_the_full_sequence(chunk_model: keras.Model) -> None:
    ids = np.random.default_rng(0).integers(2, VOCAB, (3, 10))
    expected = softmax(np.asarray(chunk_model(ids, training=False)))  # [3, 10, vocab]
    runner = LSTMRunner(chunk_model)
    logits, state = runner(ids[:, :4])  # a prime of 4, then one id at a time
    np.testing.assert_allclose(softmax(logits), expected[:, 3], atol=1e-4)
    for t in range(4, 10):
        logits, state = runner(ids[:, t : t + 1], state)
        np.testing.assert_allclose(softmax(logits), expected[:, t], atol=1e-4)


def test_generate_chunk_model_equals_greedy_decoding_with_keras(chunk_model: keras.Model) -> None:
    prime = [2, 5, 7, 3]
    ids = list(prime)
    for _ in range(6):  # re-run the whole sequence through Keras for every token
        logits = np.asarray(chunk_model(np.array([ids]), training=False))[:, -1]
        ids.append(int(ArgmaxSampler()(logits, np.random.default_rng())[0]))
    assert generate(chunk_model, prime, 6, "argmax").tolist() == [ids[4:]]


def test_window_mode_equals_the_windowed_forward_pass() -> None:
    keras.utils.set_random_seed(3)
    model = build_lstm(VOCAB, units=(12, 12), embedding_dim=6, dense_units=None, seq_len=5,
                       return_sequences=False)  # fmt: skip
    prime = [4, 9, 2, 13, 7, 11, 3]
    sampler, rng = CategoricalSampler(), np.random.default_rng(5)
    ids = list(prime)
    for _ in range(8):  # the window of the last 5 ids, through Keras, every token
        logits = np.asarray(model(np.array([ids[-5:]]), training=False))
        ids.append(int(sampler(logits, rng)[0]))
    assert generate(model, prime, 8, sampler, seed=5).tolist() == [ids[len(prime) :]]


def test_window_of_a_model_without_seq_len() -> None:
    keras.utils.set_random_seed(3)
    model = build_lstm(VOCAB, units=(8,), embedding_dim=4, dense_units=None, return_sequences=False)
    prime = [4, 9, 2, 13, 7, 11]
    ids = list(prime)
    for _ in range(4):
        logits = np.asarray(model(np.array([ids[-3:]]), training=False))
        ids.append(int(ArgmaxSampler()(logits, np.random.default_rng())[0]))
    assert generate(model, prime, 4, "argmax", window=3).tolist() == [ids[6:]]


def test_skuli_scaled_mode_feeds_id_over_vocab_once(skuli_model: keras.Model) -> None:
    window = np.random.default_rng(1).integers(2, VOCAB, (2, 6))
    probabilities = np.asarray(skuli_model(scale_ids(window, VOCAB), training=False))
    logits, _ = LSTMRunner(skuli_model)(window)
    np.testing.assert_allclose(softmax(logits), probabilities, atol=1e-4)
    scaled_twice = np.asarray(skuli_model(scale_ids(window, VOCAB) / VOCAB, training=False))
    assert np.abs(scaled_twice - probabilities).max() > 1e-3  # 10x the tolerance: would be seen


def test_skuli_generation_feeds_back_scaled_ids(skuli_model: keras.Model) -> None:
    prime = [3, 8, 15, 2, 19, 6, 11]
    sampler, rng = CategoricalSampler(), np.random.default_rng(9)
    ids = list(prime)
    for _ in range(10):  # the reference loop keeps raw ids and scales each window once
        probabilities = np.asarray(skuli_model(scale_ids([ids[-6:]], VOCAB), training=False))
        ids.append(int(sampler(np.log(probabilities), rng)[0]))
    assert generate(skuli_model, prime, 10, sampler, seed=9).tolist() == [ids[len(prime) :]]


@pytest.mark.parametrize("sampler", ["categorical", TopKSampler(k=4, temperature=1.5)])
def test_same_seed_same_output(chunk_model: keras.Model, sampler: str | BaseSampler) -> None:
    first = generate(chunk_model, [2, 3], 30, sampler, seed=11, batch_size=4)
    assert first.shape == (4, 30)
    assert first.dtype == np.int64
    assert np.array_equal(first, generate(chunk_model, [2, 3], 30, sampler, seed=11, batch_size=4))
    assert not np.array_equal(
        first, generate(chunk_model, [2, 3], 30, sampler, seed=12, batch_size=4)
    )
    assert first.min() >= 2  # reserved ids never come out


def test_streams_in_a_batch_are_independent(chunk_model: keras.Model) -> None:
    primes = np.array([[2, 3, 4], [9, 9, 9], [17, 5, 12]])
    together = generate(chunk_model, primes, 12, "argmax")
    alone = [generate(chunk_model, row, 12, "argmax")[0] for row in primes]
    assert together.tolist() == [row.tolist() for row in alone]
    changed = generate(chunk_model, [[2, 3, 4], [6, 6, 6], [17, 5, 12]], 12, "argmax")
    assert changed[[0, 2]].tolist() == together[[0, 2]].tolist()


def test_window_model_streams_are_independent(skuli_model: keras.Model) -> None:
    primes = np.random.default_rng(4).integers(2, VOCAB, (3, 6))
    together = generate(skuli_model, primes, 5, "argmax")
    assert together.tolist() == [
        generate(skuli_model, row, 5, "argmax")[0].tolist() for row in primes
    ]


def test_a_shared_prime_decodes_many_streams(chunk_model: keras.Model) -> None:
    ids = generate(chunk_model, [2, 3, 4], 20, "categorical", seed=0, batch_size=8)
    assert ids.shape == (8, 20)
    assert len({tuple(row) for row in ids.tolist()}) > 1  # streams draw differently
    greedy = generate(chunk_model, [2, 3, 4], 5, "argmax", batch_size=3)
    assert (greedy == greedy[0]).all()


def test_probability_models_and_dense_softmax() -> None:
    keras.utils.set_random_seed(5)
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(VOCAB, 4),
            keras.layers.Dropout(0.2),
            keras.layers.LSTM(8, return_sequences=True),
            keras.layers.Dense(VOCAB, activation="softmax"),
        ]
    )
    ids = np.array([[2, 7, 3]])
    logits, _ = LSTMRunner(model)(ids)
    np.testing.assert_allclose(softmax(logits), np.asarray(model(ids))[:, -1], atol=1e-5)


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_a_loaded_model_generates_the_same(chunk_model: keras.Model, tmp_path: Path) -> None:
    chunk_model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    assert np.array_equal(
        generate(loaded, [2, 3], 10, "top_k", seed=1),
        generate(chunk_model, [2, 3], 10, "top_k", seed=1),
    )


def test_bad_primes(chunk_model: keras.Model, skuli_model: keras.Model) -> None:
    with pytest.raises(ValueError, match=f"prime id {VOCAB} is outside"):
        generate(chunk_model, [2, VOCAB], 3, "argmax")
    with pytest.raises(ValueError, match="non-empty"):
        generate(chunk_model, [], 3, "argmax")
    with pytest.raises(ValueError, match="one length"):
        generate(chunk_model, [[2, 3], [4]], 3, "argmax")
    with pytest.raises(ValueError, match="batch_size=2 but the prime has 3 rows"):
        generate(chunk_model, [[2], [3], [4]], 3, "argmax", batch_size=2)
    with pytest.raises(ValueError, match="prime has 3 ids; this window model reads 6"):
        generate(skuli_model, [2, 3, 4], 3, "argmax")


def test_unsupported_layers_are_named() -> None:
    model = keras.Sequential(
        [keras.Input((None,)), keras.layers.Embedding(VOCAB, 4), keras.layers.GRU(4, name="my_gru")]
    )
    with pytest.raises(ValueError, match="'my_gru' \\(GRU\\)"):
        LSTMRunner(model)


def test_any_keras_next_token_model_generates_through_the_seam() -> None:
    """A model the numpy runner cannot run is read by KerasRunner: the same ids as its own
    argmax over the whole sequence, step after step."""
    from musegen.generation.runner import KerasRunner, runner_for

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((None,)), keras.layers.Embedding(VOCAB, 8),
        keras.layers.GRU(8, return_sequences=True), keras.layers.Dense(VOCAB, activation="softmax"),
    ])  # fmt: skip
    assert isinstance(runner_for(model), KerasRunner)
    ids = generate(model, [2, 3], 6, "argmax")[0].tolist()
    seen = [2, 3]
    for _ in range(6):  # the model's own reading of everything so far
        seen.append(int(np.argmax(model(np.array([seen]))[0, -1, 2:])) + 2)
    assert ids == seen[2:]


def test_prime_ids_from_tokens_and_pieces() -> None:
    vocab = Vocabulary(["C4", "E4", "G4"])
    assert prime_ids(["C4", "G4"], vocab) == [2, 4]
    with pytest.raises(UnknownTokenError, match="'F#9' at position 1"):
        prime_ids(["C4", "F#9", "G4"], vocab)
    assert prime_ids(["C4", "F#9", "G4"], vocab, unknown="skip") == [2, 4]
    with pytest.raises(ValueError, match="no token"):
        prime_ids(["B0"], vocab, unknown="skip")

    class Names:
        def encode(self, piece: Piece) -> list[str]:
            return ["C4" if event.pitches == (60,) else "G4" for event in piece.events]

    piece = Piece((Event(0, 1, (60,)), Event(1, 1, (67,))))
    assert prime_ids(piece, vocab, tokenizer=Names()) == [2, 4]
    with pytest.raises(ValueError, match="needs a tokenizer"):
        prime_ids(piece, vocab)


def test_blas_threads_are_restored(chunk_model: keras.Model) -> None:
    from threadpoolctl import threadpool_info

    def get() -> list[int]:
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    before = get()
    generate(chunk_model, [2, 3], 3, "argmax", blas_threads=1)

    class Broken:
        def __call__(self, logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            raise RuntimeError("broken sampler")

    with pytest.raises(RuntimeError, match="broken sampler"):
        generate(chunk_model, [2, 3], 3, Broken(), blas_threads=1)
    assert get() == before


@pytest.mark.parametrize(("load", "threads"), [(0.7, None), (1.6, 1), (5.0, 1)])
def test_auto_blas_threads_use_every_core_only_when_one_is_free(
    monkeypatch: pytest.MonkeyPatch, load: float, threads: int | None
) -> None:
    from musegen.generation import runner as decoding

    monkeypatch.setattr(decoding.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(decoding.os, "getloadavg", lambda: (load, load, load))
    assert decoding._auto_threads() == threads
