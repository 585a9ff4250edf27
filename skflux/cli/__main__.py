"""``python -m skflux.cli``: the ``skflux`` command."""

import sys

from ._main import main

sys.exit(main())
