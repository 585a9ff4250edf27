"""The run-directory layout: fixed names for what a run of the paper's pipeline produces.

Private; public as :data:`skflux.pipeline.RUN_LAYOUT` (and the names below from
:mod:`skflux.pipeline`). It is a leaf module (no skflux import) so that both the
pipeline, which writes a run directory, and :mod:`skflux.report`, which only
reads one, name its files from the same place.
"""

DATA = "data.nc"
PREPARED = "prepared.nc"
RELABELED = "relabeled.nc"
REVIEW_LOG = "review.db"
PASSES = "relabeled.json"
MODEL = "model"
TIMES = "times.nc"
PROBA = "probabilities.nc"
METRICS = "metrics.json"
REPORT = "report"

#: name -> what it holds, in pipeline order
RUN_LAYOUT = {
    DATA: "videos with crude labels (skflux simulate / ingest / extract)",
    PREPARED: "the videos gaps filled, off-disk masked, padded or resampled (skflux prepare)",
    RELABELED: "copy of the videos with the reviewed labels (skflux relabel)",
    REVIEW_LOG: "the durable log of every verdict (skflux relabel --log)",
    PASSES: "per-pass record of the relabeling (Figure 3)",
    MODEL: "the ensemble saved by MonthBlockEnsemble.save (skflux fit)",
    PROBA: "members' probabilities of the test videos (Figure 4)",
    TIMES: "emergence times and probability curves (skflux locate)",
    METRICS: "accuracies and timing errors (skflux demo)",
    REPORT: "index.html and the figure files (skflux report)",
}

#: the files holding videos, the one a report reads first first
VIDEO_FILES = (RELABELED, PREPARED, DATA)
