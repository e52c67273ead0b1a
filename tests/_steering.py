"""A test helper: step a processor chain as beam search does, checking it against a full read."""

from __future__ import annotations

from typing import Any

import numpy as np

from musegen.generation import processors


def steer_like_a_beam(
    chain: Any, ids: np.ndarray, steps: int, vocab_size: int, rng: Any
) -> np.ndarray:
    """Run `chain` from `ids` for `steps` random steps, beams reordered at each, and return the ids.

    At every step the logits of the incremental `processors.Chain` must equal those of
    `processors.run` reading every id so far.
    """
    start = ids.shape[1]
    steered = processors.Chain(chain, ids, start, reserved=(0, 1))
    for _ in range(steps):
        logits = rng.normal(size=(len(ids), vocab_size))
        out = steered(logits)
        np.testing.assert_array_equal(out, processors.run(chain, logits, ids, start, (0, 1)))
        parents = rng.integers(0, len(ids), len(ids))  # as beam search reorders its beams
        out = out[parents] + rng.gumbel(size=out.shape)
        chosen = out.argmax(axis=1)
        ids = np.concatenate([ids[parents], chosen[:, None]], axis=1)
        steered.advance(chosen, parents)
    return ids
