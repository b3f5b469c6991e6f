"""The ``rsad`` command: every subcommand calls :mod:`rsad.service` (see ``rsad --help``).

``main`` parses and dispatches; ``models`` holds the model-lifecycle commands, ``users`` the user
file's; each command's docstring is its ``--help`` text."""

from rsad.cli.main import main

__all__ = ["main"]
