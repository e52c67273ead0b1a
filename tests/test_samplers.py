from __future__ import annotations

import json

import numpy as np
import pytest

from musegen.generation import samplers
from musegen.generation.samplers import (
    ArgmaxSampler,
    BaseSampler,
    CategoricalSampler,
    Sampler,
    TopKSampler,
    TopPSampler,
)

ALL = [ArgmaxSampler(), CategoricalSampler(), TopKSampler(k=3), TopPSampler(p=0.8)]


def rows(logits: list[float], n: int) -> np.ndarray:
    return np.tile(np.asarray(logits, dtype=np.float32), (n, 1))


def test_argmax_is_deterministic_and_skips_reserved_ids() -> None:
    logits = np.array([[9.0, 9.0, 1.0, 3.0, 2.0], [9.0, 0.0, 5.0, -1.0, 4.0]])
    first = ArgmaxSampler()(logits, np.random.default_rng(0))
    second = ArgmaxSampler()(logits, np.random.default_rng(1))
    assert first.tolist() == second.tolist() == [3, 2]
    assert first.dtype == np.int64


def test_top_k_never_leaves_the_k_best() -> None:
    logits = np.random.default_rng(3).normal(size=30)
    ids = TopKSampler(k=7)(rows(logits, 20_000), np.random.default_rng(0))
    best = set(np.argsort(-logits[2:])[:7] + 2)
    assert set(ids.tolist()) == best  # all of the k best, nothing else


def test_top_p_never_leaves_the_nucleus() -> None:
    probabilities = np.array([0.0, 0.0, 0.05, 0.5, 0.3, 0.1, 0.05])
    ids = TopPSampler(p=0.85)(rows(np.log(probabilities + 1e-12), 20_000), np.random.default_rng(0))
    assert set(ids.tolist()) == {3, 4, 5}  # 0.5 + 0.3 < 0.85 <= 0.5 + 0.3 + 0.1


def test_top_p_keeps_at_least_the_best_id() -> None:
    ids = TopPSampler(p=0.01)(rows([0.0, 0.0, 1.0, 2.0], 500), np.random.default_rng(0))
    assert set(ids.tolist()) == {3}


def test_categorical_frequencies_match_the_probabilities() -> None:
    probabilities = np.array([0.0, 0.0, 0.1, 0.2, 0.3, 0.4])
    n = 50_000
    ids = CategoricalSampler()(rows(np.log(probabilities + 1e-300), n), np.random.default_rng(7))
    observed = np.bincount(ids, minlength=6)[2:]
    expected = probabilities[2:] * n
    chi_square = ((observed - expected) ** 2 / expected).sum()
    assert chi_square < 16.27  # chi-square, 3 degrees of freedom, p = 0.001


def test_temperature_is_applied_before_truncation() -> None:
    # at temperature 10 the nucleus of p=0.5 widens from one id to several
    logits = rows([0.0, 0.0, 3.0, 2.0, 1.0, 0.0], 5_000)
    cold = TopPSampler(p=0.5)(logits, np.random.default_rng(0))
    hot = TopPSampler(p=0.5, temperature=10.0)(logits, np.random.default_rng(0))
    assert set(cold.tolist()) == {2}
    assert len(set(hot.tolist())) > 1


@pytest.mark.parametrize("sampler", [CategoricalSampler, TopKSampler, TopPSampler])
def test_temperature_near_zero_is_argmax(sampler: type[BaseSampler]) -> None:
    logits = np.random.default_rng(1).normal(size=(200, 40))
    cold = sampler(temperature=1e-4)(logits, np.random.default_rng(0))
    assert cold.tolist() == ArgmaxSampler()(logits, np.random.default_rng(0)).tolist()


@pytest.mark.parametrize("sampler", ALL)
def test_same_seed_same_output(sampler: Sampler) -> None:
    logits = np.random.default_rng(2).normal(size=(300, 25))
    first = sampler(logits, np.random.default_rng(42))
    assert first.tolist() == sampler(logits, np.random.default_rng(42)).tolist()
    assert first.shape == (300,)


@pytest.mark.parametrize("sampler", ALL)
def test_reserved_ids_are_never_returned(sampler: Sampler) -> None:
    logits = rows([50.0, 50.0, 0.0, 0.0, 0.0], 2_000)
    assert set(sampler(logits, np.random.default_rng(0)).tolist()) <= {2, 3, 4}


def test_reserved_ids_are_configurable() -> None:
    logits = rows([5.0, 4.0, 3.0, 2.0], 10)
    assert set(ArgmaxSampler(reserved_ids=(0, 1, 2))(logits, np.random.default_rng()).tolist()) == {
        3
    }
    assert set(ArgmaxSampler(reserved_ids=())(logits, np.random.default_rng()).tolist()) == {0}


def test_the_callers_logits_are_left_alone() -> None:
    logits = np.array([[1.0, 2.0, 3.0]])
    TopKSampler(k=1)(logits, np.random.default_rng(0))
    assert logits.tolist() == [[1.0, 2.0, 3.0]]


@pytest.mark.parametrize("sampler", ALL)
def test_nan_rows_are_rejected(sampler: Sampler) -> None:
    logits = np.zeros((3, 5))
    logits[1, 3] = np.nan
    with pytest.raises(ValueError, match=r"rows \[1\].*NaN"):
        sampler(logits, np.random.default_rng(0))


@pytest.mark.parametrize("sampler", ALL)
def test_rows_with_nothing_to_pick_are_rejected(sampler: Sampler) -> None:
    logits = np.zeros((3, 4))
    logits[2] = [5.0, 5.0, -np.inf, -np.inf]  # only reserved ids are finite
    logits[0] = -np.inf
    with pytest.raises(ValueError, match=r"rows \[0, 2\] have no finite logit"):
        sampler(logits, np.random.default_rng(0))


def test_logits_must_be_a_batch() -> None:
    with pytest.raises(ValueError, match="batch, vocab"):
        ArgmaxSampler()(np.zeros(5), np.random.default_rng(0))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: TopKSampler(k=0), "k must be"),
        (lambda: TopPSampler(p=0.0), "p must be"),
        (lambda: TopPSampler(p=1.5), "p must be"),
        (lambda: CategoricalSampler(temperature=0.0), "temperature"),
        (lambda: CategoricalSampler(temperature=float("inf")), "temperature"),
    ],
)
def test_bad_parameters_are_rejected(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("sampler", [*ALL, TopKSampler(k=5, temperature=0.7, reserved_ids=(0,))])
def test_config_round_trips_through_json(sampler: BaseSampler) -> None:
    config = json.loads(json.dumps(samplers.serialize(sampler)))
    assert samplers.deserialize(config) == sampler
    assert samplers.get(config) == sampler
    assert type(sampler).from_config(sampler.get_config()) == sampler


def test_get_by_name_instance_and_errors() -> None:
    assert samplers.get("top_k", k=7) == TopKSampler(k=7)
    assert samplers.get("TopPSampler", p=0.5) == TopPSampler(p=0.5)
    assert samplers.get("argmax") == ArgmaxSampler()
    instance = CategoricalSampler(temperature=0.5)
    assert samplers.get(instance) is instance
    with pytest.raises(ValueError, match="unknown sampler 'top_q'"):
        samplers.get("top_q")
    with pytest.raises(TypeError):
        samplers.get(instance, k=3)
    with pytest.raises(ValueError, match="unknown sampler class_name"):
        samplers.deserialize({"class_name": "Nope", "config": {}})


def test_any_callable_with_the_signature_is_a_sampler() -> None:
    class Lowest:
        def __call__(self, logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            return logits.argmin(axis=1)

    assert isinstance(Lowest(), Sampler)
    assert samplers.get(Lowest()) is not None
    assert not isinstance(object(), Sampler)
