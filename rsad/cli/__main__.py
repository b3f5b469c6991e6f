"""``python -m rsad.cli``: the same as the ``rsad`` command."""

import sys

from rsad.cli.main import main

sys.exit(main())
