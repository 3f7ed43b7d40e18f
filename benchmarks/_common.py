"""Measurement helpers shared by the benchmarks: machine, memory, CPU, summaries."""

import datetime
import importlib.metadata
import os
import platform
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
#: Where the benchmarks write their JSON and Markdown results.
RESULTS = REPO / "benchmarks" / "results"

_PACKAGES = (
    "sklearn_gen", "torch", "scikit-learn", "skorch", "sdv", "ctgan", "rdt",
    "sdmetrics", "imbalanced-learn", "pandas", "numpy",
)


def log(message):
    """Print ``message`` with a wall-clock stamp (flushed: runs are long)."""
    stamp = datetime.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", flush=True)


class PeakRSS:
    """Track the process resident set size in a background thread."""

    def __init__(self, interval=0.02):
        self.interval = interval
        self._page = os.sysconf("SC_PAGE_SIZE")

    def _rss(self):
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self._page

    def __enter__(self):
        self.start = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())
        return False


def tree_cpu_seconds():
    """CPU seconds of this process and all its descendants (joblib workers too)."""
    tick = os.sysconf("SC_CLK_TCK")
    procs, children = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2 :].split()
        pid, ppid = int(entry), int(fields[1])
        procs[pid] = (int(fields[11]) + int(fields[12])) / tick
        children.setdefault(ppid, []).append(pid)
    total, stack = 0.0, list(children.get(os.getpid(), []))
    while stack:
        pid = stack.pop()
        total += procs[pid]
        stack += children.get(pid, [])
    reaped = os.times()
    return time.process_time() + total + reaped.children_user + reaped.children_system


class OtherCPU:
    """Cores used by *other* processes while the block runs (from /proc/stat).

    0 on an otherwise idle machine, about 1 when another job keeps a core busy:
    it says how much a timing was disturbed.
    """

    @staticmethod
    def busy_seconds():
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        idle = fields[3] + fields[4]
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    def __enter__(self):
        self._busy, self._cpu = self.busy_seconds(), tree_cpu_seconds()
        self._t = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._t
        self.own = tree_cpu_seconds() - self._cpu
        self.cores = max(
            0.0, (self.busy_seconds() - self._busy - self.own) / max(self.wall, 1e-9)
        )
        return False


def wait_for_quiet(max_wait, threshold=0.3, window=5.0):
    """Wait (up to ``max_wait`` s) until other processes use < ``threshold`` cores."""
    start = time.perf_counter()
    while True:
        with OtherCPU() as other:
            time.sleep(window)
        waited = time.perf_counter() - start
        if other.cores < threshold or waited >= max_wait:
            return waited, other.cores


def machine_info():
    """CPU model, cores, memory, GPU, package versions and the git commit."""
    import torch

    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in _PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        dirty = bool(subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "sklearn_gen"],
            capture_output=True, text=True, check=True,
        ).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu_model": model,
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)),
        "memory_gib": round(
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
        ),
        "gpu": gpu,
        "torch_num_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "git_commit": commit,
        "sklearn_gen_dirty": dirty,
    }


def machine_line(machine):
    """One line naming the machine, for the Markdown tables."""
    gpu = f", GPU {machine['gpu']}" if machine.get("gpu") else ", no GPU"
    commits = machine.get("git_commits") or [machine.get("git_commit") or "unknown"]
    if len(commits) > 1:  # a merge of runs made at several commits
        code = "sklearn_gen commits " + ", ".join(c[:7] for c in commits)
    else:
        code = f"sklearn_gen commit {commits[0][:7]}" + (
            " + local changes" if machine.get("sklearn_gen_dirty") else "")
    return (
        f"{machine['cpu_model']}, {machine['cpu_affinity']} cores, "
        f"{machine['memory_gib']} GiB{gpu}; torch {machine['versions'].get('torch')} "
        f"({machine['torch_num_threads']} threads), {code}"
    )


def mean_std(values):
    """Mean, sample standard deviation and count of the finite values."""
    values = np.asarray([v for v in values if v is not None], dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return {"mean": None, "std": None, "n": 0}
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return {"mean": float(values.mean()), "std": std, "n": int(len(values))}


def fmt(stat, digits=2):
    """``mean ± std`` of a :func:`mean_std` result (just the mean for one value)."""
    if stat is None or stat["mean"] is None:
        return "—"
    if stat["n"] > 1:
        return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"
    return f"{stat['mean']:.{digits}f}"


def md_table(header, rows):
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_result(out, result, markdown):
    """Write ``result`` to ``out`` + ``.json`` and its report ``markdown(result)`` to
    ``out`` + ``.md`` (``out`` a path without suffix; its folder is created)."""
    import json

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1, default=str))
    out.with_suffix(".md").write_text(markdown(result))


def report_header(title, result):
    """The opening lines of a Markdown report: the title, the commands that made
    ``result`` (to re-run it) and the machine they ran on."""
    return [
        f"# {title}",
        "",
        "Made by (from the repository root):",
        "",
        *[f"    {c}" for c in result.get("commands", [])],
        "",
        f"Machine: {machine_line(result['machine'])}.",
        "",
    ]


def parse_assignments(items, what="--set"):
    """``["epochs=100", "eta=None"]`` -> ``{"epochs": 100, "eta": None}``: each value
    read as a Python literal, or kept as a bare string."""
    import ast

    params = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"{what} expects PARAM=VALUE, got {item!r}")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value  # a bare string
    return params


#: Metric columns of the per-seed benchmark reports that score sample sets with the
#: suite's ``evaluate``: (column header, metric key, shown as an error in %?, digits).
METRIC_COLUMNS = [
    ("Shapes err %", "column_shapes", True, 2),
    ("Trends err % (all pairs)", "column_pair_trends", True, 2),
    ("Shapes err % vs train", "column_shapes_vs_train", True, 2),
    ("Trends err % (all pairs) vs train", "column_pair_trends_vs_train", True, 2),
    ("LogisticDetection", "detection", False, 3),
    ("GB detection", "detection_gb", False, 3),
    ("TSTR", "ml_efficacy", False, 3),
    ("DCR share %", "dcr_share", True, 1),
]


def metric_cell(metrics, key, as_error, digits):
    """``mean ± std`` over seeds of one metric, given each seed's metrics dict;
    scores shown as errors ``100 * (1 - score)``, the DCR share in %."""
    values = [m.get(key) for m in metrics]
    values = [v for v in values if v is not None]
    if as_error:
        values = [100 * v if key == "dcr_share" else 100 * (1 - v) for v in values]
    return fmt(mean_std(values), digits)
