"""The package is arranged by stage, and every import points down (or stays on its floor).

Run it as a script to see the house: ``python tests/test_layout.py`` prints each
stage's modules and any import that runs back up.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "musegen"
STAGES = ("ground", "io", "tokens", "training", "generation", "evaluation", "top")
"""From the bottom up: a module may import from its own stage and the ones below it."""
TOP = {"musegen", "musegen.cli"}
"""The face (``__init__``, every public name) and the command line stand above every stage."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage(module: str) -> str:
    """``musegen.<stage>.…`` for the five stage folders; ground for the other modules."""
    if any(module == top or module.startswith(top + ".") for top in TOP - {"musegen"}):
        return "top"
    if module == "musegen":
        return "top"
    folder = module.split(".")[1]
    return folder if folder in STAGES else "ground"


def imports(path: Path) -> set[str]:
    """Every musegen module `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module.split(".")[0] == "musegen":
                # `from musegen.x import y`: the module y where y is one, else musegen.x
                children = {f"{node.module}.{a.name}" for a in node.names}
                modules_named = {c for c in children if _exists(c)}
                found |= modules_named
                if modules_named != children:
                    found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("musegen")}
    inside = path.resolve().is_relative_to(PACKAGE)
    return found - {module_name(path)} if inside else found


def _exists(module: str) -> bool:
    relative = Path(*module.split(".")[1:])
    return (PACKAGE / relative).with_suffix(".py").is_file() or (PACKAGE / relative).is_dir()


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def upward_imports() -> list[str]:
    found = []
    for module, path in modules().items():
        for target in sorted(imports(path)):
            if STAGES.index(stage(target)) > STAGES.index(stage(module)):
                found.append(f"{module} ({stage(module)}) imports {target} ({stage(target)})")
    return found


def test_every_import_points_down() -> None:
    assert upward_imports() == []


def test_each_stage_folder_holds_modules_and_the_ground_floor_is_small() -> None:
    by_stage: dict[str, list[str]] = {}
    for module in modules():
        by_stage.setdefault(stage(module), []).append(module)
    assert set(by_stage) == set(STAGES)
    assert len(by_stage["ground"]) <= 10, by_stage["ground"]


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    # A module of the io stage that imported from generation would be caught.
    assert STAGES.index(stage("musegen.generation.beam")) > STAGES.index(
        stage("musegen.io.reading")
    )
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from musegen.generation import beam\n")
    assert "musegen.generation.beam" in imports(bad) or "musegen.generation" in imports(bad)


if __name__ == "__main__":
    by_stage = {}
    for module in modules():
        by_stage.setdefault(stage(module), []).append(module)
    for name in reversed(STAGES):
        print(
            f"{name:>10}: {', '.join(m.removeprefix('musegen.') or 'musegen' for m in by_stage.get(name, []))}"
        )
    print("\n".join(upward_imports()) or "no import runs back up")
