from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import h5py
import keras
import numpy as np
import pytest

from musegen.tokens.tokenizer import Tokenizer
from musegen.tokens.vocabulary import Vocabulary
from musegen.training.bundle import BundleError, load_bundle, save_bundle
from musegen.training.model import build_lstm

VOCAB = Vocabulary(["C4", "D4", "E4", "rest"])


def tiny_model(vocab_size: int = len(VOCAB)) -> keras.Model:
    keras.utils.set_random_seed(0)
    return build_lstm(
        vocab_size, units=(8,), embedding_dim=4, dense_units=None, return_sequences=True
    )


def test_round_trip_gives_identical_predictions(tmp_path) -> None:
    model = tiny_model()
    tok = Tokenizer.seed()
    save_bundle(tmp_path / "b", model, tok, VOCAB, epochs=3, corpus="4 songs")
    bundle = load_bundle(tmp_path / "b")
    ids = np.array([[2, 3, 4, 5, 2]], dtype=np.int32)
    np.testing.assert_array_equal(
        bundle.model.predict(ids, verbose=0), model.predict(ids, verbose=0)
    )
    assert bundle.tokenizer == tok
    assert bundle.vocabulary == VOCAB
    assert bundle.metadata["epochs"] == 3 and bundle.metadata["corpus"] == "4 songs"
    assert bundle.metadata["vocab_size"] == len(VOCAB) and "musegen_version" in bundle.metadata


def test_save_replaces_an_older_bundle_and_leaves_no_temp_files(tmp_path) -> None:
    save_bundle(tmp_path / "b", tiny_model(), Tokenizer(), VOCAB, run=1)
    save_bundle(tmp_path / "b", tiny_model(), Tokenizer(), VOCAB, run=2)
    assert load_bundle(tmp_path / "b").metadata["run"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["b"]


def test_a_failed_save_keeps_the_previous_bundle(tmp_path) -> None:
    save_bundle(tmp_path / "b", tiny_model(), Tokenizer(), VOCAB, run=1)

    class Broken(Tokenizer):
        def to_json(self) -> str:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        save_bundle(tmp_path / "b", tiny_model(), Broken(), VOCAB, run=2)
    assert load_bundle(tmp_path / "b").metadata["run"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["b"]


def dir_replace_fails(monkeypatch, *, second: bool, later: bool) -> None:
    """Make the second directory move of os.replace fail, and the later ones or not."""
    real = os.replace
    moves = []

    def replace(src, dst) -> None:
        if os.path.isdir(src):
            moves.append(src)
            if (len(moves) == 2 and second) or (len(moves) > 2 and later):
                raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


def test_a_save_failing_between_its_renames_puts_the_old_bundle_back(tmp_path, monkeypatch) -> None:
    save_bundle(tmp_path / "b", tiny_model(), Tokenizer(), VOCAB, run=1)
    with monkeypatch.context() as patch:
        dir_replace_fails(patch, second=True, later=False)  # the new bundle cannot move in
        with pytest.raises(KeyboardInterrupt):
            save_bundle(tmp_path / "b", tiny_model(), Tokenizer(), VOCAB, run=2)
    assert [p.name for p in tmp_path.iterdir()] == ["b"]
    assert load_bundle(tmp_path / "b").metadata["run"] == 1


def test_a_save_dying_between_its_renames_leaves_a_loadable_bundle(tmp_path, monkeypatch) -> None:
    save_bundle(tmp_path / "b", tiny_model(), Tokenizer(), VOCAB, run=1)
    with monkeypatch.context() as patch:
        dir_replace_fails(patch, second=True, later=True)  # nothing moves after: a kill
        with pytest.raises(KeyboardInterrupt):
            save_bundle(tmp_path / "b", tiny_model(), Tokenizer(), VOCAB, run=2)
    assert load_bundle(tmp_path / "b").metadata["run"] == 1
    save_bundle(tmp_path / "b", tiny_model(), Tokenizer(), VOCAB, run=3)
    assert load_bundle(tmp_path / "b").metadata["run"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["b"]  # the old copy is cleaned up


def test_mismatched_vocabulary_raises_the_named_error(tmp_path) -> None:
    with pytest.raises(BundleError, match="vocabulary has 6 ids but the model predicts 7"):
        save_bundle(tmp_path / "b", tiny_model(7), Tokenizer(), VOCAB)
    save_bundle(tmp_path / "b", tiny_model(), Tokenizer(), VOCAB)
    Vocabulary(["C4"]).save(tmp_path / "b" / "vocabulary.json")
    with pytest.raises(BundleError, match="vocabulary has 3 ids but the model predicts 6"):
        load_bundle(tmp_path / "b")


def test_missing_file_raises_the_named_error(tmp_path) -> None:
    save_bundle(tmp_path / "b", tiny_model(), Tokenizer(), VOCAB)
    (tmp_path / "b" / "tokenizer.json").unlink()
    with pytest.raises(BundleError, match=r"lacks tokenizer\.json"):
        load_bundle(tmp_path / "b")
    with pytest.raises(BundleError, match="no bundle directory"):
        load_bundle(tmp_path / "nowhere")


def test_newer_format_version_raises_the_named_error(tmp_path) -> None:
    save_bundle(tmp_path / "b", tiny_model(), Tokenizer(), VOCAB)
    meta_path = tmp_path / "b" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["format_version"] = 99
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="format version 99 is newer"):
        load_bundle(tmp_path / "b")


def test_metadata_must_be_json(tmp_path) -> None:
    with pytest.raises(BundleError, match="metadata 'when'"):
        save_bundle(tmp_path / "b", tiny_model(), Tokenizer(), VOCAB, when=object())
    assert not (tmp_path / "b").exists()


def test_a_bundle_keeps_the_model_for_generation_not_its_optimizer(tmp_path) -> None:
    model = tiny_model()
    ids = np.array([[2, 3, 4, 5, 2, 3]], dtype=np.int32)
    model.fit(ids[:, :-1], ids[:, 1:], epochs=1, verbose=0)  # the optimizer now holds state
    save_bundle(tmp_path / "b", model, Tokenizer(), VOCAB)
    loaded = load_bundle(tmp_path / "b").model
    assert getattr(loaded, "optimizer", None) is None
    np.testing.assert_array_equal(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0))
    with zipfile.ZipFile(tmp_path / "b" / "model.keras") as archive:
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
        assert "optimizer" not in weights and "layers" in weights  # Keras' own save keeps Adam's
        assert not json.loads(archive.read("config.json")).get("compile_config")


TOKENS_38 = Vocabulary([f"t{i}" for i in range(38)])  # 40 ids with <pad> and <unk>


def test_float16_weights_take_half_the_space_and_load_as_float32(tmp_path) -> None:
    model = build_lstm(40, units=(64,), embedding_dim=32, return_sequences=True)
    save_bundle(tmp_path / "full", model, Tokenizer(), TOKENS_38)
    save_bundle(
        tmp_path / "half", model, Tokenizer(), TOKENS_38,
        weights="float16",
    )  # fmt: skip
    full, half = (load_bundle(tmp_path / n).model for n in ("full", "half"))
    assert {w.dtype for w in half.weights} == {"float32"}
    sizes = [(tmp_path / n / "model.keras").stat().st_size for n in ("full", "half")]
    assert sizes[1] < 0.6 * sizes[0]
    ids = np.random.default_rng(0).integers(0, 40, (2, 16))
    gap = np.abs(half.predict(ids, verbose=0) - full.predict(ids, verbose=0)).max()
    assert 0 < gap < 1e-2  # rounded, not lost
    with pytest.raises(BundleError, match="'float16', got 'int8'"):
        save_bundle(tmp_path / "x", model, Tokenizer(), TOKENS_38, weights="int8")  # type: ignore[arg-type]


def test_an_unknown_shipped_bundle_names_those_that_ship() -> None:
    from musegen.training.bundle import bundle_path, shipped_bundles

    with pytest.raises(BundleError, match=r"musegen:nope: no bundle .*there are: chorales"):
        load_bundle("musegen:nope")
    assert bundle_path("runs/x") == Path("runs/x")
    assert set(shipped_bundles()) == {"chorales", "folk", "quartets"}
