"""`TopPSampler`: nucleus sampling, draw among the most probable ids covering mass `p`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from musegen.generation.samplers.base import BaseSampler, draw

__all__ = ["TopPSampler"]


class TopPSampler(BaseSampler):
    """Keep the fewest most-probable ids whose probabilities sum to >= `p`, then draw.

    Args:
        p: Probability mass to keep, in (0, 1].
        temperature: See `BaseSampler`; applied before the truncation.
        reserved_ids: Ids never returned.

    Examples:
        >>> import numpy as np
        >>> sampler = TopPSampler(p=0.5)
        >>> probabilities = np.array([[1e-9, 1e-9, 0.1, 0.6, 0.3]] * 50)
        >>> ids = sampler(np.log(probabilities), np.random.default_rng(0))
        >>> sorted(set(ids.tolist()))
        [3]
    """

    def __init__(
        self, p: float = 0.9, temperature: float = 1.0, reserved_ids: Sequence[int] = (0, 1)
    ) -> None:
        super().__init__(temperature, reserved_ids)
        if not 0 < p <= 1:
            raise ValueError(f"p must be in (0, 1], got {p}")
        self.p = float(p)

    def pick(self, probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Zero the tail of each row outside the nucleus, then draw."""
        order = np.argsort(-probabilities, axis=1, kind="stable")
        ranked = np.take_along_axis(probabilities, order, axis=1)
        # mass strictly before each rank; a rank is kept while that mass is still below p
        before = np.cumsum(ranked, axis=1) - ranked
        ranked = np.where(before < self.p, ranked, 0.0)
        return np.take_along_axis(order, draw(ranked, rng)[:, None], axis=1)[:, 0]

    def get_config(self) -> dict[str, Any]:
        """The base configuration plus `p`."""
        return {**super().get_config(), "p": self.p}
