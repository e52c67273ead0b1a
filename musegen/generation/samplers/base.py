"""The `Sampler` protocol and `BaseSampler`, which does the work shared by all samplers.

A sampler turns a batch of logits ``[batch, vocab]`` into one id per row, drawing
randomness only from the `numpy.random.Generator` it is given. Samplers take
logits. A model that outputs probabilities gives logits as ``numpy.log(probs)``
(``softmax(log p) == p``); `musegen.generation.decoding.generate` does this for you.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from typing_extensions import Protocol, Self, runtime_checkable

__all__ = ["BaseSampler", "Sampler"]


@runtime_checkable
class Sampler(Protocol):
    """Anything that picks one id per row of a logit batch.

    Examples:
        >>> import numpy as np
        >>> from musegen.generation.samplers import ArgmaxSampler
        >>> isinstance(ArgmaxSampler(), Sampler)
        True
    """

    def __call__(self, logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return int ids ``[batch]`` for `logits` ``[batch, vocab]``."""
        ...


class BaseSampler:
    """Temperature, reserved-id masking, logits -> probabilities; subclasses only `pick`.

    Steps, in order: reject rows holding NaN or +inf; set the logits of `reserved_ids` to
    ``-inf``; reject rows with no finite logit left; divide by `temperature`
    (before any truncation); softmax in float64; ``pick``.

    Args:
        temperature: Finite, > 0. Below 1 sharpens the distribution, above 1 flattens it.
        reserved_ids: Ids never returned (by default 0, padding, and 1, unknown).

    Examples:
        >>> import numpy as np
        >>> from musegen.generation.samplers import CategoricalSampler
        >>> sampler = CategoricalSampler(temperature=0.8)
        >>> sampler(np.array([[0.0, 0.0, 5.0, -3.0]]), np.random.default_rng(0)).shape
        (1,)
    """

    def __init__(self, temperature: float = 1.0, reserved_ids: Sequence[int] = (0, 1)) -> None:
        if not 0 < temperature < np.inf:
            raise ValueError(f"temperature must be finite and > 0, got {temperature}")
        self.temperature = float(temperature)
        self.reserved_ids = tuple(int(i) for i in reserved_ids)

    def __call__(self, logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return one int64 id per row of `logits` ``[batch, vocab]``.

        Raises:
            ValueError: if `logits` is not 2-D, a row holds NaN or +inf, or a row has no
                finite logit outside the reserved ids (its rows are named).
        """
        logits = np.array(logits, dtype=np.float64)  # a copy: the caller's array is left alone
        if logits.ndim != 2:
            raise ValueError(f"logits must be [batch, vocab], got shape {logits.shape}")
        if not logits.max() < np.inf:  # a NaN or +inf somewhere: find the rows
            bad = np.flatnonzero((np.isnan(logits) | (logits == np.inf)).any(axis=1))
            if bad.size:
                raise ValueError(f"logits rows {bad.tolist()} hold NaN or +inf; the model diverged")
        logits[:, [i for i in self.reserved_ids if i < logits.shape[1]]] = -np.inf
        peak = logits.max(axis=1, keepdims=True)
        if peak.min() == -np.inf:
            bad = np.flatnonzero(peak[:, 0] == -np.inf)
            raise ValueError(
                f"logits rows {bad.tolist()} have no finite logit outside the reserved ids "
                f"{list(self.reserved_ids)}"
            )
        weights = np.exp((logits - peak) / self.temperature)
        probabilities = weights / weights.sum(axis=1, keepdims=True)
        return np.asarray(self.pick(probabilities, rng), dtype=np.int64)

    def pick(self, probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Pick one id per row of `probabilities` ``[batch, vocab]`` (rows sum to 1).

        The one hook for subclasses. Reserved ids already have probability 0.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement pick()")

    def get_config(self) -> dict[str, Any]:
        """JSON-able configuration; ``from_config`` rebuilds an equal sampler."""
        return {"temperature": self.temperature, "reserved_ids": list(self.reserved_ids)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """Rebuild a sampler from `get_config` output."""
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BaseSampler)
            and type(other) is type(self)
            and (other.get_config() == self.get_config())
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self.get_config())))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def draw(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw one index per row of `probabilities` (rows need not be normalised).

    Inverse-CDF sampling, one uniform number per row; zero-weight entries are never drawn.
    """
    cumulative = np.cumsum(probabilities, axis=1)
    threshold = rng.random(len(probabilities))[:, None] * cumulative[:, -1:]
    return (cumulative <= threshold).sum(axis=1)
