"""``python -m musegen.cli``: the ``musegen`` command."""

import sys

from musegen.cli import main

sys.exit(main())
