"""`CategoricalSampler`: draw from the whole distribution."""

from __future__ import annotations

import numpy as np

from musegen.generation.samplers.base import BaseSampler, draw

__all__ = ["CategoricalSampler"]


class CategoricalSampler(BaseSampler):
    """Draw each id with its probability (the write-up's "probability distribution").

    Examples:
        >>> import numpy as np
        >>> sampler = CategoricalSampler(temperature=0.7)
        >>> sampler(np.log([[0.5, 0.5, 0.2, 0.8]]), np.random.default_rng(1)).tolist()
        [3]
    """

    def pick(self, probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One draw per row."""
        return draw(probabilities, rng)
