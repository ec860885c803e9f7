"""Let a benchmark import circfin from a checkout that is not pip-installed.

``python bench/x.py`` puts bench/ on sys.path, so the scripts import this module
and call :func:`ensure_circfin` before importing circfin itself.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_checkout(root: Path, name: str = "circfin") -> ModuleType:
    """Import the circfin checkout at ``root`` as the package ``name`` (``circfin``, or
    another name to have an older checkout beside this one), whatever is installed."""
    spec = importlib.util.spec_from_file_location(
        name, root / "__init__.py", submodule_search_locations=[str(root)]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load circfin from {root}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def ensure_circfin() -> None:
    """Import ``circfin`` as installed, else register the repo root as that package."""
    if "circfin" in sys.modules or importlib.util.find_spec("circfin") is not None:
        return
    load_checkout(Path(__file__).resolve().parents[1])
