"""The ``skflux`` command: simulate, ingest, extract, prepare, fit, relabel, review, locate...

Every subcommand is a thin shell (argparse) over the public library, mostly
:mod:`skflux.pipeline` (one module each in this package); run ``skflux
SUBCOMMAND --help`` for its options. Common options
(before or after the subcommand):

``-q/--quiet``
    only warnings and errors; no progress bars.
``--debug``
    debug logging, and a full traceback when a command fails.

Exit status (also in ``skflux --help``):

====  =======================================================================
0     success
1     failure (missing or corrupt file, invalid data, an output that exists
      without ``--overwrite``...), reported as one line
      ``skflux: error: <reason>`` on standard error (traceback with ``--debug``)
2     usage error: unknown option or bad value, an output path in a missing
      folder or equal to an input or another output of the same command; found
      when the command line is read, before any training or writing, and named
      (``skflux COMMAND: error: argument --option: ...``)
3     ``skflux relabel`` or ``skflux review`` stopped to wait for a review
      (review sheet to fill, the console reviewer or the browser page
      stopped): nothing is lost; review, then rerun the same command
130   interrupted (Ctrl-C)
====  =======================================================================

Outputs are never silently replaced: every command that writes refuses an
existing output unless given ``--overwrite``, refuses an output path equal to
one of its inputs or to another of its outputs, and writes to a temporary file
in the same folder that is renamed into place only when complete.
``skflux demo --out DIR`` keeps a manifest of the files it writes
(``DIR/.skflux-demo``); rerunning it into DIR removes those files and nothing
else, and a non-empty folder it did not write is refused.

A *run directory* collects what the pipeline produces under fixed names
(:data:`skflux.pipeline.RUN_LAYOUT`), so that ``skflux report RUN_DIR``
(:func:`skflux.report.build_report`) finds everything (``skflux demo`` writes
one):

====================  ===========================================================
``data.nc``           videos with crude labels (``simulate`` / ``ingest`` / ``extract``)
``prepared.nc``       the videos gaps filled, padded or resampled (``prepare``)
``relabeled.nc``      copy of the videos with the reviewed labels (``relabel``)
``review.db``         the durable log of every verdict (``relabel --log``)
``relabeled.json``    per-pass record of the relabeling (Figure 3)
``model/``            the ensemble, written by ``MonthBlockEnsemble.save`` (``fit``)
``probabilities.nc``  members' probabilities of the test videos (Figure 4)
``times.nc``          emergence times and probability curves (``locate``)
``metrics.json``      accuracies and timing errors (written by ``demo``)
``report/``           ``index.html`` and the figure files (``report``)
====================  ===========================================================
"""

from ._errors import CommandError
from ._main import build_parser, main

__all__ = ["CommandError", "build_parser", "main"]
