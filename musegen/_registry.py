"""Name -> class registries, shared by the samplers and the processors (keras style)."""

from __future__ import annotations

from typing import Any


def resolve(
    identifier: Any, kwargs: dict[str, Any], by_name: dict[str, Any], kind: str, protocol: type
) -> Any:
    """An instance from a name (built with `kwargs`), a `serialize` dict, or an instance.

    A dict may also be a record ``{"name": ..., **options}``, as a bundle stores its sampler.

    Raises:
        ValueError: naming an unknown `kind` and the known names.
        TypeError: for keyword arguments without a name, or an identifier of another type.
    """
    if isinstance(identifier, str):
        if identifier not in by_name:
            raise ValueError(f"unknown {kind} {identifier!r}; known: {sorted(by_name)}")
        return by_name[identifier](**kwargs)
    if kwargs:
        raise TypeError(f"keyword arguments {sorted(kwargs)} only apply to a {kind} name")
    if isinstance(identifier, dict) and "class_name" not in identifier and "name" in identifier:
        options = dict(identifier)  # a record as a bundle stores it: {"name": ..., options}
        return resolve(options.pop("name"), options, by_name, kind, protocol)
    if isinstance(identifier, dict):
        return rebuild(identifier, by_name, kind)
    if isinstance(identifier, protocol):
        return identifier
    raise TypeError(f"expected a {kind} name, config dict or {kind}, got {identifier!r}")


def rebuild(config: dict[str, Any], by_name: dict[str, Any], kind: str) -> Any:
    """An instance from ``{"class_name": ..., "config": ...}``.

    Raises:
        ValueError: if the dict lacks ``class_name`` or names an unknown class.
    """
    name = config.get("class_name")
    if name not in by_name:
        raise ValueError(f"unknown {kind} class_name {name!r}; known: {sorted(by_name)}")
    return by_name[name].from_config(dict(config.get("config", {})))
