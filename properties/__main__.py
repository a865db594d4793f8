"""``python -m trigrad.properties`` is the ``trigrad`` command."""

import sys

from .cli import main

sys.exit(main())
