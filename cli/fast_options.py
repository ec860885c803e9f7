"""Option values parsed without pydantic: every command starts 0.1-0.3 s sooner.

typer (0.29 and later) turns each option's text into its Python value through a
pydantic ``TypeAdapter``, built on first use: importing pydantic and building an
adapter per option cost more than the database's answer on the seed. circfin's
options are plain types (str, int, float, bool, Path, an Enum, or a list of
them), and a well-formed value of those is parsed here directly, with typer's
own choice and path checks. Anything else — an empty, signed, spaced or
exponent number, a wrong choice, a path typer refuses — goes through typer's
pydantic adapter as before, so every error message stays word for word what
typer says.

Another typer (without ``typer._coercion``) keeps its own parsing.

>>> _number("12", int), _number("-3", int), _number("2.50", float), _number(7, float)
(12, -3, 2.5, 7.0)
>>> _number("1e3", float) is _SLOW, _number("+1", int) is _SLOW, _number(True, int) is _SLOW
(True, True, True)
"""

from __future__ import annotations

import math
import re
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

__all__ = ["install"]

_SLOW: Any = object()  # "not a plain value of a plain type: ask typer's adapter"
_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})(?:\.[0-9]{1,17})?")


def _number(value: Any, kind: type) -> Any:
    """``value`` as ``kind`` (int or float) if it is one plainly, else _SLOW."""
    if type(value) is kind:  # exactly: a bool, an IntEnum or a str Enum is typer's to say
        return value
    if kind is float and type(value) is int:
        return float(value)
    if type(value) is str and (_INT if kind is int else _FLOAT).fullmatch(value):
        number = kind(value)
        return number if kind is int or math.isfinite(number) else _SLOW
    return _SLOW


def install() -> None:
    """Make typer's options parse plain values without pydantic (see the module's docstring)."""
    try:
        from typer import _coercion
        from typer._param_types import coerce_cli_choice, coerce_cli_path, lenient_issubclass
        from typer.core import _TyperParameter
    except ImportError:  # another typer: it parses as it always did
        return
    if getattr(_TyperParameter.get_runtime_param, "_circfin", False):
        return
    base = _coercion.RuntimeParam
    build = _coercion.build_runtime_param

    def leaf(annotation: Any, info: Any, value: Any, param: Any, ctx: Any) -> Any:
        if getattr(info, "parser", None) is not None:
            return _SLOW
        if lenient_issubclass(annotation, Enum):
            return coerce_cli_choice(value, choices=list(annotation),
                                     case_sensitive=info.case_sensitive, ctx=ctx)
        if annotation is int or annotation is float:
            if info.min is not None or info.max is not None:
                return _SLOW
            return _number(value, annotation)
        if annotation is bool:
            return value if type(value) is bool else _SLOW
        if annotation is str:
            return value if type(value) is str else _SLOW
        if annotation is Path and info.path_type is None:
            if type(value) is str and value and "\x00" not in value:
                value = Path(value)
            if not isinstance(value, Path):
                return _SLOW
            return coerce_cli_path(value, info, path_type=Path, param=param, ctx=ctx)
        return _SLOW

    class FastRuntimeParam(base):  # type: ignore[misc, valid-type]
        """A plain value parsed here; any other goes to typer's own (pydantic) parser."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            annotation: Any = self.annotation
            info = self.parameter_info
            try:
                if get_origin(annotation) is list:
                    (item,) = get_args(annotation)
                    items = value if isinstance(value, (list, tuple)) else [value]
                    done = [leaf(item, info, v, param, ctx) for v in items]
                    if all(d is not _SLOW for d in done):
                        return done
                else:
                    done = leaf(annotation, info, value, param, ctx)
                    if done is not _SLOW:
                        return done
            except Exception:  # noqa: BLE001 - typer's parser below says what is wrong, in its words
                pass
            slow = getattr(param, "_circfin_slow", None)
            if slow is None:
                slow = param._circfin_slow = build(param.type_descriptor)
            return slow._coerce_value(value, param=param, ctx=ctx)

    def get_runtime_param(self: Any) -> Any:
        if self._runtime_param is None:
            d = self.type_descriptor
            if d.file_annotation is not None:
                self._runtime_param = build(d)
            else:
                self._runtime_param = FastRuntimeParam(parameter_info=d.parameter_info,
                                                       annotation=d.annotation)
        return self._runtime_param

    get_runtime_param._circfin = True  # type: ignore[attr-defined]
    _TyperParameter.get_runtime_param = get_runtime_param  # type: ignore[method-assign]


def help_without_markdown() -> None:
    """``--help`` without importing rich.markdown, markdown-it and rich.traceback (0.1-0.15 s).

    typer's help formatter (``typer.rich_utils``) imports rich's ``Markdown`` and
    ``Traceback`` at its top, but uses the first only for
    ``rich_markup_mode="markdown"``, which circfin does not use, and the second
    only to show a crash. Before typer formats help, its formatter is imported
    here with stand-ins for the two modules, whose classes build the real ones if
    they are ever used; the stand-ins leave ``sys.modules`` at once, so any later
    ``import rich.markdown`` gets the real module. The help printed is the same.
    """
    try:
        from typer.core import TyperCommand, TyperGroup
    except ImportError:  # another typer
        return
    for cls in (TyperCommand, TyperGroup):
        shown = cls.format_help
        if getattr(shown, "_circfin", False):
            continue

        def format_help(self: Any, ctx: Any, formatter: Any, _shown: Any = shown) -> Any:
            _import_help_formatter()
            return _shown(self, ctx, formatter)

        format_help._circfin = True  # type: ignore[attr-defined]
        cls.format_help = format_help  # type: ignore[method-assign]


def _on_use(module: str, name: str) -> type:
    """A stand-in for class ``name`` of ``module``: makes (or names) the real one when used."""

    def real() -> Any:
        import importlib

        return getattr(importlib.import_module(module), name)

    class StandIn:
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            return real()(*args, **kwargs)

        @classmethod
        def from_exception(cls, *args: Any, **kwargs: Any) -> Any:  # Traceback's maker
            return real().from_exception(*args, **kwargs)

    StandIn.__name__ = StandIn.__qualname__ = name
    return StandIn


def _import_help_formatter() -> None:
    import sys

    stand_ins = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}
    if "typer.rich_utils" in sys.modules or any(m in sys.modules for m in stand_ins):
        return
    import types

    placed = {}
    for module, name in stand_ins.items():
        placed[module] = sys.modules[module] = types.ModuleType(module)
        setattr(placed[module], name, _on_use(module, name))
    try:
        import typer.rich_utils  # noqa: F401
    except ImportError:  # a typer that wants more of them: import them all
        sys.modules.pop("typer.rich_utils", None)
    finally:
        for module, stand_in in placed.items():
            if sys.modules.get(module) is stand_in:
                del sys.modules[module]


def signatures_once() -> None:
    """Each command's signature read once, not twice (about 0.06 s of ``--help``).

    To build a command, typer reads its function's signature, evaluating every
    ``Annotated[..., typer.Option(...)]`` annotation, and then reads it all again
    only for the parameter names. The second read gets the first one's result.
    """
    try:
        from typer import main
    except ImportError:  # pragma: no cover
        return
    read = getattr(main, "get_params_from_function")  # noqa: B009 - not exported
    if getattr(read, "_circfin", False):
        return
    last: dict[Any, Any] = {}

    def get_params_from_function(func: Any) -> Any:
        if func in last:  # the read just before, of the same function
            return last.pop(func)
        last.clear()
        last[func] = params = read(func)
        return params

    get_params_from_function._circfin = True  # type: ignore[attr-defined]
    setattr(main, "get_params_from_function", get_params_from_function)  # noqa: B010 - not exported
