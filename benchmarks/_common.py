"""Shared helpers for the benchmark scripts: machine description, peak RSS, JSON + Markdown."""

import datetime as _dt
import json
import os
import platform
import resource
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine():
    """A short description of the machine the benchmark ran on."""
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
        torch_version = torch.__version__
        threads = torch.get_num_threads()
    except ImportError:  # pragma: no cover
        gpu, torch_version, threads = None, None, None
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": threads,
        "gpu": gpu,
        "python": sys.version.split()[0],
        "torch": torch_version,
        "platform": platform.platform(),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


def peak_rss_mb():
    """Peak resident set size of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def write_result(name, rows, *, quick=False, extra=None):
    """Write ``results/<name>.json`` and ``results/<name>.md``.

    Parameters
    ----------
    name : str
        Benchmark name (file stem).
    rows : list of dict
        One dict per measured figure with keys ``figure``, ``value``, ``unit``,
        ``compared_with`` (the baseline measured in the same run, as text),
        ``target`` (text) and ``passed`` (bool or None).
    quick : bool
        Whether this was a smoke run (figures are then not meaningful).
    extra : dict, optional
        Anything else worth keeping (configuration, raw timings).
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "quick": quick, "machine": machine(), "rows": rows,
               "extra": extra or {}}
    suffix = "_quick" if quick else ""
    (RESULTS / f"{name}{suffix}.json").write_text(json.dumps(payload, indent=2, default=str))
    (RESULTS / f"{name}{suffix}.md").write_text(markdown_table(payload))
    return payload


def markdown_table(payload):
    """A Markdown table of one benchmark's rows."""
    m = payload["machine"]
    lines = [
        f"### {payload['benchmark']}" + (" (quick smoke run)" if payload["quick"] else ""),
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, GPU: {m['gpu'] or 'none'}; {m['date']}",
        "",
        "| figure | value | compared with (same run) | target | pass |",
        "|---|---|---|---|---|",
    ]
    for r in payload["rows"]:
        v = r["value"]
        v = f"{v:.4g}" if isinstance(v, float) else str(v)
        ok = {True: "yes", False: "no", None: "–"}[r.get("passed")]
        lines.append(
            f"| {r['figure']} | {v} {r.get('unit', '')} | {r.get('compared_with', '')} "
            f"| {r.get('target', '')} | {ok} |"
        )
    return "\n".join(lines) + "\n"
