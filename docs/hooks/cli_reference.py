"""A mkdocs hook: the CLI reference of ``docs/cli.md``, written from the argparse parser.

``docs/cli.md`` holds the marker `MARKER`; `on_page_markdown` replaces it with
`cli_reference`: for the ``musegen`` command and each of its subcommands, its
help line, its usage and a table of its options (flags, value, default, help),
taken from `musegen.cli.build_parser` at build time, so the page cannot go stale.

Options whose help is ``argparse.SUPPRESS`` are left out, except where they
store into the same place as a visible option (Magenta's ``--qpm`` for
``--tempo``): those are listed as that option's aliases.

Registered in ``mkdocs.yml``::

    hooks:
      - docs/hooks/cli_reference.py
"""

from __future__ import annotations

import argparse
import html
import re
from typing import Any

__all__ = ["MARKER", "PAGE", "cli_reference", "on_page_markdown"]

MARKER = "<!-- cli-reference -->"
"""The line of ``docs/cli.md`` that the generated reference replaces."""

PAGE = "cli.md"
"""The page, relative to ``docs/``, that holds `MARKER`."""

USAGE_WIDTH = 88
"""Columns of the usage lines: fixed, so the page does not depend on the terminal."""

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]{}#!])")


def text(value: str) -> str:
    r"""`value` as literal text in a Markdown table cell: no emphasis, HTML or column break.

    Examples:
        >>> text("a | b <c> 2**32 top_k")
        'a &#124; b &lt;c&gt; 2\\*\\*32 top\\_k'
    """
    plain = " ".join(value.replace("``", "").split())  # argparse text: no reST literals
    escaped = html.escape(plain, quote=False)
    return _MARKDOWN_SPECIALS.sub(r"\\\1", escaped).replace("|", "&#124;")


def code(value: str) -> str:
    """`value` as inline code that is safe in a Markdown table cell.

    Examples:
        >>> code("{a|b}")
        '<code>{a&#124;b}</code>'
    """
    return "<code>" + html.escape(value, quote=False).replace("|", "&#124;") + "</code>"


def cli_reference(parser: argparse.ArgumentParser | None = None) -> str:
    """The Markdown reference of `parser` and of every subcommand under it.

    Args:
        parser: The parser to describe; None: ``musegen``'s (`musegen.cli.build_parser`).

    Returns:
        Markdown: a section per command (its help line, description, usage and
        a table per argument group), the subcommands after their parent.
    """
    if parser is None:
        from musegen.cli import build_parser

        parser = build_parser()
    sections = [
        "Every command also takes <code>-h</code>, <code>--help</code>: the same text, "
        "in the terminal.",
    ]
    sections += _sections(parser, summary=None)
    return "\n\n".join(sections) + "\n"


def _sections(parser: argparse.ArgumentParser, summary: str | None) -> list[str]:
    """The section of `parser`, then those of its subcommands, each under its own heading."""
    out = [f"## `{parser.prog}`"]
    if summary:
        out.append(text(summary[0].upper() + summary[1:]) + ".")
    if parser.description and parser.description != summary:
        out.append(text(parser.description))
    out.append(f"```text\n{_usage(parser)}\n```")
    aliases = _aliases(parser)
    for group in parser._action_groups:
        rows = [
            _row(action, aliases.get(action.dest, []))
            for action in group._group_actions
            if _shown(action)
        ]
        if not rows:
            continue
        title = (group.title or "options").capitalize()
        heading = f"**{text(title)}**" + (
            f": {text(group.description)}" if group.description else ""
        )
        table = ["| Option | Value | Default | Help |", "|---|---|---|---|", *rows]
        out += [heading, "\n".join(table)]
    for sub, help_line in _subcommands(parser):
        out += _sections(sub, help_line)
    return out


def _usage(parser: argparse.ArgumentParser) -> str:
    """The usage lines argparse prints, at `USAGE_WIDTH` columns."""
    formatter = parser.formatter_class(prog=parser.prog, width=USAGE_WIDTH)  # type: ignore[call-arg]
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip()


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[argparse.ArgumentParser, str]]:
    """(parser, help line) of each subcommand of `parser`, in the order it lists them."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                if name in helps:  # not an alias of another subcommand
                    found.append((sub, str(helps[name] or "")))
    return found


def _shown(action: argparse.Action) -> bool:
    """Whether `action` is listed: not hidden, not ``--help``, not the subcommands' choice."""
    return action.help is not argparse.SUPPRESS and not isinstance(
        action, (argparse._HelpAction, argparse._SubParsersAction)
    )


def _aliases(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    """Hidden option strings by the destination of a visible option they store into."""
    visible = {action.dest for action in parser._actions if _shown(action)}
    aliases: dict[str, list[str]] = {}
    for action in parser._actions:
        if action.help is argparse.SUPPRESS and action.dest in visible:
            aliases.setdefault(action.dest, []).extend(action.option_strings)
    return aliases


def _row(action: argparse.Action, aliases: list[str]) -> str:
    """One table row: the flags (and aliases), the value, the default and the help."""
    if action.option_strings:
        names = ", ".join(code(o) for o in action.option_strings)
    else:
        names = code(str(action.metavar or action.dest))
    if aliases:
        names += " (alias " + ", ".join(code(a) for a in aliases) + ")"
    formatter = argparse.HelpFormatter(prog="musegen")
    if action.nargs == 0:
        value = "flag"
    elif action.choices is not None and action.metavar is None:
        value = "one of " + ", ".join(code(str(choice)) for choice in action.choices)
    elif action.option_strings:
        value = code(formatter._format_args(action, action.dest.upper()))
    else:  # a positional argument: its name, and whether it takes one value or more
        value = code(formatter._format_args(action, action.dest)) if action.nargs else ""
    help_text = formatter._expand_help(action) if action.help else ""
    return f"| {names} | {value} | {_default(action)} | {text(help_text)} |"


def _default(action: argparse.Action) -> str:
    """The default as one would type it, "required", or "" when there is none to show."""
    if action.required and action.option_strings:
        return "required"
    default: Any = action.default
    if isinstance(action, argparse.BooleanOptionalAction) and isinstance(default, bool):
        return code(action.option_strings[0 if default else -1])
    if default is None or default is argparse.SUPPRESS or action.nargs == 0:
        return ""
    if isinstance(default, (list, tuple)):
        return code(" ".join(_typed(v) for v in default))
    return code(_typed(default))


def _typed(value: Any) -> str:
    """A default value as typed on the command line (``3`` for ``3.0``)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Replace `MARKER` on `PAGE` with the generated reference (mkdocs' page hook).

    Raises:
        ValueError: when `PAGE` lacks `MARKER` (the reference would be missing).
    """
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"docs/{PAGE} lacks the marker {MARKER}")
    return markdown.replace(MARKER, cli_reference())
