"""The ``circfin`` command's entry point. Two commands that people run to look, not
to work, skip typer and the command modules: ``circfin --help`` is drawn from the
recorded listing (:mod:`circfin.cli.fast_help`), and a plain ``circfin db status``
prints the server's state (:func:`circfin.cli.common.print_db_status`, which the
app's command runs too). Everything else runs the app (:func:`circfin.cli.app.main`).
"""

from __future__ import annotations

import sys

# the spellings of a plain `circfin db status` (anything else, such as --home or a
# bad --format, goes to the app, which parses and reports it)
_DB_STATUS: dict[tuple[str, ...], str] = {
    ("db", "status"): "table",
    **{("db", "status", "--format", f): f for f in ("table", "json")},
    **{("db", "status", f"--format={f}"): f for f in ("table", "json")},
}


def main() -> None:
    args = tuple(sys.argv[1:])
    if args == ("--help",):
        from .fast_help import print_root_help

        print_root_help()
        return
    fmt = _DB_STATUS.get(args)
    if fmt is not None and _db_status(fmt):
        return
    from .app import main as run

    run()


def _db_status(fmt: str) -> bool:
    """Print ``db status`` with the settings taken from the environment as the app
    takes them (an empty variable is unset); False, printing nothing, when the app
    should answer instead (a ``CIRCFIN_HOME`` it refuses: it says why)."""
    import os
    from pathlib import Path

    from ..errors import CircfinError
    from .checks import home_dir

    home_env, store_env = os.environ.get("CIRCFIN_HOME"), os.environ.get("CIRCFIN_STORE")
    try:
        home = home_dir(Path(home_env)) if home_env else None
    except CircfinError:
        return False
    from .common import print_db_status

    try:
        print_db_status(home, store_env or None, fmt)
    except CircfinError:
        return False  # before anything is printed: the app reports it as it does any error
    return True
