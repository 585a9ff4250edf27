"""The cost curve: correct labels against reviews, for every review policy, on the simulator.

Human time is what relabeling spends. On simulated videos
(:func:`skflux.datasets.make_flux_emergence`, BARD-like crude labels) with the
ground truth as the reviewer (:class:`skflux.relabel.TruthOracle`), this script
measures the fraction of correct labels among the train+validation videos
(months 1-10, against the simulator's ``true_label``) after every review, for

* ``paper default``: every new disagreement of a pass reviewed in video order,
  stop when R <= 0.5 (read off the continued run: it is that run cut at the
  default's stop, see ``bench_relabel.paper_from_continued``);
* ``passes continued``: the same with ``stop_ratio=0`` (until a pass changes no
  label);
* ``confidence``: ``priority="confidence"`` with a budget of 4 % of the videos
  per pass (40 of 1,000 as in ``bench_relabel.py``), the models retrained
  after every pass;
* ``cleanlab``: ``cleanlab.filter.find_label_issues`` (cleanlab 2.9, ranked by
  self-confidence) on the *same* out-of-fold probabilities as the first pass,
  its flagged videos reviewed in its order (no retraining);
* ``random``: videos reviewed in a random order (the floor);
* ``audit-stopped``: the confidence passes, each followed by an audit
  (:func:`skflux.relabel.audit`: a stratified random sample of the videos not
  yet verified, agreeing vs disagreeing with the pass's out-of-fold prediction)
  whose verdicts correct labels too and count as reviews; the policy stops at
  the first audit whose one-sided upper bound (95 %) on the fraction of wrong
  labels left is below ``--epsilon`` (default 5 %). Audits of ``--audit-size``
  videos (default 5 % of the train+validation videos). Simulated on the stored
  confidence run (the later passes' models did not see the audits' corrections);
* ``audit-stopped (real run)``: the same policy run for real,
  ``IterativeRelabeler(priority="confidence", budget=4 % + audit, audit_size=...,
  max_error=epsilon)``: its models retrain on the audits' corrections;
* ``audit once exhausted (real run)``: the same with ``audit_when="exhausted"``:
  audits only after a pass that left no disagreement unreviewed.

Reviews are counted in videos (audit verdicts included); each curve is a step
function of the number of reviews, read at the fractions in the table.

Coverage: ``--n-audits`` (default 200) simulated audits per data seed, each a
fresh stratified sample of ``--audit-size`` videos from the labels as the
confidence run left them after each pass; the fraction of audits whose 95 %
interval holds the true fraction of wrong labels among the unverified videos
(target >= 93 %). No model is refitted for them.

Goal (issue 29): >= 95 % correct labels with <= 15 % of the videos reviewed
(audit included), certified by the audit.

Size and model: ``--n-videos`` (default 2,000) videos of ``--frames`` x ``--size``
x ``--size`` (default 32 x 32 x 32, i.e. the 15 days at a 675-minute cadence and
28'' pixels), data seeds ``--seeds`` (default 0 1 2). ``--model features`` (the
default) is ``bench_relabel.py``'s fast model: logistic regression on flux-curve
features of each video (a weaker model than the CNN: test accuracy 0.917 with
true labels against the CNN's ~0.98 in ``results/relabel_features.md``).
``--model cnn`` is the small GCE (q=0.3) CNN of ``bench_relabel.py`` (``--epochs``,
default 20, patience 5); it was started at 500 videos on the shared 2-core
machine and stopped after 3 passes in 27 minutes (a pass took 1.5 to over 20
minutes as the load changed); a second try (``--n-videos 500 --seeds 0
--max-passes 5``) took 3,157 s for the continued run alone and was stopped in
its confidence run, so its curve is not in the results. The issue's full
size, 2,000 full-size videos, is ``--n-videos 2000 --frames 225 --size 90 --model
cnn`` (hours per seed on 2 CPU cores; not run).

Files: the fitted runs (probabilities and review orders of every pass, no
models) go to ``results/cost_curve_runs.json`` as each seed finishes (JSON:
read back without executing anything); the figures and the table are computed
from it, so ``--from-runs`` redraws them without fitting. Writes
``results/cost_curve.json``/``.md``, ``cost_curve_table.md``/``.rst`` and
``cost_curve.png``, ``cost_curve_coverage.png`` (copied to
``docs/user_guide/images`` for the relabeling guide). ``--model cnn`` writes
``cost_curve_cnn*`` instead.

Run: ``python benchmarks/bench_cost_curve.py`` (about 5 minutes per
data seed on 2 busy CPU cores, mostly simulating the videos), ``--from-runs`` to
recompute tables and figures, ``--quick`` (a smoke run: 150 videos of 16 x 16 x
16, one seed, 2 passes).
"""

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
from _common import RESULTS, peak_rss_mb, write_result
from bench_relabel import _model, _simulate, video_features

from skflux.relabel import IterativeRelabeler, ReviewLog, TruthOracle

DOC_IMAGES = Path(__file__).resolve().parent.parent / "docs" / "user_guide" / "images"


# --------------------------------------------------------------------------- fitting
def _record_run(rel, log_path):
    """Per pass: out-of-fold probabilities, review order, relabeled videos (JSON-able)."""
    passes = []
    with ReviewLog(log_path) as log:
        for rec in rel.passes_:
            oof = log.load_pass(rec.pass_index)["oof_proba"]
            passes.append({"oof": [None if not np.isfinite(v) else round(float(v), 6)
                                   for v in oof],
                           "reviewed": [int(i) for i in rec.reviewed],
                           "relabeled": [int(i) for i in rec.relabeled],
                           "ratio": None if not np.isfinite(rec.ratio) else rec.ratio,
                           "audit": rec.audit})
    return {"passes": passes, "stop_reason": rel.stop_reason_}


def fit_seed(seed, args, tmpdir, out=None):
    """The continued, confidence (and audited) runs on one simulated data set.

    ``out`` holds the runs of this seed already stored; only missing ones are fitted.
    """
    da = _simulate(args.n_videos, args.frames, args.size, seed)
    crude = da.label.values.astype(int)
    truth = da.true_label.values.astype(int)
    months = da.month.values.astype(int)
    in_cv = months <= 10
    if args.model == "features":
        X = video_features(da.values)
    else:
        X = np.asarray(da.values, dtype=np.float32)
    est = _model(args.model, args.epochs, "cpu", args.model_seed)
    budget = args.budget or max(1, int(round(0.04 * in_cv.sum())))
    audit_size = args.audit_size or max(1, int(round(0.05 * in_cv.sum())))
    if out is None:
        out = {"seed": seed, "crude": crude.tolist(), "truth": truth.tolist(),
               "months": months.tolist(), "budget": budget, "runs": {}}
    configs = [("continued", {"stop_ratio": 0.0, "max_passes": args.max_passes}),
               ("confidence", {"priority": "confidence", "budget": budget,
                               "max_passes": args.max_passes})]
    if args.audited_run:  # the real option: audits after every pass, retrained on them
        for name, when in (("audited", "every_pass"), ("audited_exhausted", "exhausted")):
            configs.append((name, {"priority": "confidence", "budget": budget + audit_size,
                                   "audit_size": audit_size, "max_error": args.epsilon,
                                   "audit_confidence": args.confidence, "audit_when": when,
                                   "max_passes": args.max_passes}))
    for name, kw in configs:
        if name in out["runs"]:
            continue
        log_path = Path(tmpdir) / f"seed{seed}_{name}.sqlite"
        t0 = time.perf_counter()
        rel = IterativeRelabeler(est, oracle=TruthOracle(truth), random_state=args.model_seed,
                                 review_log=str(log_path), **kw)
        rel.fit(X, crude, groups=months)
        run = _record_run(rel, log_path)
        run["verified"] = np.flatnonzero(rel.verified_).tolist()
        run["correct"] = int((np.asarray(rel.labels_) == truth)[in_cv].sum())
        run["seconds"] = time.perf_counter() - t0
        out["runs"][name] = run
        print(f"seed {seed}, {name}: {len(run['passes'])} passes, "
              f"{sum(len(p['reviewed']) for p in run['passes'])} reviews"
              f" + {sum(p['audit']['n_sampled'] for p in run['passes'] if p['audit'])} "
              "audited, "
              f"{run['seconds']:.0f} s", flush=True)
    return out


def fit_all(args, runs_path):
    """Fit every seed not already in ``runs_path`` (same configuration); save after each."""
    import tempfile

    config = {k: getattr(args, k) for k in ("n_videos", "frames", "size", "epochs",
                                             "model_seed", "budget", "max_passes")}
    config["model"] = args.model
    stored = {"config": config, "seeds": {}}
    if runs_path.exists():
        old = json.loads(runs_path.read_text())
        if old.get("config") == config:
            stored = old
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            old = stored["seeds"].get(str(seed))
            if old is not None and set(RUNS[:4 if args.audited_run else 2]) <= set(old["runs"]):
                continue
            stored["seeds"][str(seed)] = fit_seed(seed, args, tmp, out=old)
            runs_path.write_text(json.dumps(stored))
    return stored


def _name(args):
    return "cost_curve" if args.model == "features" else f"cost_curve_{args.model}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run (seconds)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--n-videos", type=int, default=2000)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--model", choices=("cnn", "features"), default="features",
                    help="the small GCE CNN, or logistic regression on flux-curve features "
                         "(bench_relabel.py's fast model)")
    ap.add_argument("--budget", type=int, default=None,
                    help="reviews per confidence pass (default 4 %% of train+val videos)")
    ap.add_argument("--max-passes", type=int, default=8)
    ap.add_argument("--model-seed", type=int, default=0)
    ap.add_argument("--no-audited-run", dest="audited_run", action="store_false",
                    help="skip the run of IterativeRelabeler(audit_size=..., max_error=...)")
    ap.add_argument("--fit-only", action="store_true",
                    help="fit and store the runs, compute nothing else")
    ap.add_argument("--audit-size", type=int, default=None,
                    help="videos per audit (default 5 %% of the train+val videos)")
    ap.add_argument("--epsilon", type=float, default=0.05,
                    help="stop once the audit's upper bound on the wrong labels left is below")
    ap.add_argument("--confidence", type=float, default=0.95, help="audit confidence")
    ap.add_argument("--n-audits", type=int, default=200,
                    help="simulated audits per data seed and audit size (coverage)")
    ap.add_argument("--from-runs", action="store_true",
                    help="compute the curves from the stored runs without fitting")
    args = ap.parse_args(argv)
    if args.quick:
        args.n_videos, args.frames, args.size, args.epochs = 150, 16, 16, 1
        args.max_passes, args.seeds, args.n_audits = 2, args.seeds[:1], 20
    runs_path = RESULTS / f"{_name(args)}_runs{'_quick' if args.quick else ''}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.from_runs:
        stored = json.loads(runs_path.read_text())
    else:
        stored = fit_all(args, runs_path)
    if args.fit_only:
        return stored
    return analyse(stored, args)


# --------------------------------------------------------------------------- curves
POLICIES = ("paper default", "passes continued", "confidence", "cleanlab", "random",
            "audit-stopped", "audit-stopped (real run)", "audit once exhausted (real run)")
#: the fitted runs of one data seed
RUNS = ("continued", "confidence", "audited", "audited_exhausted")
READ_AT = (0.05, 0.10, 0.15, 0.20, 0.25)


def _curve(order, crude, truth):
    """Correct labels after each review of ``order`` (a truth oracle sets the truth).

    Only reviews change labels, so a video's label before its first review is its
    crude one, and a review adds one correct label exactly when that was wrong.
    """
    order = np.asarray(order, dtype=int)
    if len(set(order.tolist())) != order.size:
        raise ValueError("a policy reviewed a video twice")
    return np.cumsum(crude[order] != truth[order])


def _paper_passes(passes, stop_ratio=0.5):
    """Passes of the paper default: the continued run cut at R <= 0.5 (or R undefined)."""
    for k, rec in enumerate(passes):
        if rec["ratio"] is None or rec["ratio"] <= stop_ratio:
            return passes[:k + 1]
    return passes


def cleanlab_order(labels, oof, in_cv):
    """cleanlab 2.9's ``find_label_issues`` on the out-of-fold probabilities, ranked."""
    from cleanlab.filter import find_label_issues

    idx = np.flatnonzero(in_cv)
    p = np.asarray(oof, dtype=float)[idx]
    ranked = find_label_issues(labels[idx], np.column_stack([1 - p, p]),
                               return_indices_ranked_by="self_confidence")
    return idx[np.asarray(ranked, dtype=int)]


def _oof(rec):
    return np.array([np.nan if v is None else v for v in rec["oof"]], dtype=float)


def audit_stopped(conf_passes, crude, truth, in_cv, audit_size, epsilon, confidence, seed):
    """The confidence passes, each followed by an audit; stop once the audit certifies.

    Simulated from the stored confidence run (no model is refitted): the audit after
    pass k samples the videos still unverified, stratified by pass k's out-of-fold
    prediction; its verdicts (the truth) correct labels and count as reviews. The
    models of the later passes did not see the audit's corrections (a real
    ``IterativeRelabeler(audit_size=..., max_error=...)`` retrains on them).
    """
    from skflux.relabel import TruthOracle, audit

    order, audits, verified = [], [], np.zeros(crude.size, bool)
    stop = None
    for k, rec in enumerate(conf_passes):
        new = [i for i in rec["reviewed"] if not verified[i]]
        order += new
        verified[new] = True
        labels = np.where(verified, truth, crude)
        if not (in_cv & ~verified).any():
            stop = {"pass": k + 1, "certified": True, "reviews": len(order)}
            break
        res = audit(labels, np.nan_to_num(_oof(rec), nan=0.5), TruthOracle(truth),
                    audit_size, verified=verified, scope=in_cv, confidence=confidence,
                    random_state=np.random.RandomState([seed, k, 29]))
        order += res.indices
        verified[res.indices] = True
        audits.append({"after_pass": k + 1, "reviews": len(order), "indices": res.indices,
                       "residual_error": res.residual_error,
                       "residual_error_ci": list(res.residual_error_ci),
                       "true_residual_error": float(
                           (np.where(verified, truth, crude) != truth)[in_cv].sum()
                           / in_cv.sum())})
        if res.certifies(epsilon):
            stop = {"pass": k + 1, "certified": True, "reviews": len(order)}
            break
    if stop is None:
        stop = {"pass": len(conf_passes), "certified": False, "reviews": len(order)}
    return order, audits, stop


def seed_curves(data, args):
    """Review order and correct-label curve of every policy on one data seed."""
    crude, truth = np.asarray(data["crude"]), np.asarray(data["truth"])
    in_cv = np.asarray(data["months"]) <= 10
    cont = data["runs"]["continued"]["passes"]
    conf = data["runs"]["confidence"]["passes"]
    rng = np.random.default_rng(data["seed"])
    orders = {
        "paper default": [i for rec in _paper_passes(cont) for i in rec["reviewed"]],
        "passes continued": [i for rec in cont for i in rec["reviewed"]],
        "confidence": [i for rec in conf for i in rec["reviewed"]],
        "cleanlab": cleanlab_order(crude, _oof(cont[0]), in_cv).tolist(),
        "random": rng.permutation(np.flatnonzero(in_cv)).tolist(),
    }
    order, audits, stop = audit_stopped(conf, crude, truth, in_cv, args.audit_size_n,
                                        args.epsilon, args.confidence, data["seed"])
    orders["audit-stopped"] = order
    real_runs = {"audit-stopped (real run)": data["runs"].get("audited"),
                 "audit once exhausted (real run)": data["runs"].get("audited_exhausted")}
    for name, real in real_runs.items():  # IterativeRelabeler(audit_size=..., max_error=...)
        if real is not None:
            orders[name] = [i for rec in real["passes"] for i in rec["reviewed"] + (
                [] if rec["audit"] is None else rec["audit"]["indices"])]
    n_cv, base = int(in_cv.sum()), int((crude == truth)[in_cv].sum())
    out = {}
    for name, o in orders.items():
        correct = base + np.concatenate([[0], _curve(o, crude, truth)])
        out[name] = {"reviews": len(o), "correct": correct.tolist()}
    out["audit-stopped"].update(audits=audits, stop=stop)
    for name, real in real_runs.items():
        if real is None:
            continue
        out[name].update(
            stop={"pass": len(real["passes"]), "reviews": len(real["verified"]),
                  "certified": real["stop_reason"].startswith("audit:")},
            audits=[{k: rec["audit"][k] for k in ("n_sampled", "n_wrong", "residual_error",
                                                   "residual_error_ci")}
                    for rec in real["passes"] if rec["audit"] is not None],
            stop_reason=real["stop_reason"])
        # the relabeler's own count of correct labels equals the curve's end
        if out[name]["correct"][-1] != real["correct"]:
            raise RuntimeError("the audited run's labels disagree with its review order")
    return {"seed": data["seed"], "n_cv": n_cv, "crude_correct": base,
            "n_mislabels": n_cv - base, "policies": out}


def correct_at(policy, n_cv, frac):
    """Correct-label fraction after ``frac`` of the videos were reviewed (None past its end)."""
    k = int(np.floor(frac * n_cv + 1e-9))
    c = policy["correct"]
    return None if k > policy["reviews"] else c[k] / n_cv


def reviews_to_reach(policy, n_cv, level):
    """Fraction of the videos reviewed when the correct labels first reach ``level``."""
    hit = np.flatnonzero(np.asarray(policy["correct"]) >= level * n_cv)
    return None if hit.size == 0 else int(hit[0]) / n_cv


# --------------------------------------------------------------------------- coverage
def coverage(data, args, sizes):
    """Simulated audits of the states the confidence run went through (no refits)."""
    from skflux.relabel import TruthOracle, audit

    crude, truth = np.asarray(data["crude"]), np.asarray(data["truth"])
    in_cv = np.asarray(data["months"]) <= 10
    conf = data["runs"]["confidence"]["passes"]
    states, verified = [], np.zeros(crude.size, bool)
    for rec in conf:  # the state after pass k, stratified by pass k's predictions
        verified = verified.copy()
        verified[rec["reviewed"]] = True
        states.append((verified, np.nan_to_num(_oof(rec), nan=0.5)))
    out = []
    for m in sizes:
        hits, hits_upper, widths = 0, 0, []
        for a in range(args.n_audits):
            verified, oof = states[a % len(states)]
            labels = np.where(verified, truth, crude)
            k_true = int(((labels != truth) & in_cv & ~verified).sum())
            res = audit(labels, oof, TruthOracle(truth), m, verified=verified, scope=in_cv,
                        confidence=args.confidence,
                        random_state=np.random.RandomState([data["seed"], m, a]))
            lo, hi = res.n_wrong_bounds
            hits += lo <= k_true <= hi
            hits_upper += k_true <= res.n_wrong_upper
            widths.append(res.residual_error_ci[1] - res.residual_error_ci[0])
        out.append({"audit_size": m, "n_audits": args.n_audits, "covered": hits,
                    "coverage": hits / args.n_audits, "covered_upper": hits_upper,
                    "coverage_upper": hits_upper / args.n_audits,
                    "mean_width": float(np.mean(widths))})
    return out


# --------------------------------------------------------------------------- output
def _fmt(values, pct=True):
    vals = [v for v in values if v is not None]
    if not vals:
        return "–"
    if len(vals) < len(values):
        return "–"
    f = (lambda v: f"{100 * v:.1f}") if pct else (lambda v: f"{v:.0f}")
    mid = f(np.mean(vals))
    return mid if len(vals) == 1 else f"{mid} ({f(min(vals))}–{f(max(vals))})"


def _present(curves):
    """The policies every data seed has (the real audited run is optional)."""
    return [n for n in POLICIES if all(n in c["policies"] for c in curves)]


def policy_table(curves):
    """Markdown and reST tables: correct labels (%) by share of the videos reviewed."""
    head = (["policy"] + [f"correct at {100 * f:.0f} % reviewed" for f in READ_AT]
            + ["stops at (% reviewed)", "correct at stop", "% reviewed to reach 95 %"])
    rows = []
    for name in _present(curves):
        runs = [(c["policies"][name], c["n_cv"]) for c in curves]
        stops = name != "random"
        row = [name] + [_fmt([correct_at(p, n, f) for p, n in runs]) for f in READ_AT]
        row += [_fmt([p["reviews"] / n for p, n in runs]) if stops else "–",
                _fmt([p["correct"][-1] / n for p, n in runs]) if stops else "–",
                _fmt([reviews_to_reach(p, n, 0.95) for p, n in runs])]
        rows.append(row)
    crude = ["crude labels (no review)"] + [_fmt([c["crude_correct"] / c["n_cv"]
                                                  for c in curves])] + [""] * (len(head) - 2)
    rows.insert(0, crude)
    md = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    rule = "  ".join("=" * w for w in widths)
    rst = [rule, "  ".join(h.ljust(w) for h, w in zip(head, widths)), rule]
    rst += ["  ".join((r[i] or "..").ljust(w) for i, w in enumerate(widths)) for r in rows]
    rst.append(rule)
    return "\n".join(md) + "\n", "\n".join(rst) + "\n"


SIM_NOTE = "simulated videos (skflux simulator), truth as reviewer: not real MDI data"


def plot_curves(curves, path, config):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = dict(zip(POLICIES, ("#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#7f7f7f",
                                 "#9467bd", "#8c564b", "#e377c2")))
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for name in _present(curves):
        for j, c in enumerate(curves):
            p, n = c["policies"][name], c["n_cv"]
            x = 100 * np.arange(len(p["correct"])) / n
            y = 100 * np.asarray(p["correct"]) / n
            if name == "random":
                keep = x <= 60
                x, y = x[keep], y[keep]
            ax.plot(x, y, color=colors[name], lw=1.3, alpha=0.85,
                    ls="--" if "real run" in name else "-", label=name if j == 0 else None)
            if name != "random":
                open_ = "stop" in p and not p["stop"]["certified"]
                ax.plot(x[-1], y[-1], "o", color=colors[name], ms=5,
                        mfc="white" if open_ else colors[name])
    ax.axhline(95, color="k", ls=":", lw=0.8)
    ax.axvline(15, color="k", ls=":", lw=0.8)
    ax.text(0.5, 95.3, "goal: >= 95 % correct with <= 15 % reviewed", fontsize=8)
    ax.set_xlabel("videos reviewed (% of the train+validation videos, audits included)")
    ax.set_ylabel("correct labels (% of the train+validation videos)")
    ax.set_xlim(0, 5 * np.ceil(max(100 * c["policies"][n]["reviews"] / c["n_cv"]
                                   for c in curves for n in _present(curves)
                                   if n != "random") / 5 + 0.2))
    model = {"cnn": "small CNN", "features": "feature model"}[config.get("model", "cnn")]
    ax.set_title(f"Cost curve ({model}), {len(curves)} data seeds, {config['n_videos']} "
                 f"videos of "
                 f"{config['frames']}x{config['size']}x{config['size']}\n{SIM_NOTE}",
                 fontsize=9)
    ax.legend(fontsize=8, loc="lower right", title="dot: where a policy stops "
              "(open: audit not certified)", title_fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_coverage(cov, path, confidence):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import stats

    fig, ax = plt.subplots(figsize=(7.5, 4))
    labels, xs = [], []
    for j, (seed, rows) in enumerate(cov.items()):
        for i, r in enumerate(rows):
            x = j * (len(rows) + 1) + i
            for key, dx, color, label in (("covered", -0.15, "#1f77b4", "two-sided interval"),
                                          ("covered_upper", 0.15, "#ff7f0e",
                                           "one-sided upper bound (stopping rule)")):
                k = r[key]
                ci = stats.binomtest(k, r["n_audits"]).proportion_ci(method="exact")
                c = k / r["n_audits"]
                ax.errorbar(x + dx, 100 * c, yerr=[[100 * (c - ci.low)], [100 * (ci.high - c)]],
                            fmt="o", color=color, capsize=3,
                            label=label if (j, i) == (0, 0) else None)
            xs.append(x)
            labels.append(f"seed {seed}\nn={r['audit_size']}")
    ax.axhline(100 * confidence, color="k", ls="--", lw=0.8, label="nominal 95 %")
    ax.axhline(93, color="#d62728", ls=":", lw=0.8, label="target >= 93 %")
    ax.set_xticks(xs, labels, fontsize=7)
    ax.set_ylabel("audits whose bound holds the truth (%)")
    ax.set_ylim(85, 100.5)
    n = next(iter(cov.values()))[0]["n_audits"]
    ax.set_title(f"Coverage of the audit's {100 * confidence:.0f} % interval, {n} simulated "
                 f"audits per point (exact 95 % CI)\n{SIM_NOTE}", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def analyse(stored, args):
    """Curves, coverage, table, figures and the result rows from the stored runs."""
    config = stored["config"]
    seeds = [s for s in stored["seeds"].values()]
    n_cv0 = int(np.sum(np.asarray(seeds[0]["months"]) <= 10))
    args.audit_size_n = args.audit_size or max(1, int(round(0.05 * n_cv0)))
    curves = [seed_curves(s, args) for s in seeds]
    sizes = sorted({max(1, args.audit_size_n // 2), args.audit_size_n,
                    2 * args.audit_size_n})
    cov = {s["seed"]: coverage(s, args, sizes) for s in seeds}
    md, rst = policy_table(curves)
    suffix, name = "_quick" if args.quick else "", _name(args)
    (RESULTS / f"{name}_table{suffix}.md").write_text(md)
    (RESULTS / f"{name}_table{suffix}.rst").write_text(rst)
    figs = {"cost_curve": RESULTS / f"{name}{suffix}.png",
            "coverage": RESULTS / f"{name}_coverage{suffix}.png"}
    plot_curves(curves, figs["cost_curve"], config)
    plot_coverage(cov, figs["coverage"], args.confidence)
    if not args.quick:
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        for f in figs.values():
            shutil.copyfile(f, DOC_IMAGES / f.name)

    rows = []
    for c in curves:
        a = c["policies"]["audit-stopped"]
        n = c["n_cv"]
        frac, correct = a["stop"]["reviews"] / n, a["correct"][-1] / n
        met = a["stop"]["certified"] and frac <= 0.15 and correct >= 0.95
        rows.append({
            "figure": f"data seed {c['seed']}: audit-stopped policy, correct labels at its "
                      "stop / share reviewed (audits included)",
            "value": f"{correct:.3f} / {frac:.3f}", "unit": "",
            "compared_with": f"certified: {a['stop']['certified']} after pass "
                             f"{a['stop']['pass']}; crude {c['crude_correct'] / n:.3f}; "
                             f"confidence at 15 %: "
                             f"{_fmt([correct_at(c['policies']['confidence'], n, 0.15)])} %",
            "target": ">= 0.95 correct, <= 0.15 reviewed, certified", "passed": bool(met)})
        floor = max(0.0, 0.95 - c["crude_correct"] / n)
        rows.append({
            "figure": f"data seed {c['seed']}: fewest reviews that can reach 95 % correct "
                      "(one correction per review)", "value": floor, "unit": "of the videos",
            "compared_with": f"crude labels {c['crude_correct'] / n:.3f} correct; the goal "
                             "leaves 0.15 minus this for the audit and the model's mistakes",
            "target": "", "passed": None})
        for policy, when in (("audit-stopped (real run)", "every_pass"),
                             ("audit once exhausted (real run)", "exhausted")):
            if policy not in c["policies"]:
                continue
            r_ = c["policies"][policy]
            rows.append({
                "figure": f"data seed {c['seed']}: IterativeRelabeler(audit_size, max_error, "
                          f"audit_when={when!r}) run, correct labels at its stop / share "
                          "reviewed",
                "value": f"{r_['correct'][-1] / n:.3f} / {r_['stop']['reviews'] / n:.3f}",
                "unit": "", "compared_with": r_["stop_reason"],
                "target": ">= 0.95 correct, <= 0.15 reviewed, certified",
                "passed": bool(r_["stop"]["certified"] and r_["correct"][-1] >= 0.95 * n
                               and r_["stop"]["reviews"] <= 0.15 * n)})
        best = max(((policy, correct_at(c["policies"][policy], n, 0.15))
                    for policy in _present(curves)),
                   key=lambda t: -1 if t[1] is None else t[1])
        rows.append({
            "figure": f"data seed {c['seed']}: best correct-label share at 15 % reviewed",
            "value": best[1], "unit": "", "compared_with": f"policy {best[0]}",
            "target": ">= 0.95", "passed": None if best[1] is None else best[1] >= 0.95})
    all_cov = [r for rows_ in cov.values() for r in rows_]
    for seed, rows_ in cov.items():
        for r in rows_:
            rows.append({
                "figure": f"data seed {seed}: coverage of the audit's 95 % interval, audit "
                          f"of {r['audit_size']} videos",
                "value": r["coverage"], "unit": "",
                "compared_with": f"{r['covered']} of {r['n_audits']} audits (one-sided "
                                 f"upper bound: {r['covered_upper']}); mean width "
                                 f"{r['mean_width']:.3f} of the residual error",
                "target": ">= 0.93", "passed": r["coverage"] >= 0.93})
    extra = {"config": {**config, "audit_size": args.audit_size_n, "epsilon": args.epsilon,
                        "confidence": args.confidence, "n_audits": args.n_audits,
                        "seeds": [c["seed"] for c in curves]},
             "table_markdown": md, "curves": curves, "coverage": cov,
             "min_coverage": min(r["coverage"] for r in all_cov),
             "fit_seconds": {s["seed"]: {k: r["seconds"] for k, r in s["runs"].items()}
                             for s in seeds},
             "peak_rss_mb": peak_rss_mb(),
             "simulator_note": SIM_NOTE}
    payload = write_result(name, rows, quick=args.quick, extra=extra)
    print(md)
    return payload


if __name__ == "__main__":
    main()
