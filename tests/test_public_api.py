"""The public API says the truth: every public name of every stage imports from `musegen`.

A public module is a ``musegen/**.py`` whose module path has no part starting
with ``_`` (so no ``__init__``), outside ``musegen.cli``; its public names are its
``__all__``. `musegen` exports their union, its version and the subpackages
`datasets`, `processors` and `samplers`, and nothing else.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import musegen

PACKAGE = Path(musegen.__file__).resolve().parent
ALSO = {"__version__", "datasets", "processors", "samplers"}
"""What `musegen` exports beside the modules' names."""
CLASHES = {
    "duration_histogram": "musegen.evaluation.metrics.histograms",
    "velocity_histogram": "musegen.evaluation.metrics.histograms",
}
"""Names two public modules export for different objects, and the module `musegen` takes each
from: the metrics count (an array), `musegen.evaluation.plots` draws a bar chart of the same
name. A new clash fails `test_no_two_modules_export_one_name_for_different_objects`."""


def public_modules() -> list[str]:
    modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("musegen", *path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[1] != "cli" and not any(part.startswith("_") for part in parts):
            modules.append(".".join(parts))
    return modules


def exports() -> dict[str, dict[str, Any]]:
    """Each public name: the modules exporting it, and the object each gives."""
    found: dict[str, dict[str, Any]] = {}
    for name in public_modules():
        module = importlib.import_module(name)
        assert hasattr(module, "__all__"), f"{name} has no __all__"
        for public in module.__all__:
            found.setdefault(public, {})[name] = getattr(module, public)
    return found


def test_there_are_public_modules_in_every_stage() -> None:
    modules = public_modules()
    for stage in ("io", "tokens", "training", "generation", "evaluation"):
        assert any(m.startswith(f"musegen.{stage}.") for m in modules), stage
    assert "musegen.keys" in modules and "musegen.cli.train" not in modules


def test_musegen_exports_exactly_the_public_names_of_every_stage() -> None:
    expected = set(exports()) | ALSO
    assert len(musegen.__all__) == len(set(musegen.__all__)), "a name is listed twice"
    assert sorted(expected - set(musegen.__all__)) == [], "public, not exported by musegen"
    assert sorted(set(musegen.__all__) - expected) == [], "exported by musegen, in no __all__"


def test_every_exported_name_resolves_to_its_modules_object() -> None:
    found = exports()
    for name in musegen.__all__:
        value = getattr(musegen, name)
        if name in ALSO:
            continue
        owner = CLASHES.get(name) or next(iter(found[name]))
        assert value is found[name][owner], f"musegen.{name} is not {owner}.{name}"


def test_no_two_modules_export_one_name_for_different_objects() -> None:
    clashes = {}
    for name, by_module in exports().items():
        objects = {id(value) for value in by_module.values()}
        if len(objects) > 1:
            clashes[name] = sorted(by_module)
    assert set(clashes) == set(CLASHES), clashes
    for name, module in CLASHES.items():
        assert module in clashes[name]


def test_import_musegen_does_not_start_tensorflow() -> None:
    code = "import sys, musegen; print(sorted({'tensorflow', 'keras'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"


def test_first_tensorflow_backed_name_starts_tensorflow_without_its_cuda_chatter() -> None:
    """On a machine without a GPU, TensorFlow's start-up lines about CUDA never reach a user."""
    code = (
        "import musegen; model = musegen.build_lstm(10, units=(8,)); "
        "import tensorflow as tf; print(len(model.layers) > 0)"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        env=env,
    )
    assert result.stdout.strip() == "True"
    chatter = re.findall(r".*(?:cuda|cuInit|oneDNN).*", result.stderr, flags=re.IGNORECASE)
    assert chatter == [], result.stderr
