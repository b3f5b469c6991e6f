"""The ``rsad`` command (``rsad.cli.main:main``); every subcommand calls :mod:`rsad.service`.

``main`` builds the parser and dispatches; ``data`` holds the batch and threshold commands,
``models`` the model-lifecycle ones, ``users`` the user file's; ``common`` the store, progress
line and acting user they share. Each command's docstring is its ``--help`` text."""
