"""``python -m rsad.cli``: the same as the ``rsad`` command."""

import sys

from rsad.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
