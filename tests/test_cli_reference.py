"""The CLI reference the docs build writes from the parser (docs/hooks/cli_reference.py)."""

from __future__ import annotations

import argparse
import html
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import markdown  # type: ignore[import-untyped]
import pytest

from musegen.cli import build_parser

HOOK = Path(__file__).resolve().parents[1] / "docs" / "hooks" / "cli_reference.py"


@pytest.fixture(scope="module")
def hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cli_reference_hook", HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every parser under `parser` (itself included) by its prog, found by walking it."""
    found = {parser.prog: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.update(_subparsers(sub))
    return found


def _rendered(text: str) -> str:
    """The reference as HTML, as the site shows it, with entities read back."""
    return html.unescape(markdown.markdown(text, extensions=["tables", "fenced_code"]))


def test_every_subcommand_and_visible_option_is_documented(hook: ModuleType) -> None:
    parser = build_parser()
    text = hook.cli_reference(parser)
    shown = _rendered(text)
    parsers = _subparsers(parser)
    assert len(parsers) > 5  # the walk found the subcommands
    for prog, sub in parsers.items():
        assert f"<h2><code>{prog}</code></h2>" in shown, prog
        for action in sub._actions:
            if action.help is argparse.SUPPRESS:
                continue
            for option in action.option_strings:
                assert f"<code>{option}</code>" in shown, (prog, option)


def test_subcommand_help_lines_and_usage_are_documented(hook: ModuleType) -> None:
    parser = build_parser()
    shown = " ".join(_rendered(hook.cli_reference(parser)).split())
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert f"usage: musegen {choice.dest}" in shown
                help_line = str(choice.help)
                assert help_line[0].upper() + help_line[1:] in shown, choice.dest


def test_magenta_spellings_are_listed_as_aliases(hook: ModuleType) -> None:
    shown = _rendered(hook.cli_reference(build_parser()))
    for ours, magenta in (("--tempo", "--qpm"), ("--num", "--num_outputs"),
                          ("--prime", "--primer_midi")):  # fmt: skip
        assert f"<code>{ours}</code> (alias <code>{magenta}</code>)" in shown


def test_markup_in_help_text_stays_text(hook: ModuleType) -> None:
    parser = argparse.ArgumentParser(prog="demo")
    parser.add_argument("--bar", default="x|y", help="a | b, <i>not</i> *bold* or `code`")
    parser.add_argument("--hidden", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=3, help="%(default)s by default")
    shown = markdown.markdown(hook.cli_reference(parser), extensions=["tables", "fenced_code"])
    rows = re.findall(r"<tr>(.*?)</tr>", shown, flags=re.S)
    bar = next(row for row in rows if "--bar" in row)
    cells = re.findall(r"<td>(.*?)</td>", bar, flags=re.S)
    assert len(cells) == 4  # the pipes did not split the row
    assert html.unescape(cells[2]) == "<code>x|y</code>"
    assert html.unescape(cells[3]) == "a | b, <i>not</i> *bold* or `code`"  # as plain text
    assert not re.search(r"<(i|em|strong|code)>", cells[3])  # escaped, not markup
    assert "--hidden" not in shown
    assert "3 by default" in shown
