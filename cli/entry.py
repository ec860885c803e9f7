"""The ``circfin`` command's entry point: ``circfin --help`` is drawn without
loading typer or any command (:mod:`circfin.cli.fast_help`); everything else
runs the app (:func:`circfin.cli.app.main`)."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--help"]:
        from .fast_help import print_root_help

        print_root_help()
        return
    from .app import main as run

    run()
