"""The run-directory layout: fixed file names for what a pipeline run produces (private).

``skflux demo`` writes every entry, the other ``skflux`` commands one each, and
:func:`skflux.report.build_report` reads whichever are present.
"""

DATA = "data.nc"
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
    DATA: "videos with crude labels (skflux simulate / ingest)",
    RELABELED: "copy of the videos with the reviewed labels (skflux relabel)",
    REVIEW_LOG: "the durable log of every verdict (skflux relabel --log)",
    PASSES: "per-pass record of the relabeling (Figure 3)",
    MODEL: "the ensemble saved by MonthBlockEnsemble.save (skflux fit)",
    PROBA: "members' probabilities of the test videos (Figure 4)",
    TIMES: "emergence times and probability curves (skflux locate)",
    METRICS: "accuracies and timing errors (skflux demo)",
    REPORT: "index.html and the figure files (skflux report)",
}
