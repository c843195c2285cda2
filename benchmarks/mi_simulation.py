"""Multiple imputation checked the way the statistics literature checks it: by simulation from known models.

Two generating models with correlated predictors (``x1, x2, x3`` normal, pairwise correlation 0.5):
``linear`` (``y = 1 + x1 - 0.5 x2 + 0.5 x3 + N(0, 1)``) and ``logistic`` (``P(y = 1) = sigmoid(-0.5 + x1 -
0.5 x2 + 0.5 x3)``, ``y`` a boolean column). ``x1`` is always observed; ``x2``, ``x3`` and ``y`` each go
missing with probability ``sigmoid(a + x1)``, ``a`` set so that 30% of each is missing: missing at random
(the missingness depends on an observed value) in predictors and outcome. Every replication draws a new
table of ``--n`` rows and fits the analysis (OLS, or logistic regression by Newton's method) with:

- ``complete``: the table before cells went missing (the reference);
- ``complete_case``: the rows with no missing cell;
- ``single``: one ``Imputer()`` fill, analysed as if it were observed;
- ``imputer_mi``: ``Imputer().multiple_imputations(df, M)`` pooled with :func:`invimpute.rubin_pool`;
- ``iterative_mi``: scikit-learn's ``IterativeImputer(sample_posterior=True)`` run M times (chained
  equations with Bayesian ridge; a binary ``y`` is rounded to 0/1), pooled;
- ``miceforest_mi``: ``miceforest`` (chained random forests with mean matching), M datasets, pooled, when
  installed;
- ``norm_da``: Schafer's NORM, data augmentation under a multivariate normal model with the noninformative
  prior (M independent chains from the EM estimate), the textbook proper imputation where the data are
  multivariate normal: the ``linear`` setting only. It is the reference for what M = 5 proper draws
  achieve on these tables.

Per method and coefficient: bias, bias over the mean standard error, coverage of the 95% interval (pooled
intervals use Rubin's t reference with the Barnard-Rubin degrees of freedom), mean width, and the ratio of
the mean standard error to the empirical standard deviation of the estimates over replications (1 when
the stated uncertainty is honest; the width the information actually left supports is ``2 t`` times that
empirical sd). Per-replication estimates are appended to a CSV, so a run can be resumed and a partial run
summarised (``--summarise``).

    python benchmarks/mi_simulation.py --reps 200 --out benchmarks/results/mi_simulation.md
    python benchmarks/mi_simulation.py --quick          # a few replications, for development
"""

from __future__ import annotations

import argparse
import pathlib
import platform
import sys
import time
import warnings

import numpy as np
import pandas as pd
from scipy import stats

import invimpute as ii

BETA = np.array([1.0, 1.0, -0.5, 0.5])
"""True coefficients (intercept, x1, x2, x3); the logistic model's intercept is -0.5."""
CORRELATION = 0.5
MISSING_RATE = 0.3
SETTINGS = ("linear", "logistic")
TERMS = ("intercept", "x1", "x2", "x3")
FOREST_REPS = 200
"""Replications miceforest runs in (``--forest-reps``): it is by far the slowest method."""
DA_STEPS, EM_ROUNDS = 10, 50
"""NORM's steps per chain from the EM estimate (about a third of the information is missing here, so ten
steps forget the start), and the EM rounds that find that estimate."""


def true_beta(setting: str) -> np.ndarray:
    """The generating coefficients of ``setting``."""
    beta = BETA.copy()
    if setting == "logistic":
        beta[0] = -0.5
    return beta


def _offset(rate: float) -> float:
    """``a`` with ``E[sigmoid(a + Z)] = rate`` for standard normal ``Z`` (by bisection on a fine grid)."""
    z = stats.norm.ppf((np.arange(4000) + 0.5) / 4000)
    lo, hi = -10.0, 10.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.mean(1 / (1 + np.exp(-(mid + z)))) < rate else (lo, mid)
    return (lo + hi) / 2


def simulate(setting: str, n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(complete table, table with MAR missing cells) of one replication."""
    cov = np.full((3, 3), CORRELATION) + (1 - CORRELATION) * np.eye(3)
    x = rng.multivariate_normal(np.zeros(3), cov, n)
    beta = true_beta(setting)
    eta = beta[0] + x @ beta[1:]
    if setting == "linear":
        y = eta + rng.normal(size=n)
    else:
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    full = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2], "y": y})
    p_miss = 1 / (1 + np.exp(-(_offset(MISSING_RATE) + x[:, 0])))
    miss = rng.random((n, 3)) < p_miss[:, None]
    incomplete = full.copy()
    for j, col in enumerate(("x2", "x3", "y")):
        incomplete.loc[miss[:, j], col] = np.nan
    if setting == "logistic":
        incomplete["y"] = incomplete["y"].map({0.0: False, 1.0: True}).astype("boolean")
    return full, incomplete


def analyse(df: pd.DataFrame, setting: str) -> tuple[np.ndarray, np.ndarray]:
    """(coefficients, their variances) of the analysis model on a complete table."""
    X = np.column_stack([np.ones(len(df)), df[["x1", "x2", "x3"]].to_numpy(float)])
    y = df["y"].to_numpy(float)
    if setting == "linear":
        coef, *_ = np.linalg.lstsq(X, y, rcond=None)
        resid = y - X @ coef
        sigma2 = resid @ resid / (len(y) - X.shape[1])
        return coef, np.diag(sigma2 * np.linalg.inv(X.T @ X))
    coef = np.zeros(X.shape[1])
    for _ in range(25):
        p = 1 / (1 + np.exp(-(X @ coef)))
        info = X.T @ (X * (p * (1 - p))[:, None])
        coef = coef + np.linalg.solve(info, X.T @ (y - p))
    p = 1 / (1 + np.exp(-(X @ coef)))
    return coef, np.diag(np.linalg.inv(X.T @ (X * (p * (1 - p))[:, None])))


def _as_numeric(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["y"] = out["y"].astype("float64") if out["y"].dtype != "boolean" else out["y"].astype("Float64").astype(float)
    return out


def _pooled(tables: list[pd.DataFrame], setting: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rubin's rules over the analyses of ``tables``: (estimate, standard error, degrees of freedom)."""
    fits = [analyse(_as_numeric(t), setting) for t in tables]
    pooled = ii.rubin_pool([f[0] for f in fits], [f[1] for f in fits], complete_df=n - len(TERMS))
    return pooled.estimate, pooled.std_error, np.asarray(pooled.df, float)


def _iterative(df: pd.DataFrame, setting: str, m: int, seed: int) -> list[pd.DataFrame]:
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    values = _as_numeric(df)
    out = []
    for i in range(m):
        filled = IterativeImputer(sample_posterior=True, max_iter=10, random_state=seed * 100 + i).fit_transform(values)
        table = pd.DataFrame(filled, columns=df.columns)
        if setting == "logistic":
            table["y"] = (table["y"] > 0.5).astype(float)
        out.append(table)
    return out


def _miceforest(df: pd.DataFrame, m: int, seed: int) -> list[pd.DataFrame] | None:
    try:
        import miceforest as mf
    except ImportError:
        return None
    kernel = mf.ImputationKernel(_as_numeric(df).reset_index(drop=True), num_datasets=m, random_state=seed)
    kernel.mice(5, num_threads=1)
    return [kernel.complete_data(dataset=i) for i in range(m)]


def _conditional(X: np.ndarray, observed: np.ndarray, mu: np.ndarray, S: np.ndarray,
                 rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
    """``X`` with each row's missing cells given its observed ones under N(mu, S), per missingness
    pattern: drawn when ``rng`` is given, else their conditional means, with the summed conditional
    covariances (EM's correction of the cross-products)."""
    out, correction = X.copy(), np.zeros_like(S)
    for pattern in np.unique(observed, axis=0):
        rows, miss = (observed == pattern).all(axis=1), ~pattern
        if not miss.any():
            continue
        gain = S[np.ix_(miss, pattern)] @ np.linalg.inv(S[np.ix_(pattern, pattern)])
        mean = mu[miss] + (X[np.ix_(rows, pattern)] - mu[pattern]) @ gain.T
        cov = S[np.ix_(miss, miss)] - gain @ S[np.ix_(pattern, miss)]
        if rng is None:
            out[np.ix_(rows, miss)] = mean
            correction[np.ix_(miss, miss)] += cov * rows.sum()
        else:
            out[np.ix_(rows, miss)] = mean + rng.standard_normal(mean.shape) @ np.linalg.cholesky(cov).T
    return out, correction


def _norm_da(df: pd.DataFrame, m: int, seed: int) -> list[pd.DataFrame]:
    """Schafer's NORM: M chains of data augmentation (I-step: draw the missing cells given the
    parameters; P-step: draw the covariance from its inverse-Wishart and the mean from its normal
    posterior given the completed table), each from the EM estimate."""
    values = df.to_numpy(np.float64)
    observed = ~np.isnan(values)
    X = np.where(observed, values, 0.0)
    mu, S = np.nanmean(values, axis=0), np.diag(np.nanvar(values, axis=0))
    for _ in range(EM_ROUNDS):
        filled, correction = _conditional(X, observed, mu, S, None)
        mu = filled.mean(axis=0)
        S = ((filled - mu).T @ (filled - mu) + correction) / len(X)
    rng, n, tables = np.random.default_rng([seed, 7]), len(X), []
    for _ in range(m):
        mu_t, S_t = mu, S
        for _ in range(DA_STEPS):
            filled, _ = _conditional(X, observed, mu_t, S_t, rng)
            centre = filled.mean(axis=0)
            S_t = stats.invwishart.rvs(df=n - 1, scale=(filled - centre).T @ (filled - centre), random_state=rng)
            mu_t = rng.multivariate_normal(centre, S_t / n)
        tables.append(pd.DataFrame(_conditional(X, observed, mu_t, S_t, rng)[0], columns=df.columns))
    return tables


def replicate(setting: str, rep: int, n: int, m: int, peers: bool, forest: bool = True, imputer: bool = True) -> list[dict]:
    """One replication: every method's estimates, standard errors and degrees of freedom, one row each."""
    rng = np.random.default_rng([rep, SETTINGS.index(setting)])
    full, df = simulate(setting, n, rng)
    rows = []

    def record(method, est, se, df_, seconds):
        for t, term in enumerate(TERMS):
            rows.append({"setting": setting, "rep": rep, "method": method, "term": term, "estimate": est[t],
                         "se": se[t], "df": df_[t], "seconds": seconds})

    def single(table, method, seconds):
        est, var = analyse(_as_numeric(table), setting)
        record(method, est, np.sqrt(var), np.full(len(TERMS), n - len(TERMS), float), seconds)

    single(full, "complete", 0.0)
    single(df.dropna(), "complete_case", 0.0)
    if imputer:
        start = time.perf_counter()
        imp = ii.Imputer(seed=rep).fit(df)
        single(imp.transform(df), "single", time.perf_counter() - start)
        tables = imp.multiple_imputations(df, m)
        record("imputer_mi", *_pooled(tables, setting, n), time.perf_counter() - start)
    if peers:
        start = time.perf_counter()
        record("iterative_mi", *_pooled(_iterative(df, setting, m, rep), setting, n), time.perf_counter() - start)
        start = time.perf_counter()
        tables = _miceforest(df, m, rep) if forest else None
        if tables is not None:
            record("miceforest_mi", *_pooled(tables, setting, n), time.perf_counter() - start)
        if setting == "linear":
            start = time.perf_counter()
            record("norm_da", *_pooled(_norm_da(df, m, rep), setting, n), time.perf_counter() - start)
    return rows


def summarise(raw: pd.DataFrame) -> pd.DataFrame:
    """Per setting, method and term: replications, bias, bias / mean SE, the shift from the complete-data
    estimate of the same table / mean SE, 95% coverage, mean width, mean SE over the empirical sd of the
    estimates, and mean seconds per replication.

    The shift separates what the missing cells and their handling add from the analysis model's own
    small-sample bias, which the complete data have too (a logistic regression's estimates on 500 rows lie
    a few percent away from zero)."""
    raw = raw.drop_duplicates(["setting", "rep", "method", "term"]).copy()  # a replication run twice counts once
    raw["truth"] = [true_beta(s)[TERMS.index(t)] for s, t in zip(raw["setting"], raw["term"])]
    complete_estimate = raw[raw["method"] == "complete"].set_index(["setting", "rep", "term"])["estimate"]
    raw["shift"] = raw["estimate"].to_numpy() - complete_estimate.reindex(
        pd.MultiIndex.from_frame(raw[["setting", "rep", "term"]])).to_numpy()
    q = stats.t.ppf(0.975, np.where(np.isfinite(raw["df"]), raw["df"], 1e9))
    raw["covered"] = np.abs(raw["estimate"] - raw["truth"]) <= q * raw["se"]
    raw["width"] = 2 * q * raw["se"]
    out = raw.groupby(["setting", "method", "term"], sort=False).agg(
        reps=("rep", "size"), bias=("estimate", "mean"), truth=("truth", "first"), sd=("estimate", "std"),
        se=("se", "mean"), coverage=("covered", "mean"), width=("width", "mean"), seconds=("seconds", "mean"),
        shift=("shift", "mean"))
    out["bias"] = out["bias"] - out["truth"]
    out["bias_over_se"] = out["bias"].abs() / out["se"]
    out["shift_over_se"] = out["shift"].abs() / out["se"]
    out["se_over_sd"] = out["se"] / out["sd"]
    complete = out.xs("complete", level="method")["width"]
    out["width_vs_complete"] = [w / complete[(s, t)] for (s, _, t), w in out["width"].items()]
    return out[["reps", "bias", "bias_over_se", "shift_over_se", "coverage", "width", "width_vs_complete", "se_over_sd", "seconds"]]


def _table(frame: pd.DataFrame) -> str:
    """A markdown table (numbers to 3 decimals) without the optional ``tabulate`` package."""
    def cell(v):
        return f"{v:.3f}" if isinstance(v, (float, np.floating)) else str(v)
    rows = [" | ".join(map(str, frame.columns)), " | ".join("---" for _ in frame.columns)]
    rows += [" | ".join(cell(v) for v in row) for row in frame.itertuples(index=False)]
    return "\n".join(f"| {r} |" for r in rows)


def markdown(summary: pd.DataFrame, command: str, m: int, n: int) -> str:
    """The results page."""
    lines = ["# Multiple imputation by simulation", "",
             f"Command: `{command}` ({platform.node() or 'this machine'}, {time.strftime('%Y-%m-%d')}).", "",
             f"n = {n} rows per replication, M = {m} imputations, {MISSING_RATE:.0%} of x2, x3 and y missing "
             "at random (on x1). `shift_over_se`: the mean difference from the complete-data estimate of the "
             "same table, over the mean standard error (the bias the missing cells and their handling add to "
             "the analysis model's own). Coverage of the 95% interval of each coefficient; `width_vs_complete` is the "
             "mean interval width over the complete-data one; `se_over_sd` the mean standard error over the "
             "empirical sd of the estimates across replications (1: the stated uncertainty is honest, so the "
             "width matches the information actually left). `seconds`: per replication, for `imputer_mi` one "
             "fit + transform + M draws.", ""]
    for setting in summary.index.get_level_values("setting").unique():
        lines += [f"## {setting}", "", _table(summary.loc[setting].reset_index()), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run (or resume) the replications and write the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--m", type=int, default=5)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=SETTINGS)
    parser.add_argument("--no-peers", action="store_true", help="skip IterativeImputer, miceforest and NORM")
    parser.add_argument("--peers-only", action="store_true",
                        help="skip Imputer() (its rows come from another process writing to another --raw)")
    parser.add_argument("--first", type=int, default=0, help="first replication to run (split a run over processes)")
    parser.add_argument("--forest-reps", type=int, default=FOREST_REPS, help="replications miceforest runs in")
    parser.add_argument("--raw", default="benchmarks/results/mi_simulation.csv", help="per-replication estimates")
    parser.add_argument("--out", default="benchmarks/results/mi_simulation.md")
    parser.add_argument("--summarise", action="store_true", help="only summarise the replications in --raw")
    parser.add_argument("--merge", nargs="+", metavar="CSV",
                        help="write --raw from these per-replication files (a run split over processes), each "
                             "replication's rows kept once, then summarise")
    parser.add_argument("--quick", action="store_true", help="5 replications of 200 rows, written under /tmp")
    args = parser.parse_args(argv)
    if args.quick:
        args.reps, args.n = 5, 200
        args.raw, args.out = "/tmp/mi_simulation_quick.csv", "/tmp/mi_simulation_quick.md"
    raw_path = pathlib.Path(args.raw)
    if args.merge:
        merged = pd.concat([pd.read_csv(p) for p in args.merge])
        merged.drop_duplicates(["setting", "rep", "method", "term"]).to_csv(raw_path, index=False, float_format="%.7g")
        args.summarise = True
    done = pd.read_csv(raw_path) if raw_path.exists() else pd.DataFrame(columns=["setting", "rep"])
    warnings.filterwarnings("ignore", message=".*Early stopping criterion not reached.*")
    if not args.summarise:
        for rep in range(args.first, args.reps):  # settings interleaved, so a partial run covers both
            for setting in args.settings:
                if ((done["setting"] == setting) & (done["rep"] == rep)).any():
                    continue
                rows = pd.DataFrame(replicate(setting, rep, args.n, args.m, not args.no_peers,
                                               rep < args.forest_reps, not args.peers_only))
                rows.to_csv(raw_path, mode="a", header=not raw_path.exists(), index=False)
                print(f"{setting} rep {rep}: {rows.groupby('method')['seconds'].first().round(2).to_dict()}", flush=True)
    summary = summarise(pd.read_csv(raw_path))
    command = "python benchmarks/mi_simulation.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = markdown(summary, command.strip(), args.m, args.n)
    pathlib.Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
