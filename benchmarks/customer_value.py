"""Benchmark: the customer value model against two baselines on the out-of-time window, on two data sets.

For each data set the DAG's own SQL (rendered as Airflow renders it, run by local_bigquery) builds the
snapshot's features and the customer_value task group; its backtest (value_model_evaluations) scores the
value model trained at cut-off - 2H on the window cut-off - H ... cut-off, and the last_period baseline.
The third contender, fitted here in Python only (never a runtime dependency of the DAG), is the classic
probabilistic model: BG/NBD for the number of purchases (Fader, Hardie & Lee 2005, "Counting your
customers the easy way") times Gamma-Gamma for their value (Fader & Hardie 2013, "The Gamma-Gamma model
of monetary value"), maximum likelihood with scipy.optimize, fitted on every customer's purchase history
up to cut-off - H (the same customers, the same window). All three are scored the same way, in pandas,
on the rows the DAG staged (the pandas scores of last_period are checked against the SQL's).

    PYTHONPATH=.:plugins .venv/bin/python benchmarks/customer_value.py [--users 100000] [--output FILE]

Data sets: the thelook sample (local_bigquery.samples.thelook, `--users` customers, make run's date) and
UCI Online Retail (/work/shared/data/online_retail/online_retail.csv.gz, or ../shared/... from the repo,
cleaned by include/sql/online_retail_transactions.sql as scripts/run_retail.py does; cut-off 2011-12-11).
Writes benchmarks/results/customer_value.json and exits 1 unless the value model is at least as good as
BG/NBD + Gamma-Gamma on Spearman and top-decile capture on both data sets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugins"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jinja2
import numpy as np
import pandas as pd
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery
from scipy import optimize, special, stats

from local_bigquery.samples import thelook
from local_bigquery.server import BackgroundServer
from local_bigquery.translate import TableRef
from local_bigquery.warehouse import Warehouse
from scripts import run_retail
from segmentation.config import PipelineConfig
from segmentation.templating import MACROS

ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = ROOT / "include" / "sql"
PROJECT = "local-project"
OUTPUT = "value_benchmark"
RETAIL_FILES = (
    Path("/work/shared/data/online_retail/online_retail.csv.gz"),
    ROOT.parent / "shared" / "data" / "online_retail" / "online_retail.csv.gz",
)
# The jobs that make the backtest: (template, `table` param of stage.sql).
JOBS = (
    ("dataset.sql", None),
    ("schema.sql", None),
    ("stage.sql", "customer_order_history"),
    ("stage.sql", "customer_features"),
    ("stage.sql", "customer_value_training"),
    ("stage.sql", "customer_value_backtest_training"),
    ("gates/customer_value_training.sql", None),
    ("customer_value_model.sql", None),
    ("customer_value_backtest.sql", None),
    ("stage.sql", "customer_value_predictions"),
    ("gates/customer_value_predictions.sql", None),
    ("stage.sql", "value_model_evaluations"),
)


def render(template: str, table: str | None, config: PipelineConfig, cut_off: dt.datetime, **extra) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(SQL_DIR), undefined=jinja2.StrictUndefined, autoescape=False
    )
    environment.globals.update(MACROS)
    logical = cut_off - dt.timedelta(days=1)
    context = {
        "params": config.model_dump(mode="json") | ({"table": table} if table else {}),
        "ds": logical.date().isoformat(),
        "ds_nodash": logical.strftime("%Y%m%d"),
        "data_interval_start": logical,
        "data_interval_end": cut_off,
        **extra,
    }
    return environment.get_template(template).render(context)


def staging(name: str, cut_off: dt.datetime) -> str:
    return f"`{PROJECT}.{OUTPUT}._staging_{name}_{(cut_off - dt.timedelta(days=1)):%Y%m%d}`"


# ---- BG/NBD + Gamma-Gamma -------------------------------------------------------------------------------


def purchase_summary(orders: pd.DataFrame, calibration_end: pd.Timestamp) -> pd.DataFrame:
    """Per customer, from purchases before `calibration_end` grouped by day (a day is one purchase, as the
    BTYD literature counts them): x repeat purchases, t_x and T in days, the mean value of the repeats."""
    days = orders.assign(day=orders.ordered_at.dt.floor("D")).groupby(["customer_id", "day"]).value.sum()
    days = days.reset_index()
    first = days.groupby("customer_id").day.transform("min")
    days["is_repeat"] = days.day > first
    summary = days.groupby("customer_id").agg(first=("day", "min"), last=("day", "max"))
    summary["x"] = days.groupby("customer_id").is_repeat.sum()
    summary["t_x"] = (summary["last"] - summary["first"]).dt.days.astype(float)
    summary["T"] = (calibration_end - summary["first"]).dt.total_seconds() / 86_400
    repeats = days[days.is_repeat].groupby("customer_id").value.mean()
    summary["m_x"] = repeats.reindex(summary.index).fillna(0.0)
    return summary[["x", "t_x", "T", "m_x"]]


def _bgnbd_log_likelihood(params: np.ndarray, x, t_x, T) -> float:
    r, alpha, a, b = np.exp(params)
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    first = special.betaln(a, b + x) - special.betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore"):
        second = np.where(
            x > 0,
            special.betaln(a + 1, b + x - 1) - special.betaln(a, b) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return float(np.sum(common + np.logaddexp(first, second)))


def fit_bgnbd(summary: pd.DataFrame) -> tuple[float, float, float, float]:
    x, t_x, T = (summary[c].to_numpy() for c in ("x", "t_x", "T"))
    # Maximum likelihood over the logarithms of (r, alpha, a, b), which keeps them positive; the bounds
    # keep the search away from overflow.
    start = np.log([1.0, max(float(T.mean()), 1.0), 1.0, 1.0])
    result = optimize.minimize(
        lambda p: -_bgnbd_log_likelihood(p, x, t_x, T) / len(x), start, method="L-BFGS-B",
        bounds=[(-10, 10)] * 4,
    )  # fmt: skip
    return tuple(np.exp(result.x))


def bgnbd_expected_purchases(params, summary: pd.DataFrame, horizon: float) -> np.ndarray:
    """E[purchases in (T, T + horizon] | x, t_x, T] (equation 10 of Fader, Hardie & Lee 2005)."""
    r, alpha, a, b = params
    x, t_x, T = (summary[c].to_numpy() for c in ("x", "t_x", "T"))
    hyper = special.hyp2f1(r + x, b + x, a + b + x - 1, horizon / (alpha + T + horizon))
    numerator = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + horizon)) ** (r + x) * hyper)
    with np.errstate(divide="ignore", invalid="ignore"):
        active = np.where(x > 0, a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
    return numerator / (1 + active)


def fit_gamma_gamma(summary: pd.DataFrame) -> tuple[float, float, float]:
    repeaters = summary[(summary.x > 0) & (summary.m_x > 0)]
    x, m = repeaters.x.to_numpy(), repeaters.m_x.to_numpy()

    def negative_log_likelihood(log_params):
        p, q, gamma = np.exp(log_params)
        return -np.sum(
            special.gammaln(p * x + q)
            - special.gammaln(p * x)
            - special.gammaln(q)
            + q * np.log(gamma)
            + (p * x - 1) * np.log(m)
            + p * x * np.log(x)
            - (p * x + q) * np.log(gamma + m * x)
        )

    # q > 1, or a customer's expected value has no finite mean.
    start = np.log([1.0, 2.0, float(np.mean(m))])
    result = optimize.minimize(
        lambda p: negative_log_likelihood(p) / len(x), start, method="L-BFGS-B",
        bounds=[(-10, 10), (np.log(1.0001), 10), (-10, 20)],
    )  # fmt: skip
    return tuple(np.exp(result.x))


def gamma_gamma_expected_value(params, summary: pd.DataFrame) -> np.ndarray:
    """E[value of a purchase | x, m_x]; the population mean p * gamma / (q - 1) for customers without repeats."""
    p, q, gamma = params
    x, m = summary.x.to_numpy(), summary.m_x.to_numpy()
    return (p * (gamma + x * m)) / (p * x + q - 1)


def bgnbd_gamma_gamma(
    orders: pd.DataFrame, calibration_end: pd.Timestamp, horizon: int
) -> tuple[pd.Series, dict]:
    """Predicted spend in the horizon after `calibration_end` per customer, and the fitted parameters."""
    summary = purchase_summary(orders, calibration_end)
    bgnbd, gamma_gamma = fit_bgnbd(summary), fit_gamma_gamma(summary)
    purchases = bgnbd_expected_purchases(bgnbd, summary, horizon)
    value = gamma_gamma_expected_value(gamma_gamma, summary)
    parameters = {
        "bgnbd": dict(zip(("r", "alpha", "a", "b"), map(float, bgnbd), strict=True)),
        "gamma_gamma": dict(zip(("p", "q", "gamma"), map(float, gamma_gamma), strict=True)),
    }
    return pd.Series(purchases * value, index=summary.index), parameters


# ---- scoring --------------------------------------------------------------------------------------------


def scores(customers: pd.DataFrame, predicted: pd.Series, actual: pd.Series) -> dict:
    """The metrics value_model_evaluations stores, computed the same way: the top decile is the first
    tenth by predicted value, ties broken by customer id."""
    frame = pd.DataFrame(
        {
            "customer_id": np.asarray(customers),
            "predicted": np.asarray(predicted),
            "actual": np.asarray(actual),
        }
    )
    ranked = frame.sort_values(["predicted", "customer_id"], ascending=[False, True])
    top = ranked.head(int(np.ceil(len(frame) / 10)))
    error = frame.predicted - frame.actual
    return {
        "mean_absolute_error": float(error.abs().mean()),
        "root_mean_squared_error": float(np.sqrt((error**2).mean())),
        "spearman": float(stats.spearmanr(frame.predicted, frame.actual).statistic),
        "top_decile_capture": float(top.actual.sum() / frame.actual.sum()),
    }


# ---- data sets ------------------------------------------------------------------------------------------


def load_thelook(client: bigquery.Client, warehouse: Warehouse, users: int) -> dict:
    tables = thelook.generate(users=users, seed=42)
    for name, table in tables.items():
        warehouse.load_arrow(TableRef(PROJECT, "thelook", name), table)
    return {
        "source_project": PROJECT,
        "source_dataset": "thelook",
        "order_items": tables["order_items"].num_rows,
    }


def load_retail(client: bigquery.Client, path: Path) -> dict:
    raw, view = f"{PROJECT}.online_retail.raw", f"{PROJECT}.online_retail.transactions"
    client.create_dataset("online_retail", exists_ok=True)
    job = run_retail.load_raw(client, raw, path)
    run_retail.create_transactions_view(client, raw, view)
    return {"source_kind": "transactions", "transactions_table": view, "raw_rows": job.output_rows}


def evaluate(client: bigquery.Client, settings: dict, cut_off: dt.datetime, horizon: int) -> dict:
    config = PipelineConfig(dataset=OUTPUT, project_id=PROJECT, value_horizon_days=horizon, **settings)
    started = time.perf_counter()
    for template, table in JOBS:
        client.query_and_wait(render(template, table, config, cut_off))
    dag_seconds = time.perf_counter() - started
    rows = client.query(f"SELECT * FROM {staging('customer_value_training', cut_off)}").to_dataframe()
    stored = client.query(f"SELECT * FROM {staging('value_model_evaluations', cut_off)}").to_dataframe()
    stored = stored.set_index("model")
    # The backtest model's calibrated predictions, exactly as value_model_evaluations scored them.
    backtest_sql = render(
        "value_prediction.sql",
        None,
        config,
        cut_off,
        model=staging("customer_value_backtest", cut_off),
        training="customer_value_backtest_training",
        scored=f"SELECT * FROM {staging('customer_value_training', cut_off)}",
    )
    backtest = client.query(backtest_sql).to_dataframe().set_index("customer_id").predicted_value
    # The purchase history up to the backtest window's start, as the DAG's order lines see it then.
    lines = render("order_lines.sql", None, config, cut_off, cut_off_days_before=horizon)
    orders = client.query(
        f"SELECT customer_id, order_id, MIN(ordered_at) AS ordered_at, SUM(IF(is_returned, 0, sale_price)) AS value "
        f"FROM ({lines}) WHERE NOT is_cancelled GROUP BY customer_id, order_id"
    ).to_dataframe()
    calibration_end = pd.Timestamp(cut_off - dt.timedelta(days=horizon))
    fitted = time.perf_counter()
    probabilistic, parameters = bgnbd_gamma_gamma(orders, calibration_end, horizon)
    fit_seconds = time.perf_counter() - fitted

    rows = rows.set_index("customer_id").sort_index()
    actual = rows.future_value
    result = {
        "customers": len(rows),
        "dag_seconds": round(dag_seconds, 2),
        "bgnbd_fit_seconds": round(fit_seconds, 2),
        "bgnbd_gamma_gamma_parameters": parameters,
        "models": {
            "value_model": scores(rows.index, backtest.reindex(rows.index), actual),
            "last_period": scores(rows.index, rows.recent_value, actual),
            "bgnbd_gamma_gamma": scores(rows.index, probabilistic.reindex(rows.index).fillna(0.0), actual),
        },
    }
    for model in ("value_model", "last_period"):
        for metric in ("spearman", "top_decile_capture", "mean_absolute_error"):
            difference = abs(stored.loc[model, metric] - result["models"][model][metric])
            assert difference < 1e-6, f"pandas and SQL disagree on {model} {metric}"
    return result


def table(results: dict) -> str:
    lines = [
        "| data set | customers | model | Spearman | top-decile capture | MAE | RMSE |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, result in results.items():
        for model, score in result["models"].items():
            lines.append(
                f"| {name} | {result['customers']:,} | {model} | {score['spearman']:.3f} | "
                f"{score['top_decile_capture']:.3f} | {score['mean_absolute_error']:.2f} | "
                f"{score['root_mean_squared_error']:.2f} |"
            )
    return "\n".join(lines)


def verdict(results: dict) -> list[str]:
    lines = []
    for name, result in results.items():
        ours, theirs = result["models"]["value_model"], result["models"]["bgnbd_gamma_gamma"]
        for metric in ("spearman", "top_decile_capture"):
            met = ours[metric] >= theirs[metric]
            lines.append(
                f"{'ok' if met else 'MISSED'}: {name} {metric} value_model {ours[metric]:.3f} "
                f">= BG/NBD + Gamma-Gamma {theirs[metric]:.3f}"
            )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000, help="thelook sample size")
    parser.add_argument("--horizon", type=int, default=90, help="value_horizon_days")
    parser.add_argument(
        "--output", type=Path, default=ROOT / "benchmarks" / "results" / "customer_value.json"
    )
    args = parser.parse_args()
    retail = next((path for path in RETAIL_FILES if path.is_file()), None)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-value-") as work:
        warehouse = Warehouse(Path(work))
        with BackgroundServer(warehouse) as server:
            client = bigquery.Client(
                project=PROJECT,
                credentials=AnonymousCredentials(),
                client_options={"api_endpoint": server.url},
            )
            client.create_dataset("thelook")
            settings = load_thelook(client, warehouse, args.users)
            order_items = settings.pop("order_items")
            cut_off = dt.datetime(2024, 6, 30, tzinfo=dt.UTC)  # make run's run of 2024-06-29
            results[f"thelook ({order_items:,} order items)"] = evaluate(
                client, settings, cut_off, args.horizon
            )
            print(table(results), json.dumps(results, indent=1)[-600:], flush=True)
            if retail is None:
                print("UCI Online Retail not found in", [str(path) for path in RETAIL_FILES])
            else:
                settings = load_retail(client, retail)
                settings.pop("raw_rows")
                client.delete_dataset(OUTPUT, delete_contents=True)
                cut_off = dt.datetime(2011, 12, 11, tzinfo=dt.UTC)  # run_retail's run of 2011-12-10
                results["UCI Online Retail"] = evaluate(client, settings, cut_off, args.horizon)
    report = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "horizon_days": args.horizon}
    report |= {"results": results, "targets": verdict(results)}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(table(results))
    for name, result in results.items():
        print(name, "BG/NBD + Gamma-Gamma parameters:", json.dumps(result["bgnbd_gamma_gamma_parameters"]))
    for line in report["targets"]:
        print(line)
    return 1 if any(line.startswith("MISSED") for line in report["targets"]) else 0


if __name__ == "__main__":
    sys.exit(main())
