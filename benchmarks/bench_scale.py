"""Scale on one machine: fit on a million rows, sample ten million, measure memory.

Run from the repository root (the full run is long; develop with ``--rows 20000``)::

    python benchmarks/bench_scale.py --threads 1
    python benchmarks/bench_scale.py --rows 20000 --sample-rows 200000 \\
        --batch-rows 10000 100000 --gmm-samples 2000 10000 full --out /tmp/scale

It builds a synthetic but realistic table (``--rows`` x ``--columns``, default
1,000,000 x 50, fixed seed, vectorised numpy; see :func:`build_table`) and runs
every measurement in a **fresh child process**, so each peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of the child) belongs to that
measurement alone:

1. **fit**: ``TVAEGenerator`` (``--model``) for ``--epochs`` epochs on the table,
   with the wall time of each stage (input validation, encoder fit, encoding,
   training per epoch) and the peak RSS within each stage (a thread reads
   ``/proc/self/statm`` every 20 ms), beside the RSS after the imports and after
   building the table; the peak is also given as a multiple of the table's
   in-memory size (``DataFrame.memory_usage(deep=True).sum()``).
2. **encoder subsampling**: ``TabularEncoder(gmm_max_samples=N)`` fitted on the
   table for each ``--gmm-samples`` N (``full``: all values; killed after
   ``--gmm-full-timeout`` seconds), with the fit time and fidelity proxies per
   numeric column: the Kolmogorov-Smirnov distance between the column and a
   sample of its fitted mixture, the mean log-likelihood of the values under
   it, and the share of values the encoder's own round trip (encode with the
   most probable mode, decode) gives back.
3. **sampling**: ``write_samples`` of ``--sample-rows`` rows from the fitted model
   to a Parquet file, for each ``--batch-rows``, plus a reference run of
   ``--reference-rows`` rows with the first batch size (the same peak there
   shows memory follows the batch, not the number of rows); rows/s, the time
   spent generating vs writing, and peak RSS.

Results go to ``--out`` + ``.json`` (every number, the exact command, the machine,
the load average before and after every child) and ``.md`` (tables).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import REPO, RESULTS, log, machine_info, machine_line, md_table

GIB = 2**30
MIB = 2**20
_PAGE = os.sysconf("SC_PAGE_SIZE")

# ------------------------------------------------------------------ the table


def _zipf(rng, n, k, s=1.1):
    """``n`` draws of ranks 0..k-1 with Zipf-like frequencies (p ~ 1 / rank^s)."""
    p = 1.0 / np.arange(1, k + 1) ** s
    return rng.choice(k, size=n, p=p / p.sum())


def _labels(prefix, k):
    return np.array([f"{prefix}_{i:04d}" for i in range(k)], dtype=object)


def _missing(rng, values, share):
    """``values`` (float) with ``share`` of the cells set to NaN."""
    values = np.asarray(values, dtype=np.float64).copy()
    values[rng.random(values.shape[0]) < share] = np.nan
    return values


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _column_makers():
    """(name, function(rng, n, z, done) -> array or Series), kinds interleaved.

    ``z`` holds four correlated standard-normal factors, so numeric columns
    correlate and some categoricals / booleans depend on numerics; ``done`` maps
    the columns made so far (later columns may depend on earlier ones).
    """
    import pandas as pd

    def cat(values):
        return pd.Categorical(values)

    def nullable_int(rng, values, share):
        out = pd.array(np.asarray(values, dtype=np.int64), dtype="Int64")
        out[rng.random(len(out)) < share] = pd.NA
        return out

    def bins(x, k):
        """Quantile bins 0..k-1 of ``x``."""
        edges = np.quantile(x, np.linspace(0, 1, k + 1)[1:-1])
        return np.searchsorted(edges, x)

    def dates(start, days, rng, n):
        seconds = rng.integers(0, 86_400, n)
        return pd.Timestamp(start) + pd.to_timedelta(days * 86_400 + seconds, unit="s")

    return [
        ("age", lambda r, n, z, d: np.clip(np.rint(41 + 13 * z[:, 0]), 18, 90)
         .astype(np.int64)),
        ("income", lambda r, n, z, d: _missing(
            r, np.round(np.exp(10.4 + 0.45 * z[:, 0] + 0.3 * r.standard_normal(n)), 2),
            0.05)),
        ("segment", lambda r, n, z, d: cat(
            _labels("seg", 5)[np.clip(bins(z[:, 1], 5) + r.integers(-1, 2, n), 0, 4)])),
        ("is_active", lambda r, n, z, d: r.random(n) < _sigmoid(0.8 * z[:, 2] + 0.5)),
        ("balance", lambda r, n, z, d: np.round(np.where(
            z[:, 1] > 0.3, r.normal(5200, 900, n), r.normal(600, 250, n)), 2)),
        ("city", lambda r, n, z, d: _labels("city", 1000)[
            (_zipf(r, n, 1000) + 17 * (z[:, 0] > 1.0)) % 1000]),
        ("n_orders", lambda r, n, z, d: r.poisson(np.exp(1.0 + 0.4 * z[:, 2]))),
        ("signup", lambda r, n, z, d: dates(
            "2015-01-01", np.clip(1500 + 600 * z[:, 3], 0, 3300).astype(np.int64),
            r, n)),
        ("score", lambda r, n, z, d: _sigmoid(
            0.9 * z[:, 2] + 0.6 * r.standard_normal(n))),
        ("channel", lambda r, n, z, d: np.array(
            ["web", "store", "phone"], dtype=object)[
            r.choice(3, n, p=[0.6, 0.3, 0.1])]),
        ("tenure_months", lambda r, n, z, d: nullable_int(
            r, np.minimum(r.exponential(30 * np.exp(0.3 * z[:, 3])), 240), 0.08)),
        ("gain", lambda r, n, z, d: np.where(
            r.random(n) < 0.9, 0.0, np.round(r.lognormal(8 + 0.5 * z[:, 0], 1.0), 0))),
        ("product", lambda r, n, z, d: cat(_labels("prod", 50)[_zipf(r, n, 50)])),
        ("has_children", lambda r, n, z, d: pd.array(
            np.where(r.random(n) < 0.1, None, r.random(n) < _sigmoid(z[:, 0])),
            dtype="boolean")),
        ("temperature", lambda r, n, z, d: np.round(np.choose(
            bins(z[:, 3] + 0.5 * r.standard_normal(n), 3),
            [r.normal(-5, 2, n), r.normal(15, 3, n), r.normal(30, 2, n)]), 1)),
        ("region", lambda r, n, z, d: cat(_labels("reg", 12)[
            np.asarray(pd.Series(d["city"]).str[-4:].astype(int)) % 12])),
        ("latency_ms", lambda r, n, z, d: np.round(
            np.abs(r.standard_t(2, n)) * 40 + 5, 3)),
        ("rating", lambda r, n, z, d: np.clip(
            np.rint(3 + 1.2 * z[:, 2] + r.standard_normal(n)), 1, 5).astype(np.int64)),
        ("device", lambda r, n, z, d: np.array(
            ["ios", "android", "desktop", "tablet"], dtype=object)[
            r.choice(4, n, p=[0.35, 0.35, 0.25, 0.05])]),
        ("discount", lambda r, n, z, d: _missing(
            r, np.round(r.uniform(0, 0.5, n), 2), 0.3)),
        ("employer", lambda r, n, z, d: _labels("emp", 300)[_zipf(r, n, 300, 0.9)]),
        ("height_cm", lambda r, n, z, d: np.round(
            170 + 5 * z[:, 0] + r.normal(0, 8, n), 1)),
        ("weekday", lambda r, n, z, d: np.array(
            ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], dtype=object)[
            r.integers(0, 7, n)]),
        ("visits", lambda r, n, z, d: r.negative_binomial(2, 0.2, n)),
        ("is_fraud", lambda r, n, z, d: r.random(n) < _sigmoid(
            -5 + 0.01 * np.asarray(d["latency_ms"])
            + 1.5 * (np.asarray(d["gain"]) > 0))),
        ("ratio", lambda r, n, z, d: z[:, 1] / (1 + np.abs(z[:, 2]))),
        ("plan", lambda r, n, z, d: cat(np.array(
            ["free", "basic", "pro", "enterprise"], dtype=object)[
            np.clip(bins(z[:, 0], 4) + r.integers(-1, 1, n), 0, 3)])),
        ("last_login", lambda r, n, z, d: dates(
            "2023-01-01", r.integers(0, 365, n), r, n).where(r.random(n) > 0.1)),
        ("clicks", lambda r, n, z, d: nullable_int(r, r.poisson(20, n), 0.15)),
        ("zip_prefix", lambda r, n, z, d: _labels("zip", 100)[_zipf(r, n, 100)]),
        ("weight_kg", lambda r, n, z, d: np.round(
            0.9 * np.asarray(d["height_cm"]) - 85 + r.normal(0, 8, n), 1)),
        ("language", lambda r, n, z, d: cat(_labels("lang", 20)[_zipf(r, n, 20, 1.5)])),
        ("credit_limit", lambda r, n, z, d: 500.0 * np.clip(
            np.rint(8 + 4 * z[:, 0] + 2 * r.standard_normal(n)), 1, 40)),
        ("is_premium", lambda r, n, z, d: r.random(n) < np.where(
            np.isin(np.asarray(d["plan"]), ["pro", "enterprise"]), 0.8, 0.1)),
        ("session_len", lambda r, n, z, d: np.round(r.lognormal(5, 0.8, n), 2)),
        ("browser", lambda r, n, z, d: _labels("br", 6)[_zipf(r, n, 6)]),
        ("children", lambda r, n, z, d: np.minimum(r.poisson(1.1, n), 5)),
        ("industry", lambda r, n, z, d: cat(_labels("ind", 30)[_zipf(r, n, 30)])),
        ("pressure", lambda r, n, z, d: _missing(
            r, np.round(
                120 + 15 * r.standard_normal(n) + 0.3 * np.asarray(d["age"]), 0),
            0.02)),
        ("account_type", lambda r, n, z, d: np.array(
            ["personal", "business"], dtype=object)[(r.random(n) < 0.2).astype(int)]),
        ("refund", lambda r, n, z, d: np.where(
            r.random(n) < 0.95, 0.0, np.round(r.gamma(2, 40, n), 2))),
        ("status", lambda r, n, z, d: _labels("st", 8)[
            np.minimum(np.asarray(d["n_orders"]), 7)]),
        ("noise", lambda r, n, z, d: r.uniform(-1, 1, n)),
        ("opted_in", lambda r, n, z, d: r.random(n) < 0.4),
        ("year_built", lambda r, n, z, d: np.clip(
            np.rint(1985 + 20 * z[:, 3]), 1900, 2023).astype(np.int64)),
        ("color", lambda r, n, z, d: _labels("col", 10)[r.integers(0, 10, n)]),
        ("lat", lambda r, n, z, d: np.round(np.choose(
            _zipf(r, n, 4),
            [r.normal(c, 0.1, n) for c in (48.8, 45.7, 43.3, 50.6)]), 4)),
        ("campaign", lambda r, n, z, d: _labels("cmp", 200)[
            (_zipf(r, n, 200) + pd.DatetimeIndex(d["signup"]).quarter.to_numpy())
            % 200]),
        ("amount_last", lambda r, n, z, d: np.round(
            r.gamma(2.0, 30 * np.exp(0.3 * z[:, 0])), 2)),
        ("tier", lambda r, n, z, d: cat(np.array(["bronze", "silver", "gold"])[
            bins(np.nan_to_num(np.asarray(d["income"]), nan=0.0), 3)])),
    ]  # fmt: skip


def build_table(n_rows, n_columns, seed=0):
    """A synthetic, realistic mixed table of ``n_rows`` x ``n_columns`` (fixed seed).

    The 50 column recipes mix correlated continuous columns (skewed, bi- and
    trimodal, heavy-tailed, zero-inflated, some with missing values), integers
    (some nullable), booleans, categoricals of 2 to 1,000 categories (strings
    or ``category`` dtype, Zipf-like frequencies, some depending on numerics or
    on other categoricals) and datetimes (one with missing values). More than
    50 columns repeat the recipes with new draws; fewer take the first ones.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    corr = np.array(
        [[1.0, 0.5, 0.3, 0.1], [0.5, 1.0, 0.2, 0.0],
         [0.3, 0.2, 1.0, -0.3], [0.1, 0.0, -0.3, 1.0]]
    )  # fmt: skip
    z = rng.standard_normal((n_rows, 4)) @ np.linalg.cholesky(corr).T
    makers = _column_makers()
    data, by_round = {}, {}
    for i in range(n_columns):
        name, make = makers[i % len(makers)]
        rounds = i // len(makers)
        done = by_round.setdefault(rounds, {})  # this round's columns, by recipe
        done[name] = make(rng, n_rows, z, done)
        data[name if rounds == 0 else f"{name}__{rounds}"] = done[name]
    return pd.DataFrame(data)


def column_kinds(frame):
    """How many columns of each kind the table has (by dtype)."""
    from pandas.api import types

    kinds = {}
    for name in frame.columns:
        dtype = frame[name].dtype
        if types.is_bool_dtype(dtype):
            kind = "boolean"
        elif types.is_datetime64_any_dtype(dtype):
            kind = "datetime"
        elif types.is_integer_dtype(dtype):
            kind = "integer"
        elif types.is_float_dtype(dtype):
            kind = "continuous"
        else:
            kind = "categorical"
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


# ------------------------------------------------------------------ children


def rss_now():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def rss_peak():
    """Peak RSS of this process so far (``ru_maxrss``, KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class StageMonitor:
    """Wall time and peak RSS per named stage (RSS read every ``interval`` s)."""

    def __init__(self, interval=0.02):
        self.interval = interval
        self.stages = []  # [name, start, end, peak]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self, name):
        self.stage(name)
        self._thread.start()
        return self

    def stage(self, name):
        now, rss = time.perf_counter(), rss_now()
        with self._lock:
            if self.stages:
                self.stages[-1][2] = now
                self.stages[-1][3] = max(self.stages[-1][3], rss)
            self.stages.append([name, now, None, rss])

    def _run(self):
        while not self._stop.wait(self.interval):
            rss = rss_now()
            with self._lock:
                self.stages[-1][3] = max(self.stages[-1][3], rss)

    def stop(self):
        self.stage("end")
        self._stop.set()
        self._thread.join()
        return {
            name: {"seconds": end - start, "peak_rss_bytes": peak}
            for name, start, end, peak in self.stages[:-1]
        }


def _child_setup(spec):
    import torch

    torch.set_num_threads(spec["threads"])
    import pandas  # noqa: F401

    import sklearn_gen  # noqa: F401

    return {
        "torch_threads": torch.get_num_threads(),
        "rss_after_imports_bytes": rss_now(),
    }


def _child_table(spec, out):
    start = time.perf_counter()
    frame = build_table(spec["rows"], spec["columns"], spec["seed"])
    out["build_table_seconds"] = time.perf_counter() - start
    out["table_bytes"] = int(frame.memory_usage(deep=True).sum())
    out["table_shallow_bytes"] = int(frame.memory_usage(deep=False).sum())
    out["rss_after_table_bytes"] = rss_now()
    out["table_shape"] = list(frame.shape)
    out["column_kinds"] = column_kinds(frame)
    return frame


def _model_class(name):
    from sklearn_gen.cli import _model_name
    from sklearn_gen.utils import all_generators

    classes = {_model_name(cls_name): cls for cls_name, cls in all_generators()}
    if name not in classes:
        raise SystemExit(f"unknown --model {name!r}; one of {sorted(classes)}")
    return classes[name]


def child_fit(spec):
    """Fit the model on the table; stage times and peaks; save the model."""
    import joblib

    from sklearn_gen.preprocessing import TabularEncoder

    out = _child_setup(spec)
    monitor = StageMonitor().start("build_table")
    frame = _child_table(spec, out)
    cls = _model_class(spec["model"])
    params = {"epochs": spec["epochs"], "device": "cpu", "random_state": 0}
    generator = cls(**params)
    out["params"] = generator.get_params()
    out["params"].pop("callbacks", None)
    out["params"] = {k: repr(v) if isinstance(v, tuple) else v
                     for k, v in out["params"].items()}  # fmt: skip

    original_fit, original_encode = TabularEncoder.fit, TabularEncoder.encode

    def fit(self, *args, **kwargs):
        monitor.stage("encoder_fit")
        try:
            return original_fit(self, *args, **kwargs)
        finally:
            monitor.stage("between")

    def encode(self, *args, **kwargs):
        monitor.stage("encode")
        try:
            return original_encode(self, *args, **kwargs)
        finally:
            monitor.stage("training")

    TabularEncoder.fit, TabularEncoder.encode = fit, encode
    monitor.stage("validate")
    start = time.perf_counter()
    try:
        generator.fit(frame)
    finally:
        TabularEncoder.fit, TabularEncoder.encode = original_fit, original_encode
    out["fit_seconds"] = time.perf_counter() - start
    out["stages"] = monitor.stop()
    out["epoch_seconds"] = [float(d) for d in generator.history_[:, "dur"]]
    out["train_loss"] = [float(v) for v in generator.history_[:, "train_loss"]]
    layout = generator.encoder_.layout_
    out["encoded_width"] = int(layout.n_features)
    out["encoded_bytes"] = int(layout.n_features) * spec["rows"] * 4
    out["n_parameters"] = int(
        sum(p.numel() for p in generator.net_.module_.parameters())
    )
    out["identifiers"] = [str(c.name) for c in generator.identifiers_]
    out["peak_rss_bytes"] = rss_peak()
    del frame
    joblib.dump(generator, spec["model_path"])
    out["model_file_bytes"] = os.path.getsize(spec["model_path"])
    return out


def _mixture_fidelity(encoder, frame, n_eval, seed):
    """Per numeric column: KS to a mixture sample, log-likelihood, round trip."""
    from scipy import stats

    from sklearn_gen.preprocessing._schema import column_to_numeric

    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(frame), min(n_eval, len(frame)), replace=False))
    sub = frame.iloc[rows].reset_index(drop=True)
    decoded = encoder.inverse_transform(encoder.encode(sub, mode_assignment="argmax"))
    columns = {}
    for column in encoder.schema_:
        if column.is_discrete:
            continue
        values = column_to_numeric(sub[column.name], column)
        back = column_to_numeric(decoded[column.name], column)
        seen = ~np.isnan(values)
        x = values[seen]
        if x.size < 2:
            continue
        w, mu, sd = (np.asarray(column.extra[k]) for k in ("weights", "means", "stds"))
        modes = rng.choice(len(w), size=x.size, p=w / w.sum())
        draw = np.clip(rng.normal(mu[modes], sd[modes]), x.min(), x.max())
        log_density = stats.norm.logpdf(x[:, None], mu[None, :], sd[None, :])
        loglik = np.logaddexp.reduce(log_density + np.log(w)[None, :], axis=1)
        same = np.isclose(back[seen], x, rtol=1e-6, atol=0) | (back[seen] == x)
        scale = max(float(np.std(x)), 1e-12)
        columns[str(column.name)] = {
            "kind": column.kind,
            "modes": int(len(w)),
            "ks_mixture": float(stats.ks_2samp(x, draw).statistic),
            # Standardised, so that columns of any unit can be averaged.
            "mean_loglik_std_units": float(np.mean(loglik) + np.log(scale)),
            "round_trip_share": float(np.mean(same)),
        }
    return columns


def child_gmm(spec):
    """Fit TabularEncoder with one ``gmm_max_samples``; time and fidelity."""
    import sklearn_gen.preprocessing._encoder as encoder_module
    from sklearn_gen.preprocessing import TabularEncoder

    out = _child_setup(spec)
    monitor = StageMonitor().start("build_table")
    frame = _child_table(spec, out)
    mixture_seconds = []
    original = encoder_module.fit_dpgmm_1d

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            mixture_seconds.append(time.perf_counter() - start)

    encoder_module.fit_dpgmm_1d = timed
    encoder = TabularEncoder(gmm_max_samples=spec["gmm_max_samples"], random_state=0)
    monitor.stage("encoder_fit")
    start = time.perf_counter()
    encoder.fit(frame)
    out["encoder_fit_seconds"] = time.perf_counter() - start
    out["mixture_fit_seconds"] = float(sum(mixture_seconds))
    monitor.stage("fidelity")
    columns = _mixture_fidelity(encoder, frame, spec["n_eval"], spec["seed"])
    out["stages"] = monitor.stop()
    out["columns"] = columns
    out["encoded_width"] = int(encoder.layout_.n_features)
    for key in ("ks_mixture", "mean_loglik_std_units", "round_trip_share", "modes"):
        out[f"mean_{key}"] = float(np.mean([c[key] for c in columns.values()]))
    out["peak_rss_bytes"] = rss_peak()
    return out


def child_sample(spec):
    """``write_samples`` to Parquet: rows/s, generate vs write time, peak RSS."""
    import joblib
    import pyarrow.parquet as pq

    from sklearn_gen import write_samples

    out = _child_setup(spec)
    generator = joblib.load(spec["model_path"])
    out["rss_after_model_bytes"] = rss_now()
    out["block_rows"] = generator._block_rows()
    out["encoded_width"] = int(generator.encoder_.layout_.n_features)
    generating, trace = [0.0], []
    original = generator.sample_batches

    def sample_batches(*args, **kwargs):
        batches = original(*args, **kwargs)

        def timed():
            while True:
                start = time.perf_counter()
                try:
                    batch = next(batches)
                except StopIteration:
                    return
                finally:
                    generating[0] += time.perf_counter() - start
                yield batch
                trace.append(rss_now())  # after the batch was written

        return timed()

    generator.sample_batches = sample_batches  # time the generation, per instance
    path = spec["output_path"]
    start = time.perf_counter()
    n = write_samples(
        generator, path, spec["n_samples"], batch_rows=spec["batch_rows"],
        random_state=0,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    metadata = pq.ParquetFile(path).metadata
    out.update(
        rows=n,
        rows_in_file=metadata.num_rows,
        row_groups=metadata.num_row_groups,
        file_bytes=os.path.getsize(path),
        seconds=seconds,
        generate_seconds=generating[0],
        write_seconds=seconds - generating[0],
        rows_per_second=n / seconds,
        peak_rss_bytes=rss_peak(),
        rss_after_batches_bytes=trace,
    )
    os.remove(path)
    return out


CHILDREN = {"fit": child_fit, "gmm": child_gmm, "sample": child_sample}


def run_child(kind, spec, timeout=None):
    """Run ``kind`` in a fresh Python process; its result dict (or the failure)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        result_path = f.name
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS=str(spec["threads"]),
               MKL_NUM_THREADS=str(spec["threads"]))  # fmt: skip
    command = [sys.executable, "-m", "benchmarks.bench_scale", "--child", kind,
               json.dumps(spec), result_path]  # fmt: skip
    load_before = os.getloadavg()
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=REPO, env=env, timeout=timeout,
                              capture_output=True, text=True)  # fmt: skip
    except subprocess.TimeoutExpired:
        os.remove(result_path)
        return {"skipped": f"killed after the {timeout:.0f} s time limit"}
    wall = time.perf_counter() - start
    try:
        if done.returncode != 0:
            tail = (done.stderr or done.stdout)[-3000:]
            raise RuntimeError(f"child {kind} failed ({done.returncode}):\n{tail}")
        result = json.loads(Path(result_path).read_text())
    finally:
        os.remove(result_path)
    result["child_wall_seconds"] = wall
    result["load_average_before"] = list(load_before)
    result["load_average_after"] = list(os.getloadavg())
    return result


# ------------------------------------------------------------------ report


def _gib(value):
    return f"{value / GIB:.2f}"


def _stage_rows(fit):
    table = fit["table_bytes"]
    names = {"build_table": "build the table (benchmark, not fit)",
             "validate": "validate + copy input, find identifiers",
             "encoder_fit": "encoder fit (schema + mixtures)",
             "between": "seed / set up", "encode": "encode (float32 matrix)",
             "training": f"training ({len(fit['epoch_seconds'])} epoch(s), incl. net "
                         "initialisation)"}  # fmt: skip
    rows = []
    for name, stage in fit["stages"].items():
        rows.append([
            names.get(name, name), f"{stage['seconds']:.1f}",
            _gib(stage["peak_rss_bytes"]), f"{stage['peak_rss_bytes'] / table:.1f}",
        ])  # fmt: skip
    return rows


def write_markdown(result, path):
    fit = result["fit"]
    config = result["config"]
    table = fit["table_bytes"]
    peak = fit["peak_rss_bytes"]
    base = fit["rss_after_imports_bytes"]
    lines = [
        f"# Scale on one machine: fit on {fit['table_shape'][0]:,} rows, sample "
        f"{max(s['rows'] for s in result['sample']) if result['sample'] else 0:,}, "
        "peak memory",
        "",
        f"Command: `{result['command']}`",
        "",
        f"Machine: {machine_line(result['machine'])}. Every measurement ran in its "
        f"own child process with {config['threads']} torch thread(s) "
        "(OMP_NUM_THREADS likewise); peak RSS is the child's `ru_maxrss`. Load "
        f"average (1, 5, 15 min) at start: {result['load_average_start']}, at end: "
        f"{result['load_average_end']} (a shared 2-core machine: other jobs ran "
        "beside this one, so times are upper bounds).",
        "",
        "## Table",
        "",
        f"{fit['table_shape'][0]:,} rows x {fit['table_shape'][1]} columns, "
        f"built in {fit['build_table_seconds']:.1f} s (seed {config['seed']}): "
        + ", ".join(f"{v} {k}" for k, v in sorted(fit["column_kinds"].items()))
        + ". In memory (`memory_usage(deep=True)`): "
        f"**{table / MIB:.0f} MiB** ({fit['table_shallow_bytes'] / MIB:.0f} MiB "
        "without the string objects, which the object columns share; the process "
        f"grew by {(fit['rss_after_table_bytes'] - base) / MIB:.0f} MiB building "
        f"it). Encoded by {result['model_class']} for training: "
        f"{fit['encoded_width']} float32 units per row = "
        f"**{fit['encoded_bytes'] / MIB:.0f} MiB** "
        f"({fit['encoded_bytes'] / table:.1f} x the table).",
        "",
        f"## Fit ({result['model_class']}, {config['epochs']} epoch(s), default "
        "parameters, device cpu)",
        "",
        f"Total fit: **{fit['fit_seconds']:.1f} s**; per epoch: "
        + ", ".join(f"{s:.1f} s" for s in fit["epoch_seconds"])
        + f"; network parameters: {fit['n_parameters']:,}.",
        "",
        md_table(["stage", "wall (s)", "peak RSS in stage (GiB)", "x table size"],
                 _stage_rows(fit)),  # fmt: skip
        "",
        f"RSS after the imports: {_gib(base)} GiB; after building the table: "
        f"{_gib(fit['rss_after_table_bytes'])} GiB; **peak: {_gib(peak)} GiB = "
        f"{peak / table:.1f} x the table** ({(peak - base) / table:.1f} x above "
        "the post-import baseline).",
        "",
        result["bound"],
        "",
    ]
    gmm = result["gmm"]
    lines += [
        "## Encoder: mixture-fit subsampling (`gmm_max_samples`)",
        "",
        "`TabularEncoder(gmm_max_samples=N)` (mode-specific, the TVAE/CTGAN "
        "default) fitted on the whole table, each in its own child. Fidelity "
        f"proxies on {config['n_eval']:,} random rows, averaged over the "
        f"{gmm[0].get('n_numeric_columns', '')} numeric columns: KS distance between a "
        "column and a sample of its fitted mixture (lower is better), mean "
        "log-likelihood of the values in standardised units (higher is better), "
        "and the share of values the encoder's round trip (most probable mode) "
        "returns unchanged.",
        "",
    ]
    rows = []
    for entry in gmm:
        label = "all values" if entry["gmm_max_samples"] is None else (
            f"{entry['gmm_max_samples']:,}")
        if "skipped" in entry:
            rows.append([label, entry["skipped"], "", "", "", "", "", ""])
            continue
        rows.append([
            label, f"{entry['encoder_fit_seconds']:.1f}",
            f"{entry['mixture_fit_seconds']:.1f}", f"{entry['mean_modes']:.2f}",
            f"{entry['mean_ks_mixture']:.4f}",
            f"{entry['mean_mean_loglik_std_units']:.4f}",
            f"{entry['mean_round_trip_share']:.4f}",
            _gib(entry["stages"]["encoder_fit"]["peak_rss_bytes"]),
        ])  # fmt: skip
    lines += [
        md_table(["gmm_max_samples", "encoder fit (s)", "of which mixtures (s)",
                  "modes / column", "KS to mixture", "log-lik (std units)",
                  "round trip exact", "peak RSS in fit (GiB)"], rows),  # fmt: skip
        "",
        result["gmm_note"],
        "",
        "## Sampling with `write_samples` (Parquet, one row group per batch)",
        "",
    ]
    rows = []
    for entry in result["sample"]:
        rows.append([
            f"{entry['rows']:,}", f"{entry['batch_rows']:,}", f"{entry['seconds']:.1f}",
            f"{entry['rows_per_second']:,.0f}", f"{entry['generate_seconds']:.1f}",
            f"{entry['write_seconds']:.1f}", _gib(entry["rss_after_model_bytes"]),
            _gib(entry["peak_rss_bytes"]), f"{entry['file_bytes'] / MIB:.0f}",
        ])  # fmt: skip
    lines += [
        md_table(["rows", "batch_rows", "wall (s)", "rows/s", "generating (s)",
                  "writing (s)", "RSS after loading the model (GiB)",
                  "peak RSS (GiB)", "file (MiB)"], rows),  # fmt: skip
        "",
        result["sample_note"],
        "",
    ]
    Path(path).write_text("\n".join(lines))


def _bound_text(fit):
    table, encoded = fit["table_bytes"], fit["encoded_bytes"]
    base = fit["rss_after_imports_bytes"]
    built = fit["rss_after_table_bytes"] - base
    predicted = base + 2 * built + encoded
    measured = fit["peak_rss_bytes"]
    return (
        "**Bound.** The fit holds the user's table, one validated copy of it "
        "(`fit` never modifies the caller's DataFrame) and the encoded float32 "
        "matrix (rows x encoded width x 4 bytes, resident for the whole training; "
        "the network and its batches are small beside it). So peak RSS ~ "
        "baseline after imports + 2 x (table as built in memory) + rows x width x "
        "4 bytes, plus a small training slack: here "
        f"{_gib(base)} + 2 x {_gib(built)} + {_gib(encoded)} = {_gib(predicted)} "
        f"GiB predicted, {_gib(measured)} GiB measured "
        f"({measured / predicted:.2f} x the prediction). In multiples of the "
        f"table: peak = {measured / table:.1f} x `memory_usage(deep=True)`; the "
        "multiple is set by the encoded width (one unit per category of a one-hot "
        "column, 1 + modes (+2 with missing values) per numeric column), not by the "
        f"number of rows: this table's {fit['encoded_width']} units are "
        f"{encoded / table:.1f} x the table on their own."
    )


def _gmm_note(gmm, rows):
    done = [g for g in gmm if "skipped" not in g]
    if not done:
        return "No encoder fit finished."
    fastest = min(done, key=lambda g: g["encoder_fit_seconds"])
    text = []
    for g in gmm:
        if g["gmm_max_samples"] is None and "skipped" in g:
            text.append(f"Mixtures on all values: skipped, {g['skipped']}.")
    if all(g["gmm_max_samples"] is not None for g in done):
        largest = max(done, key=lambda g: g["gmm_max_samples"])
        if largest["gmm_max_samples"] < rows:
            seconds, values = largest["mixture_fit_seconds"], largest["gmm_max_samples"]
            estimate = seconds * rows / values
            text.append(
                f"Mixtures on all {rows:,} values were not fitted in this run; "
                f"extrapolating the {largest['gmm_max_samples']:,}-value fit "
                "linearly (the variational fit's cost grows with the distinct "
                f"values) gives about {estimate:.0f} s (an estimate, not a "
                "measurement)."
            )
    best_ks = min(done, key=lambda g: g["mean_ks_mixture"])
    text.append(
        f"Fastest: gmm_max_samples={fastest['gmm_max_samples']} "
        f"({fastest['encoder_fit_seconds']:.1f} s); lowest mean KS: "
        f"gmm_max_samples={best_ks['gmm_max_samples']} "
        f"({best_ks['mean_ks_mixture']:.4f})."
    )
    text.append(
        "TVAEGenerator and CTGANGenerator build their encoder inside `fit` with "
        "their `gmm_max_samples` parameter (default 50,000): a smaller value "
        "trades a little fidelity of the mixtures for a faster fit on big tables."
    )
    return " ".join(text)


def _sample_note(samples):
    if not samples:
        return ""
    by_batch = {}
    for s in samples:
        by_batch.setdefault(s["batch_rows"], []).append(s)
    text = []
    for batch, entries in sorted(by_batch.items()):
        if len(entries) > 1:
            entries = sorted(entries, key=lambda s: s["rows"])
            small, big = entries[0], entries[-1]
            grown = big["peak_rss_bytes"] / small["peak_rss_bytes"] - 1
            text.append(
                f"With batch_rows={batch:,}, {big['rows']:,} rows peaked at "
                f"{_gib(big['peak_rss_bytes'])} GiB and {small['rows']:,} rows at "
                f"{_gib(small['peak_rss_bytes'])} GiB: "
                f"{big['rows'] / small['rows']:.0f} x the rows, {grown:+.0%} peak "
                "memory. Each batch is released once written; where the growth "
                "comes from was not measured in this run (newer runs record the "
                "RSS after every batch, summarised below when present)."
            )
    for s in sorted(samples, key=lambda s: (s["batch_rows"], s["rows"])):
        trace = s.get("rss_after_batches_bytes")
        if trace and len(trace) >= 4:
            half = len(trace) // 2
            text.append(
                f"RSS after each batch ({s['rows']:,} rows, batch_rows="
                f"{s['batch_rows']:,}): first half {_gib(min(trace[:half]))}-"
                f"{_gib(max(trace[:half]))} GiB, second half "
                f"{_gib(min(trace[half:]))}-{_gib(max(trace[half:]))} GiB."
            )
    for batch, entries in sorted(by_batch.items()):
        big = max(entries, key=lambda s: s["rows"])
        text.append(
            f"Peak above the loaded model with batch_rows={batch:,} "
            f"({big['rows']:,} rows): "
            f"{_gib(big['peak_rss_bytes'] - big['rss_after_model_bytes'])} GiB."
        )
    largest = max(samples, key=lambda s: s["rows"])
    text.append(
        f"Generation draws blocks of {largest['block_rows']:,} rows in the "
        "encoded space (about two million encoded values) whatever the batch size: "
        "that part of the peak is fixed, the rest grows with batch_rows."
    )
    return " ".join(text)


# ------------------------------------------------------------------ main


def _batch_value(text):
    """``BATCH`` or ``BATCH@ROWS`` (that run writes ROWS instead of --sample-rows)."""
    batch, _, rows = text.partition("@")
    try:
        value = (int(batch), int(rows) if rows else None)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected BATCH or BATCH@ROWS, got {text!r}"
        ) from None
    if value[0] < 1 or (value[1] is not None and value[1] < 1):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return value


def _gmm_value(text):
    if text.lower() in ("full", "none", "all"):
        return None
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="table rows")
    p.add_argument("--columns", type=int, default=50, help="table columns")
    p.add_argument("--epochs", type=int, default=1, help="training epochs")
    p.add_argument("--model", default="tvae", help="generator (sklearn-gen name)")
    p.add_argument("--sample-rows", type=int, default=10_000_000,
                   help="rows written by write_samples")  # fmt: skip
    p.add_argument("--batch-rows", type=_batch_value, nargs="+",
                   default=[(100_000, None), (1_000_000, None)],
                   help="batch sizes of the sampling runs; BATCH@ROWS writes ROWS "
                   "rows instead of --sample-rows in that run")  # fmt: skip
    p.add_argument("--reference-rows", type=int, default=None,
                   help="rows of the reference sampling run with the first batch "
                   "size (default: sample-rows / 10; 0: none)")  # fmt: skip
    p.add_argument("--gmm-samples", type=_gmm_value, nargs="+",
                   default=[10_000, 50_000, 200_000, None],
                   help="gmm_max_samples values ('full': all values)")  # fmt: skip
    p.add_argument("--gmm-full-timeout", type=float, default=900.0,
                   help="seconds before the all-values encoder fit is skipped")
    p.add_argument("--n-eval", type=int, default=100_000,
                   help="rows used for the encoder fidelity proxies")
    p.add_argument("--threads", type=int, default=1, help="torch threads per child")
    p.add_argument("--seed", type=int, default=0, help="seed of the table")
    p.add_argument("--out", default=str(RESULTS / "scale"),
                   help="output path without extension (writes .json and .md)")
    return p.parse_args(argv)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        kind, spec, result_path = argv[1], json.loads(argv[2]), argv[3]
        result = CHILDREN[kind](spec)
        Path(result_path).write_text(json.dumps(result))
        return 0
    if argv[:1] == ["--markdown-from"]:
        # Rewrite the .md (and the notes in the .json) from a saved .json: no
        # measurement is repeated.
        path = Path(argv[1])
        result = json.loads(path.read_text())
        result["bound"] = _bound_text(result["fit"])
        result["gmm_note"] = _gmm_note(result["gmm"], result["config"]["rows"])
        result["sample_note"] = _sample_note(result["sample"])
        path.write_text(json.dumps(result, indent=2, default=str))
        write_markdown(result, path.with_suffix(".md"))
        return 0
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    common = {"rows": args.rows, "columns": args.columns, "seed": args.seed,
              "threads": args.threads}  # fmt: skip
    command = "python " + shlex.join(
        [os.path.relpath(Path(__file__).resolve(), REPO), *argv]
    )
    result = {
        "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine_info(),
        "load_average_start": [round(v, 2) for v in os.getloadavg()],
        "config": {**vars(args), "n_eval": args.n_eval},
        "model_class": _model_class(args.model).__name__,
    }
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
        model_path = str(Path(tmp) / "model.joblib")
        log(f"fit: {args.rows:,} x {args.columns}, {args.epochs} epoch(s)")
        result["fit"] = run_child(
            "fit", {**common, "model": args.model, "epochs": args.epochs,
                    "model_path": model_path})  # fmt: skip
        fit = result["fit"]
        log(f"fit: {fit['fit_seconds']:.1f} s, peak {_gib(fit['peak_rss_bytes'])} GiB")
        result["bound"] = _bound_text(fit)

        result["gmm"] = []
        for value in args.gmm_samples:
            log(f"encoder: gmm_max_samples={value}")
            timeout = args.gmm_full_timeout if value is None else None
            spec = {**common, "gmm_max_samples": value, "n_eval": args.n_eval}
            entry = run_child("gmm", spec, timeout=timeout)
            entry["gmm_max_samples"] = value
            if "columns" in entry:
                entry["n_numeric_columns"] = len(entry["columns"])
            result["gmm"].append(entry)
        result["gmm_note"] = _gmm_note(result["gmm"], args.rows)

        runs = [(rows or args.sample_rows, b) for b, rows in args.batch_rows]
        reference = (args.sample_rows // 10 if args.reference_rows is None
                     else args.reference_rows)  # fmt: skip
        if reference:
            runs.insert(0, (reference, args.batch_rows[0][0]))
        result["sample"] = []
        for n, batch in runs:
            log(f"sample: {n:,} rows, batch_rows={batch:,}")
            entry = run_child("sample", {
                **common, "model_path": model_path, "n_samples": n,
                "batch_rows": batch, "output_path": str(Path(tmp) / "rows.parquet"),
            })  # fmt: skip
            entry["batch_rows"] = batch
            result["sample"].append(entry)
            log(f"  {entry['rows_per_second']:,.0f} rows/s, peak "
                f"{_gib(entry['peak_rss_bytes'])} GiB")  # fmt: skip
        result["sample_note"] = _sample_note(result["sample"])
    result["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    Path(f"{out}.json").write_text(json.dumps(result, indent=2, default=str))
    write_markdown(result, f"{out}.md")
    log(f"wrote {out}.json and {out}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
