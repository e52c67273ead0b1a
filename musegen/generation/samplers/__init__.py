"""Samplers: pick the next id from a batch of logits.

`get` turns a name, a config dict or an instance into a sampler; `serialize` and
`deserialize` go to and from JSON-able dicts.

Examples:
    >>> from musegen import samplers
    >>> sampler = samplers.get("top_k", k=7)
    >>> samplers.serialize(sampler)["class_name"]
    'TopKSampler'
    >>> samplers.deserialize(samplers.serialize(sampler)) == sampler
    True
"""

from __future__ import annotations

from typing import Any

from musegen import _registry
from musegen.generation.samplers.argmax_sampler import ArgmaxSampler
from musegen.generation.samplers.base import BaseSampler, Sampler
from musegen.generation.samplers.categorical_sampler import CategoricalSampler
from musegen.generation.samplers.top_k_sampler import TopKSampler
from musegen.generation.samplers.top_p_sampler import TopPSampler

__all__ = [
    "ArgmaxSampler",
    "BaseSampler",
    "CategoricalSampler",
    "Sampler",
    "TopKSampler",
    "TopPSampler",
    "deserialize",
    "get",
    "serialize",
]

_BY_NAME: dict[str, type[BaseSampler]] = {
    "argmax": ArgmaxSampler,
    "greedy": ArgmaxSampler,
    "categorical": CategoricalSampler,
    "top_k": TopKSampler,
    "top_p": TopPSampler,
}
_BY_NAME.update({cls.__name__: cls for cls in set(_BY_NAME.values())})


def get(identifier: str | dict[str, Any] | Sampler, **kwargs: Any) -> Sampler:
    """Resolve a sampler name, `serialize` dict or sampler instance into a sampler.

    Names: ``"argmax"`` (or ``"greedy"``), ``"categorical"``, ``"top_k"``, ``"top_p"``,
    or a class name. A dict is a `serialize` dict or the record a bundle stores
    (``{"name": "top_p", "p": 0.9}``). A sampler instance is returned as is.

    Args:
        identifier: What to resolve.
        **kwargs: Constructor arguments, with a name only (e.g. ``k=7``, ``temperature=0.9``).

    Raises:
        ValueError: naming an unknown sampler and the known names.

    Examples:
        >>> get("top_p", p=0.8)
        TopPSampler(temperature=1.0, reserved_ids=[0, 1], p=0.8)
        >>> get({"name": "top_k", "k": 7, "temperature": 1.0}).k
        7
    """
    return _registry.resolve(identifier, kwargs, _BY_NAME, "sampler", Sampler)


def serialize(sampler: BaseSampler) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}``, JSON-able.

    Examples:
        >>> serialize(ArgmaxSampler())
        {'class_name': 'ArgmaxSampler', 'config': {'temperature': 1.0, 'reserved_ids': [0, 1]}}
    """
    return {"class_name": type(sampler).__name__, "config": sampler.get_config()}


def deserialize(config: dict[str, Any]) -> BaseSampler:
    """Rebuild a sampler from `serialize` output.

    Raises:
        ValueError: if the dict lacks ``class_name`` or names an unknown sampler.

    Examples:
        >>> deserialize({"class_name": "TopKSampler", "config": {"k": 3}}).k
        3
    """
    return _registry.rebuild(config, _BY_NAME, "sampler")
