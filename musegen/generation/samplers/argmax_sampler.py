"""`ArgmaxSampler`: always the most probable id (greedy decoding)."""

from __future__ import annotations

import numpy as np

from musegen.generation.samplers.base import BaseSampler

__all__ = ["ArgmaxSampler"]


class ArgmaxSampler(BaseSampler):
    """Pick the most probable id of each row; deterministic, ignores `rng` and temperature.

    The original recipe's choice. It tends to fall into loops (see the seed write-up).

    Examples:
        >>> import numpy as np
        >>> ArgmaxSampler()(np.array([[0.0, 9.0, 1.0, 3.0]]), np.random.default_rng())
        array([3])
    """

    def pick(self, probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The index of each row's largest probability."""
        return probabilities.argmax(axis=1)
