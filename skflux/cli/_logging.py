"""Logging of the ``skflux`` command: one line per message, through tqdm (private)."""

import logging
import sys


class _TqdmHandler(logging.Handler):
    """Log records written through ``tqdm.write`` so they do not break progress bars."""

    def emit(self, record):
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


class _Formatter(logging.Formatter):
    def format(self, record):
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            message = f"skflux: {record.levelname.lower()}: {message}"
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        return message


def setup_logging(quiet, debug):
    """Route the ``skflux`` logger and Python warnings to standard error."""
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    handler = _TqdmHandler()
    handler.setFormatter(_Formatter())
    for name in ("skflux", "py.warnings"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    logging.captureWarnings(True)
