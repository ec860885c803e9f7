"""``circfin --help`` without typer: the same screen, drawn with rich alone.

Importing typer, click and the command modules is most of what ``circfin
--help`` costs, though the screen shows only the global options and one line
per command. ``help_index`` records those (``python -m circfin.cli.fast_help
--write`` writes it from the app); :func:`print_root_help` draws them as
typer's help formatter does (``typer.rich_utils.rich_format_help``: the same
console, theme, highlighters, padding, tables and panels). A test holds the
record to the app and the screen to typer's at several widths, with and
without colour.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["print_root_help", "recorded"]

# typer.rich_utils' styles (typer 0.29, held in pyproject.toml)
_THEME = {
    "option": "bold cyan",
    "switch": "bold green",
    "negative_option": "bold magenta",
    "negative_switch": "bold red",
    "types": "bold yellow",
    "types_sep": "dim",
    "usage": "yellow",
}


def _console(highlighter: Any) -> Any:
    from rich.console import Console
    from rich.theme import Theme

    width = os.getenv("TERMINAL_WIDTH")
    force = True if os.getenv("GITHUB_ACTIONS") or os.getenv("FORCE_COLOR") or os.getenv("PY_COLORS") else None
    if os.getenv("_TYPER_FORCE_DISABLE_TERMINAL"):
        force = False
    return Console(theme=Theme(_THEME), highlighter=highlighter, color_system="auto",
                   force_terminal=force, width=int(width) if width else None)


def _highlighters() -> tuple[Any, Any]:
    from rich.highlighter import RegexHighlighter

    class OptionHighlighter(RegexHighlighter):
        highlights = [  # noqa: RUF012 - rich's own attribute
            r"(^|\W)(?P<switch>\-\w+)(?![a-zA-Z0-9])",
            r"(^|\W)(?P<option>\-\-[\w\-]+)(?![a-zA-Z0-9])",
            r"(?P<types>\<[^\>]+\>)",
            r"(?P<usage>Usage: )",
        ]

    class TypesHighlighter(RegexHighlighter):
        highlights = [  # noqa: RUF012
            r"^(?P<types_sep>(\[|<))",
            r"(?P<types_sep>\|)",
            r"(?P<types_sep>(\]|>))(\.\.\.)?$",
        ]

    return OptionHighlighter(), TypesHighlighter()


def print_root_help() -> None:
    """Print the help of ``circfin`` itself, as typer would."""
    from rich.align import Align
    from rich.columns import Columns
    from rich.console import Group
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from . import help_index as ix

    highlight, types_highlight = _highlighters()
    console = _console(highlight)
    console.print(Padding(highlight(_usage(_program_name(), ix.USAGE_ARGS)), 1), style="bold")
    console.print(Padding(Align(Group(highlight(Text.from_markup(ix.HELP, style=""))), pad=False),
                          (0, 1, 1, 1)))

    options = Table(highlight=True, show_header=False, expand=True, box=None, show_lines=False,
                    leading=0, border_style=None, row_styles=None, pad_edge=False, padding=(0, 1))
    for long, types, help_text, envvar, default in ix.OPTIONS:
        items: list[Any] = []
        if help_text:
            items.append(highlight(Text.from_markup(help_text, style="")))
        if envvar:
            items.append(Text(f"[env var: {envvar}]", style="dim yellow"))
        if default:
            items.append(Text(f"[default: {default}]", style="dim"))
        options.add_row(highlight(long), highlight(""), highlight(""), highlight(""),
                        types_highlight(Text(types or "", style="bold yellow", overflow="fold")),
                        Columns(items))
    console.print(Panel(options, border_style="dim", title="Options", title_align="left"))

    commands = Table(highlight=False, show_header=False, expand=True, box=None, show_lines=False,
                     leading=0, border_style=None, row_styles=None, pad_edge=False, padding=(0, 1))
    commands.add_column(style="bold cyan", no_wrap=True, width=max(len(n) for n, _ in ix.COMMANDS))
    commands.add_column("Description", justify="left", no_wrap=False, ratio=10)
    for name, summary in ix.COMMANDS:
        commands.add_row(Text(name), highlight(Text.from_markup(summary, style="")))
    console.print(Panel(commands, border_style="dim", title="Commands", title_align="left"))
    print()  # click echoes what is left of its help buffer: an empty line


def _usage(prog: str, args: str) -> str:
    """The usage line as click's help formatter writes it: at most 78 columns (at least
    50), the arguments wrapped beside ``Usage: PROG`` or, when that leaves too little
    room, below it."""
    import shutil
    import textwrap

    width = max(min(shutil.get_terminal_size().columns, 80) - 2, 50)
    prefix = f"Usage: {prog} "
    if width >= len(prefix) + 20:
        return textwrap.TextWrapper(width, initial_indent=prefix, subsequent_indent=" " * len(prefix),
                                    replace_whitespace=False).fill(args)
    indent = " " * (len("Usage: ") + 4)
    return prefix + "\n" + textwrap.TextWrapper(width, initial_indent=indent, subsequent_indent=indent,
                                                replace_whitespace=False).fill(args)


def _program_name() -> str:
    """The name the usage line gives the program, as click finds it: the script's
    name, or ``python -m circfin`` when run as a module."""
    main = sys.modules["__main__"]
    path = sys.argv[0]
    if getattr(main, "__package__", None) in {None, ""}:
        return os.path.basename(path)
    module = str(main.__package__)
    name = os.path.splitext(os.path.basename(path))[0]
    if name != "__main__":
        module = f"{module}.{name}"
    return f"python -m {module.lstrip('.')}"


def recorded() -> str:
    """The text of ``help_index.py`` for the app as it is (imports typer and every command)."""
    import inspect

    from typer.main import get_command

    from .app import _listing

    group = get_command(_listing())
    ctx = group.make_context("circfin", ["--help"], resilient_parsing=True)
    opts = []
    params: list[Any] = list(group.get_params(ctx))  # typer's TyperOption: typed loosely here
    for p in params:
        if getattr(p, "hidden", False):
            continue
        assert not p.secondary_opts and all(o.startswith("--") for o in p.opts), p.opts
        assert not p.required and not p._get_number_range_help_str(), p.opts
        default = p._extract_default_help_str(ctx=ctx)  # as typer's _get_parameter_help finds it
        shown: str | None = None
        if isinstance(p.show_default, str) or (default is not None and (p.show_default or ctx.show_default)):
            shown = p._get_default_string(ctx=ctx, show_default_is_str=isinstance(p.show_default, str),
                                          default_value=default) or None
        help_text = ""
        if p.help:  # as typer's _get_parameter_help and _make_rich_text shape it
            paragraphs = [x.replace("\n", " ").strip() if not x.startswith("\b") else "{}\n".format(x.strip("\b\n"))
                          for x in p.help.split("\n\n")]
            help_text = inspect.cleandoc("\n".join(paragraphs).strip())
        envvar = p.envvar if p.envvar and getattr(p, "show_envvar", False) else None
        opts.append((",".join(p.opts), p.display_type_rich(ctx=ctx), help_text, envvar, shown))
    commands = []
    listing: Any = group
    for name in listing.list_commands(ctx):
        c = listing.get_command(ctx, name)
        assert c is not None and not c.hidden and not c.deprecated, name
        first = inspect.cleandoc(c.short_help or c.help or "").split("\n\n")[0]
        assert not first.startswith("\b"), name
        commands.append((c.name, inspect.cleandoc(first.strip())))
    first, *rest = inspect.cleandoc(group.help or "").partition("\f")[0].split("\n\n")
    assert not rest and not first.startswith("\b"), "the root help is one paragraph"
    root_help = inspect.cleandoc(first.replace("\n", " ").strip())
    lines = [
        '"""What ``circfin --help`` shows, recorded from the app by `python -m circfin.cli.fast_help',
        '--write` (tests/test_startup.py checks it is current). Drawn by ``fast_help``."""',
        "",
        "# ruff: noqa: E501",
        f"USAGE_ARGS = {' '.join(group.collect_usage_pieces(ctx))!r}",
        f"HELP = {root_help!r}",
        "# (long option, type shown, help, env var shown, default shown)",
        "OPTIONS: tuple[tuple[str, str | None, str, str | None, str | None], ...] = (",
        *[f"    {o!r}," for o in opts],
        ")",
        "COMMANDS: tuple[tuple[str, str], ...] = (",
        *[f"    {c!r}," for c in commands],
        ")",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - a developer's tool
    from pathlib import Path

    target = Path(__file__).with_name("help_index.py")
    text = recorded()
    if sys.argv[1:] == ["--write"]:
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    else:
        print(text)
