"""``python -m skflux``: the ``skflux`` command line (see :mod:`skflux.cli`)."""

import sys

from skflux.cli import main

if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess in the tests
    sys.exit(main())
