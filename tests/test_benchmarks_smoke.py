"""benchmarks/run.py: the table it writes, and a smoke run of every benchmark with --quick."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ROOT / "benchmarks" / "run.py"


def _load_runner():
    spec = importlib.util.spec_from_file_location("_bench_run", RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _payload(name, rows, quick=False):
    return {"benchmark": name, "quick": quick, "rows": rows, "_file": f"{name}.json",
            "machine": {"cpu": "Test CPU", "cores": 2, "gpu": None,
                        "date": "2026-01-02T03:04:05+00:00"}}


def test_markdown_table_has_every_row_and_pass_fail():
    run = _load_runner()
    payloads = [
        _payload("speed", [
            {"figure": "videos/s", "value": 12.345678, "unit": "videos/s",
             "compared_with": "scipy loop: 0.1 videos/s", "target": ">= 100x", "passed": True},
            {"figure": "ratio | x", "value": 3, "compared_with": "", "target": ">= 10",
             "passed": False},
        ]),
        _payload("quality", [{"figure": "accuracy", "value": 0.8, "passed": None}]),
    ]
    runs = [{"script": "bench_speed.py", "status": "ok", "wall_s": 1.0, "reason": ""},
            {"script": "bench_bad.py", "status": "failed (exit 1)", "wall_s": 2.0,
             "reason": "ValueError: boom"}]
    text = run.markdown(payloads, runs)
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + 3 + 1 + 2  # header, rows, script header, scripts
    assert "| speed | videos/s | 12.35 videos/s | scipy loop: 0.1 videos/s | >= 100x | yes " \
        "| M1 | 2026-01-02 |" in text
    assert "ratio \\| x" in text and "**no**" in text
    assert "Targets met: 1; missed: 1." in text
    assert "M1: Test CPU, 2 cores, no GPU" in text
    assert "failed (exit 1): ValueError: boom" in text


def test_load_results_filters_quick_and_junk(tmp_path, monkeypatch):
    run = _load_runner()
    monkeypatch.setattr(run, "RESULTS", tmp_path)
    full = _payload("a", [])
    quick = _payload("b", [], quick=True)
    for p in (full, quick):
        p.pop("_file")
    (tmp_path / "a.json").write_text(json.dumps(full))
    (tmp_path / "b_quick.json").write_text(json.dumps(quick))
    (tmp_path / "junk.json").write_text("{not json")
    assert [p["benchmark"] for p in run.load_results(False)] == ["a"]
    assert [p["benchmark"] for p in run.load_results(True)] == ["b"]


def test_failing_and_silent_scripts_are_reported(tmp_path, monkeypatch):
    run = _load_runner()
    bench = tmp_path / "bench"
    (bench / "results").mkdir(parents=True)
    (bench / "bench_crash.py").write_text("raise SystemExit('crash: no data')\n")
    (bench / "bench_silent.py").write_text("print('nothing written')\n")
    monkeypatch.setattr(run, "HERE", bench)
    monkeypatch.setattr(run, "RESULTS", bench / "results")
    out = tmp_path / "table.md"
    assert run.main(["--quick", "--output", str(out)]) == 1
    text = out.read_text()
    assert "bench_crash.py | failed (exit 1): crash: no data" in text
    assert "bench_silent.py | no result file" in text
    assert run.main(["--only", "nomatch"]) == 2


@pytest.mark.parametrize("argv, expected", [
    (["--quick"], 600.0), (["--quick", "--timeout", "0"], None), ([], None),
    (["--timeout", "30"], 30.0)])
def test_timeout_zero_means_no_limit(tmp_path, monkeypatch, argv, expected):
    run = _load_runner()
    bench = tmp_path / "bench"
    (bench / "results").mkdir(parents=True)
    (bench / "bench_x.py").write_text("print('nothing written')\n")
    monkeypatch.setattr(run, "HERE", bench)
    monkeypatch.setattr(run, "RESULTS", bench / "results")
    seen = []

    def fake_run_script(script, *, quick, timeout, extra_args=()):
        seen.append(timeout)
        return {"script": script.name, "status": "ok", "wall_s": 0.0, "reason": ""}

    monkeypatch.setattr(run, "run_script", fake_run_script)
    run.main([*argv, "--output", str(tmp_path / "t.md")])
    assert seen == [expected]


@pytest.mark.slow
@pytest.mark.e2e
def test_quick_run_of_every_benchmark(tmp_path):
    """Every benchmarks/bench_*.py runs with --quick and writes a result (smoke test).

    No time limit (``--timeout 0``): a loaded machine makes a run slow, not wrong.
    """
    scripts = sorted((ROOT / "benchmarks").glob("bench_*.py"))
    out = tmp_path / "RESULTS_quick.md"
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, str(RUNNER), "--quick", "--timeout", "0", "--output", str(out)],
        capture_output=True, text=True, cwd=ROOT, env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = out.read_text()
    for script in scripts:
        assert f"| {script.name} | ok |" in text, text


def _bench_relabel(monkeypatch):
    """benchmarks/bench_relabel.py as a module (its folder on the path for _common)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(
        "_bench_relabel", ROOT / "benchmarks" / "bench_relabel.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_relabel_effort_exact_from_review_order_else_interpolated(monkeypatch):
    """bench_relabel.effort_at: review by review when the order was recorded."""
    bench = _bench_relabel(monkeypatch)
    run = {"per_pass": [(4, 2, 2, 0, 1.0), (2, 2, 0, 0, 0.0)],
           "review_outcomes": [[1, 1, 0, 0], [1, 1]]}
    # ranked reviews found both first-pass mislabels in the first 2 of 4 reviews
    assert bench.effort_at(run, 2, 10) == pytest.approx(0.2)
    assert bench.effort_at(run, 3, 10) == pytest.approx(0.5)
    assert bench.effort_at(run, 5, 10) is None
    del run["review_outcomes"]
    # without the order: linear inside each pass (2 mislabels over 4 reviews)
    assert bench.effort_at(run, 1, 10) == pytest.approx(0.2)
    assert bench.effort_at(run, 2, 10) == pytest.approx(0.4)


def test_relabel_clean_label_catch_counts_crude_mislabels_a_clean_model_flags(monkeypatch):
    """bench_relabel.clean_label_catch: fold models fit on the truth, judged on crude labels."""
    from sklearn.linear_model import LogisticRegression

    bench = _bench_relabel(monkeypatch)
    rng = np.random.default_rng(0)
    n = 240
    months = np.arange(n) % 12 + 1
    truth = rng.integers(0, 2, n)
    # the first feature separates the truth except for the videos in `hidden`,
    # which look like the other class: a clean model cannot flag their mislabels
    hidden = np.zeros(n, bool)
    hidden[:40] = True
    X = np.column_stack([np.where(hidden, 1 - truth, truth) + 0.1 * rng.normal(size=n),
                         rng.normal(size=n)])
    crude = truth.copy()
    flip = np.zeros(n, bool)
    flip[20:60] = True  # 20 hidden, 20 visible mislabels
    crude[flip] = 1 - crude[flip]
    reasons = np.where(flip, np.where(hidden, "hidden", "visible"), "")
    in_cv = months <= 10
    out = bench.clean_label_catch(LogisticRegression(), X, crude, truth, months, in_cv,
                                  0, None, reasons)
    wrong = flip & in_cv
    assert out["mislabels"] == int(wrong.sum())
    assert out["caught_by_reason"]["visible"] == [int((wrong & ~hidden).sum())] * 2
    assert out["caught_by_reason"]["hidden"] == [int((wrong & hidden).sum()), 0]
    assert out["caught"] == int((wrong & ~hidden).sum())
    run = {"run": "r", "corrected": 3, "fraction_corrected": 0.5, "fraction_verified": 0.2,
           "passes": 1, "per_pass": [(6, 3, 3, 0, 1.0)], "reviews_per_correction": 2.0,
           "labels_broken": 0}
    acc = {"crude": 0.5, "true": 0.9, "paper": 0.8, "r": 0.8}
    without = bench.table_rows([run, run, run], acc, 5, 30)
    with_catch = bench.table_rows([run, run, run], acc, 5, 30, out)
    assert len(with_catch) == len(without) + 1
    [row] = [r for r in with_catch if "true labels" in r["figure"]]
    assert row["value"] == pytest.approx(out["caught"] / out["mislabels"])


@pytest.mark.parametrize("seed, noise", [(0, 0.3), (1, 0.3), (0, 0.5), (2, 0.5)])
def test_relabel_paper_default_read_off_the_continued_run_equals_a_real_default_run(
        monkeypatch, seed, noise):
    """bench_relabel.paper_from_continued: the default is the R -> 0 run cut at its stop."""
    from sklearn.linear_model import LogisticRegression

    from skflux import IterativeRelabeler
    from skflux.relabel import TruthOracle

    bench = _bench_relabel(monkeypatch)
    rng = np.random.default_rng(seed)
    n = 360
    months = np.arange(n) % 12 + 1
    truth = rng.integers(0, 2, n)
    X = np.column_stack([truth + noise * rng.normal(size=n), rng.normal(size=n)])
    crude = truth.copy()
    flip = rng.random(n) < 0.2
    crude[flip] = 1 - crude[flip]

    def run(stop_ratio):
        return IterativeRelabeler(LogisticRegression(), oracle=TruthOracle(truth),
                                  stop_ratio=stop_ratio, max_passes=10,
                                  random_state=seed).fit(X, crude, groups=months)

    default, continued = run(0.5), run(0.0)
    derived = bench.paper_from_continued(continued, crude, truth)
    assert derived.n_passes_ == default.n_passes_ <= continued.n_passes_
    if seed < 2:  # these sets go on after the default's stop (2-4 passes against 1-2)
        assert continued.n_passes_ > default.n_passes_
    assert derived.stop_reason_ == default.stop_reason_
    np.testing.assert_array_equal(derived.labels_, default.labels_)
    np.testing.assert_array_equal(derived.verified_, default.verified_)


def test_diagnostic_runs_are_listed_not_tabled():
    """Ablation and sensitivity results stay out of the table and of the target counts."""
    run = _load_runner()
    payloads = [
        _payload("realism", [{"figure": "quiet: median |B|", "value": 7.5, "passed": True}]),
        _payload("realism_ablate_noise", [{"figure": "quiet: median |B|", "value": 9.0,
                                           "passed": False}] * 3),
        _payload("realism_sensitivity", [{"figure": "setting", "value": 24, "passed": None}]),
    ]
    for p in payloads:
        p["_file"] = p["benchmark"] + ".json"
    assert [run.is_diagnostic(p) for p in payloads] == [False, True, True]
    text = run.markdown(payloads)
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + 1 and "| realism |" in table[1]
    assert "Targets met: 1; missed: 0." in text
    assert "- realism_ablate_noise: 3 figures, `results/realism_ablate_noise.md`" in text
    assert "- realism_sensitivity: 1 figure, " in text


def _bench_cost_curve(monkeypatch, tmp_path):
    """benchmarks/bench_cost_curve.py as a module, writing into ``tmp_path``."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(
        "_bench_cost_curve", ROOT / "benchmarks" / "bench_cost_curve.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    import _common

    monkeypatch.setattr(bench, "RESULTS", tmp_path)
    monkeypatch.setattr(_common, "RESULTS", tmp_path)
    return bench


def _stored_cost_curve_seed(seed, n=120):
    """Runs as bench_cost_curve stores them, made up: crude labels, truth, passes."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n)
    crude = np.where(rng.random(n) < 0.25, 1 - truth, truth)
    months = np.arange(n) % 12 + 1
    in_cv = np.flatnonzero(months <= 10)
    wrong = [int(i) for i in in_cv if crude[i] != truth[i]]
    right = [int(i) for i in in_cv if crude[i] == truth[i]]
    # out-of-fold probabilities that disagree with most mislabels and few good labels
    proba = np.where(crude == 1, 0.8, 0.2)
    flip = wrong[: len(wrong) * 3 // 4] + right[:5]
    proba[flip] = 1 - proba[flip]
    proba = [None if m > 10 else float(p) for p, m in zip(proba, months)]
    ratio = lambda reviewed: sum(i not in wrong for i in reviewed) / max(  # noqa: E731
        1, sum(i in wrong for i in reviewed))
    p1, p2 = flip[:12], flip[12:]
    cont = [{"oof": proba, "reviewed": p1 + p2[:4], "relabeled": [], "ratio": 0.9},
            {"oof": proba, "reviewed": p2[4:], "relabeled": [], "ratio": ratio(p2[4:])}]
    conf = [{"oof": proba, "reviewed": p1[:5], "relabeled": [], "ratio": None},
            {"oof": proba, "reviewed": p1[5:], "relabeled": [], "ratio": None}]
    return {"seed": seed, "crude": crude.tolist(), "truth": truth.tolist(),
            "months": months.tolist(), "budget": 5,
            "runs": {"continued": {"passes": cont, "seconds": 0.0},
                     "confidence": {"passes": conf, "seconds": 0.0}}}, wrong


def test_cost_curve_counts_every_correction_once_and_stops_each_policy(monkeypatch,
                                                                       tmp_path):
    """bench_cost_curve: curves from review orders, the paper default's cut, the audit."""
    from types import SimpleNamespace

    bench = _bench_cost_curve(monkeypatch, tmp_path)
    data, wrong = _stored_cost_curve_seed(0)
    n_cv = sum(m <= 10 for m in data["months"])
    args = SimpleNamespace(audit_size_n=10, epsilon=0.05, confidence=0.95, n_audits=30)
    c = bench.seed_curves(data, args)
    pol = c["policies"]
    assert c["n_cv"] == n_cv and c["n_mislabels"] == len(wrong)
    # random review of every video ends with every label right
    assert pol["random"]["reviews"] == n_cv and pol["random"]["correct"][-1] == n_cv
    # the paper default stops after the first pass (R = 0.9 > 0.5 goes on, then stops)
    cont = data["runs"]["continued"]["passes"]
    assert pol["paper default"]["reviews"] == len(cont[0]["reviewed"]) + len(
        cont[1]["reviewed"]) == pol["passes continued"]["reviews"]
    data["runs"]["continued"]["passes"][0]["ratio"] = 0.4
    assert bench.seed_curves(data, args)["policies"]["paper default"]["reviews"] == len(
        cont[0]["reviewed"])
    for name, p in pol.items():  # one more correct label per reviewed mislabel, never less
        steps = np.diff(p["correct"])
        assert set(steps.tolist()) <= {0, 1} and len(steps) == p["reviews"], name
    # cleanlab ranks only videos of the train+validation months
    order = bench.cleanlab_order(np.asarray(data["crude"]),
                                 np.array([np.nan if v is None else v
                                           for v in cont[0]["oof"]]),
                                 np.asarray(data["months"]) <= 10)
    assert all(data["months"][i] <= 10 for i in order) and len(set(order)) == len(order)
    # the audit-stopped policy: the confidence reviews plus 10 audited videos per pass
    a = pol["audit-stopped"]
    conf_reviews = {i for r in data["runs"]["confidence"]["passes"] for i in r["reviewed"]}
    audited = [i for x in a["audits"] for i in x["indices"]]
    assert all(len(x["indices"]) == 10 for x in a["audits"]) and len(set(audited)) == len(
        audited)
    # a video audited after pass 1 and ranked again in pass 2 is reviewed once
    assert a["reviews"] == len(conf_reviews | set(audited))
    assert a["stop"]["certified"] is False  # 10 videos cannot certify 5 %
    args.audit_size_n = n_cv  # auditing everything certifies at once
    a = bench.seed_curves(data, args)["policies"]["audit-stopped"]
    assert a["stop"] == {"pass": 1, "certified": True, "reviews": n_cv}
    assert a["correct"][-1] == n_cv

    # the real audited run: its reviews and audits in order, checked against its labels
    truth, crude = np.asarray(data["truth"]), np.asarray(data["crude"])
    conf = data["runs"]["confidence"]["passes"]
    audit1 = [i for i in range(n_cv) if i not in conf[0]["reviewed"]][:7]
    passes = [dict(conf[0], audit={"indices": audit1, "n_sampled": 7, "n_wrong": 1,
                                   "residual_error": 0.1, "residual_error_ci": [0.0, 0.3]})]
    verified = conf[0]["reviewed"] + audit1
    good = int(((np.where(np.isin(np.arange(truth.size), verified), truth, crude) == truth)
                & (np.asarray(data["months"]) <= 10)).sum())
    data["runs"]["audited"] = {"passes": passes, "verified": verified, "correct": good,
                               "stop_reason": "max_passes = 1 reached", "seconds": 0.0}
    r = bench.seed_curves(data, args)["policies"]["audit-stopped (real run)"]
    assert r["reviews"] == len(verified) and r["correct"][-1] == good
    assert r["stop"] == {"pass": 1, "reviews": len(verified), "certified": False}
    data["runs"]["audited"]["correct"] = good + 1
    with pytest.raises(RuntimeError, match="disagree"):
        bench.seed_curves(data, args)


def test_cost_curve_from_stored_runs_writes_table_figures_and_coverage(monkeypatch,
                                                                       tmp_path):
    bench = _bench_cost_curve(monkeypatch, tmp_path)
    stored = {"config": {"n_videos": 120, "frames": 8, "size": 8, "epochs": 1,
                         "model_seed": 0, "budget": None, "max_passes": 2},
              "seeds": {str(s): _stored_cost_curve_seed(s)[0] for s in (0, 1)}}
    (tmp_path / "cost_curve_runs_quick.json").write_text(json.dumps(stored))
    payload = bench.main(["--quick", "--from-runs"])  # --quick: 20 audits per size
    assert (tmp_path / "cost_curve_quick.png").stat().st_size > 0
    assert (tmp_path / "cost_curve_coverage_quick.png").stat().st_size > 0
    table = (tmp_path / "cost_curve_table_quick.md").read_text()
    for name in [n for n in bench.POLICIES if "real run" not in n]:
        assert f"| {name} |" in table
    assert "real run" not in table  # no seed has the audited run
    cov = payload["extra"]["coverage"]
    assert set(cov) == {0, 1} and all(r["n_audits"] == 20 for rows in cov.values()
                                      for r in rows)
    assert all(0 <= r["covered"] <= 20 for rows in cov.values() for r in rows)
    assert json.loads((tmp_path / "cost_curve_quick.json").read_text())["quick"] is True
