"""`TopKSampler`: draw among the `k` most probable ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from musegen.generation.samplers.base import BaseSampler, draw

__all__ = ["TopKSampler"]


class TopKSampler(BaseSampler):
    """Keep the `k` most probable ids, renormalise, draw (the write-up's "top 7").

    Args:
        k: How many ids to keep (>= 1; more than the vocabulary keeps them all).
        temperature: See `BaseSampler`; applied before the truncation.
        reserved_ids: Ids never returned.

    Examples:
        >>> import numpy as np
        >>> sampler = TopKSampler(k=2)
        >>> logits = np.array([[-9.0, -9.0, 1.0, 3.0, 2.9]] * 50)
        >>> ids = sampler(logits, np.random.default_rng(0))
        >>> sorted(set(ids.tolist()))
        [3, 4]
    """

    def __init__(
        self, k: int = 7, temperature: float = 1.0, reserved_ids: Sequence[int] = (0, 1)
    ) -> None:
        super().__init__(temperature, reserved_ids)
        if int(k) < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k = int(k)

    def pick(self, probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Zero all but the `k` largest probabilities of each row, then draw."""
        if self.k < probabilities.shape[1]:
            cut = probabilities.shape[1] - self.k
            dropped = np.argpartition(probabilities, cut - 1, axis=1)[:, :cut]
            probabilities = probabilities.copy()
            np.put_along_axis(probabilities, dropped, 0.0, axis=1)
        return draw(probabilities, rng)

    def get_config(self) -> dict[str, Any]:
        """The base configuration plus `k`."""
        return {**super().get_config(), "k": self.k}
