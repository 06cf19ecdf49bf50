"""The k-means engine of local_bigquery.bqml checked against scikit-learn and the BigQuery ML reference.

These tests drive the engine directly with Arrow tables; test_bqml_sql.py covers the same features through
the REST API and the official client.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import davies_bouldin_score

from local_bigquery.bqml import functions
from local_bigquery.bqml import model as model_module
from local_bigquery.bqml.model import KMeansModel, train
from local_bigquery.bqml.options import (
    HparamCandidates,
    HparamRange,
    metadata_from_alter,
    options_from_create,
)
from local_bigquery.dialect import parse
from local_bigquery.errors import InvalidQuery, Unsupported


def options(text: str = ""):
    sql = f"CREATE MODEL d.m OPTIONS(model_type='kmeans'{', ' + text if text else ''}) AS SELECT 1"
    return options_from_create(parse(sql)[0])


def blobs(centers, per_cluster: int, spread: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """Gaussian blobs around `centers`, rows shuffled, one column per dimension (x0, x1, ...)."""
    rng = np.random.default_rng(seed)
    centers = np.asarray(centers, dtype=float)
    points = np.concatenate([c + rng.normal(0, spread, (per_cluster, len(c))) for c in centers])
    truth = np.repeat(np.arange(len(centers)), per_cluster)
    order = rng.permutation(len(points))
    frame = pd.DataFrame(points[order], columns=[f"x{i}" for i in range(centers.shape[1])])
    frame["truth"] = truth[order]
    return frame


def standardized(frame: pd.DataFrame) -> np.ndarray:
    """The documented preprocessing of numeric features: z-scores with the sample standard deviation."""
    return ((frame - frame.mean()) / frame.std(ddof=1)).to_numpy()


def predicted_labels(model: KMeansModel, table: pa.Table, **settings) -> np.ndarray:
    return functions.predict(model, table, **settings).column("CENTROID_ID").to_numpy() - 1


FOUR_BLOBS = blobs([[0, 0, 0], [6, 0, 2], [0, 7, -3], [5, 6, 5]], per_cluster=150, spread=1.5)
FEATURES = ["x0", "x1", "x2"]


# ---- agreement with scikit-learn ------------------------------------------------------------------------


def test_inertia_and_davies_bouldin_match_scikit_learn_on_the_standardized_matrix():
    table = pa.Table.from_pandas(FOUR_BLOBS[FEATURES])
    model = train(table, options("num_clusters=4, kmeans_init_method='KMEANS++'"))
    matrix = standardized(FOUR_BLOBS[FEATURES])

    reference = KMeans(n_clusters=4, n_init=1, random_state=0).fit(matrix)
    inertia = model.trial().mean_squared_distance * len(matrix)
    assert inertia == pytest.approx(reference.inertia_, rel=0.01)

    labels = predicted_labels(model, table)
    expected = davies_bouldin_score(matrix, labels)
    assert model.trial().davies_bouldin_index == pytest.approx(expected, abs=1e-6)
    evaluated = functions.evaluate(model).to_pylist()[0]
    assert evaluated["davies_bouldin_index"] == pytest.approx(expected, abs=1e-6)
    assert evaluated["mean_squared_distance"] == pytest.approx(reference.inertia_ / len(matrix), rel=0.01)
    on_new_data = functions.evaluate(model, table).to_pylist()[0]
    assert on_new_data["davies_bouldin_index"] == pytest.approx(expected, abs=1e-6)


def test_random_initialisation_also_reaches_scikit_learns_inertia():
    table = pa.Table.from_pandas(FOUR_BLOBS[FEATURES])
    model = train(table, options("num_clusters=4, early_stop=FALSE, max_iterations=50"))
    matrix = standardized(FOUR_BLOBS[FEATURES])
    reference = KMeans(n_clusters=4, n_init=10, random_state=0).fit(matrix)
    assert model.trial().mean_squared_distance * len(matrix) == pytest.approx(reference.inertia_, rel=0.01)


def _nine_blobs_seen_as_six() -> pd.DataFrame:
    """Nine blobs for six clusters: data on which one k-means++ start settles 30 % above the best."""
    rng = np.random.default_rng(7)
    centers = rng.uniform(0, 10, (9, 3))
    points = np.concatenate([center + rng.normal(0, 1.2, (120, 3)) for center in centers])
    return pd.DataFrame(points, columns=FEATURES)


def test_seeded_starts_keep_the_lowest_loss_within_one_percent_of_scikit_learns_best_of_ten(monkeypatch):
    frame = _nine_blobs_seen_as_six()
    table, matrix = pa.Table.from_pandas(frame), standardized(frame)
    best_of_ten = KMeans(n_clusters=6, n_init=10, random_state=0).fit(matrix).inertia_
    settings = options("num_clusters=6, kmeans_init_method='KMEANS++'")

    def inertia() -> float:
        return train(table, settings).trial().mean_squared_distance * len(matrix)

    assert inertia() == pytest.approx(best_of_ten, rel=0.01)
    monkeypatch.setattr(model_module, "SEEDED_STARTS", 1)
    assert inertia() > 1.05 * best_of_ten, "one start is enough on this data: the check above proves nothing"


def test_centroids_in_original_units_are_the_cluster_means_of_the_raw_features():
    table = pa.Table.from_pandas(FOUR_BLOBS[FEATURES])
    model = train(table, options("num_clusters=4, early_stop=FALSE, max_iterations=100"))
    assert len(model.trial().runs[0].iterations) < 100, "training should stop on convergence"

    labels = predicted_labels(model, table)
    means = FOUR_BLOBS[FEATURES].groupby(labels + 1).mean()
    rows = functions.centroids(model).to_pylist()
    assert len(rows) == 4 * len(FEATURES)
    for row in rows:
        assert row["numerical_value"] == pytest.approx(
            means.loc[row["centroid_id"], row["feature"]], abs=1e-9
        )
        assert row["categorical_value"] == []

    stats = FOUR_BLOBS[FEATURES].agg(["mean", "std"])
    for row in functions.centroids(model, standardize=True).to_pylist():
        mean, std = stats[row["feature"]]
        expected = (means.loc[row["centroid_id"], row["feature"]] - mean) / std
        assert row["numerical_value"] == pytest.approx(expected, abs=1e-9)


def test_prediction_reports_every_centroid_nearest_first_with_euclidean_distances():
    table = pa.Table.from_pandas(FOUR_BLOBS[[*FEATURES, "truth"]])
    model = train(table.drop_columns(["truth"]), options("num_clusters=4, kmeans_init_method='KMEANS++'"))
    result = functions.predict(model, table)

    assert result.column_names == ["CENTROID_ID", "NEAREST_CENTROIDS_DISTANCE", *FEATURES, "truth"]
    assert result.schema.field("CENTROID_ID").type == pa.int64()
    assert result.schema.field("NEAREST_CENTROIDS_DISTANCE").type == pa.list_(
        pa.struct([("CENTROID_ID", pa.int64()), ("DISTANCE", pa.float64())])
    )
    centroids = np.array(
        [
            [r["numerical_value"] for r in rows]
            for rows in _by_centroid(functions.centroids(model, standardize=True))
        ]
    )
    matrix = standardized(FOUR_BLOBS[FEATURES])
    expected = np.sqrt(((matrix[:, None, :] - centroids[None]) ** 2).sum(axis=2))
    for i, row in enumerate(result.to_pylist()[:50]):
        nearest = row["NEAREST_CENTROIDS_DISTANCE"]
        assert [n["CENTROID_ID"] for n in nearest] == list(np.argsort(expected[i], kind="stable") + 1)
        assert [n["DISTANCE"] for n in nearest] == pytest.approx(sorted(expected[i]), abs=1e-9)
        assert row["CENTROID_ID"] == nearest[0]["CENTROID_ID"]
    # The clusters recover the generating blobs.
    assert pd.crosstab(result.column("CENTROID_ID").to_numpy(), FOUR_BLOBS["truth"]).max(axis=1).sum() >= 590


def _by_centroid(centroids: pa.Table) -> list[list[dict]]:
    rows = centroids.to_pylist()
    return [[r for r in rows if r["centroid_id"] == c] for c in sorted({r["centroid_id"] for r in rows})]


# ---- options that change the algorithm ------------------------------------------------------------------


def test_cosine_distance_clusters_by_direction_not_magnitude():
    rng = np.random.default_rng(3)
    radius = rng.uniform(1, 50, 200)
    angle = np.where(np.arange(200) % 2 == 0, 0.5, 1.0) + rng.normal(0, 0.03, 200)
    frame = pd.DataFrame({"u": radius * np.cos(angle), "v": radius * np.sin(angle)})
    table = pa.Table.from_pandas(frame)
    direction = (np.arange(200) % 2).astype(int)

    model = train(table, options("num_clusters=2, distance_type='COSINE', standardize_features=FALSE"))
    labels = predicted_labels(model, table)
    assert abs(np.corrcoef(labels, direction)[0, 1]) == pytest.approx(1.0)

    euclidean = predicted_labels(train(table, options("num_clusters=2, standardize_features=FALSE")), table)
    assert abs(np.corrcoef(euclidean, direction)[0, 1]) < 0.2, "Euclidean k-means should split by magnitude"
    assert abs(np.corrcoef(euclidean, radius)[0, 1]) > 0.8

    centroids = np.array(
        [[r["numerical_value"] for r in rows] for rows in _by_centroid(functions.centroids(model))]
    )
    points = frame.to_numpy()
    cosine = (
        points @ centroids.T / np.linalg.norm(points, axis=1)[:, None] / np.linalg.norm(centroids, axis=1)
    )
    for i, row in enumerate(functions.predict(model, table).to_pylist()[:20]):
        assert [n["DISTANCE"] for n in row["NEAREST_CENTROIDS_DISTANCE"]] == pytest.approx(
            sorted(1 - cosine[i]), abs=1e-9
        )


def test_custom_initialisation_seeds_centroids_from_the_marked_rows_in_content_order():
    frame = blobs([[0, 0], [10, 0], [0, 10]], per_cluster=40, spread=0.5, seed=5)
    seeds = [int(np.flatnonzero(frame["truth"] == blob)[0]) for blob in (2, 0, 1)]
    frame["seed"] = False
    frame.loc[seeds, "seed"] = True
    # Centroid ids follow the marked rows ordered by their values, not the order the query returned them in.
    order_of_blobs = frame.loc[frame["seed"]].sort_values(["x0", "x1"])["truth"].tolist()
    table = pa.Table.from_pandas(frame[["x0", "x1", "seed"]])
    init = "num_clusters=3, kmeans_init_method='CUSTOM', kmeans_init_col='seed'"

    model = train(table, options(init))

    assert [f.name for f in model.transform.features] == ["x0", "x1"], "the init column is no feature"
    labels = predicted_labels(model, table.drop_columns(["seed"]))
    for centroid, blob in enumerate(order_of_blobs):
        assert (labels[frame["truth"] == blob] == centroid).all()
    reversed_rows = table.take(np.arange(table.num_rows)[::-1])
    np.testing.assert_array_equal(
        train(reversed_rows, options(init)).trial().centroids, model.trial().centroids
    )


@pytest.mark.parametrize(
    ("marked", "message"),
    [
        (2, "exactly NUM_CLUSTERS=3 rows, but is TRUE for 2"),
        (4, "exactly NUM_CLUSTERS=3 rows, but is TRUE for 4"),
    ],
)
def test_custom_initialisation_needs_exactly_k_marked_rows(marked, message):
    table = pa.table({"x": np.arange(10.0), "seed": np.arange(10) < marked})
    with pytest.raises(InvalidQuery, match=message):
        train(table, options("num_clusters=3, kmeans_init_method='CUSTOM', kmeans_init_col='seed'"))


def test_custom_initialisation_column_must_be_a_bool_column_of_the_query():
    table = pa.table({"x": np.arange(10.0), "seed": np.arange(10)})
    with pytest.raises(InvalidQuery, match="KMEANS_INIT_COL seed must be a BOOL column, not INT64"):
        train(table, options("num_clusters=3, kmeans_init_method='CUSTOM', kmeans_init_col='seed'"))
    with pytest.raises(InvalidQuery, match="KMEANS_INIT_COL missing is not a column"):
        train(table, options("num_clusters=3, kmeans_init_method='CUSTOM', kmeans_init_col='missing'"))


def test_warm_start_continues_from_the_previous_centroids_keeping_their_ids():
    first = blobs([[0, 0], [8, 0], [0, 8], [8, 8]], per_cluster=50, seed=1)
    model = train(
        pa.Table.from_pandas(first[["x0", "x1"]]), options("num_clusters=4, kmeans_init_method='KMEANS++'")
    )
    before = _numeric_centroids(model)

    second = blobs([[0.5, 0], [8.5, 0], [0.5, 8], [8.5, 8]], per_cluster=60, seed=2)
    second_table = pa.Table.from_pandas(second[["x0", "x1"]])
    warm = train(second_table, options("warm_start=TRUE"), previous=model)
    after = _numeric_centroids(warm)

    moved = np.linalg.norm(before[:, None, :] - after[None, :, :], axis=2)
    assert (moved.argmin(axis=1) == np.arange(4)).all(), "centroid ids must stay aligned"
    assert np.diag(moved).max() < 1.5
    runs = functions.training_info(warm).to_pandas()
    assert sorted(runs["training_run"].unique()) == [0, 1]
    assert runs.loc[runs["training_run"] == 1, "iteration"].min() == 0
    assert len(warm.trial().runs) == 2 and warm.trial().runs[1].training_options["warmStart"] is True
    # A warm start begins where the old model was: its first loss is already near its last.
    new_run = runs[runs["training_run"] == 1]["loss"].to_numpy()
    assert new_run[0] <= new_run[-1] * 1.05

    cold = train(second_table, options("num_clusters=4"))
    assert not np.allclose(_numeric_centroids(cold), after, atol=1.0), "without warm start ids are reshuffled"


def _numeric_centroids(model: KMeansModel) -> np.ndarray:
    return np.array(
        [[r["numerical_value"] for r in rows] for rows in _by_centroid(functions.centroids(model))]
    )


def test_warm_start_needs_an_existing_model_with_the_same_features_and_cluster_count():
    table = pa.table({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
    model = train(table, options("num_clusters=3"))
    with pytest.raises(InvalidQuery, match="requires an existing model"):
        train(table, options("warm_start=TRUE"))
    with pytest.raises(InvalidQuery, match=r"same feature columns and types.*model has a FLOAT64, b FLOAT64"):
        train(table.drop_columns(["b"]), options("warm_start=TRUE"), previous=model)
    with pytest.raises(InvalidQuery, match="cannot change NUM_CLUSTERS: the model has 3"):
        train(table, options("warm_start=TRUE, num_clusters=4"), previous=model)


def test_hyperparameter_tuning_keeps_every_trial_and_serves_the_lowest_davies_bouldin_index():
    table = pa.Table.from_pandas(FOUR_BLOBS[FEATURES])
    model = train(
        table,
        options(
            "num_clusters=HPARAM_RANGE(2, 6), num_trials=5, hparam_tuning_algorithm='GRID_SEARCH', "
            "hparam_tuning_objectives=['DAVIES_BOULDIN_INDEX'], kmeans_init_method='KMEANS++'"
        ),
    )
    trials = functions.trial_info(model).to_pylist()
    assert [t["hyperparameters"]["num_clusters"] for t in trials] == [2, 3, 4, 5, 6]
    indexes = [t["hparam_tuning_evaluation_metrics"]["davies_bouldin_index"] for t in trials]
    best = int(np.argmin(indexes))
    assert [t["is_optimal"] for t in trials] == [i == best for i in range(5)]
    assert {t["status"] for t in trials} == {"SUCCEEDED"}
    assert trials[best]["hyperparameters"]["num_clusters"] == 4, "four blobs: k=4 separates best"

    matrix = standardized(FOUR_BLOBS[FEATURES])
    for trial in trials:
        labels = predicted_labels(model, table, trial_id=trial["trial_id"])
        assert len(np.unique(labels)) == trial["hyperparameters"]["num_clusters"]
        expected = davies_bouldin_score(matrix, labels)
        assert trial["hparam_tuning_evaluation_metrics"]["davies_bouldin_index"] == pytest.approx(
            expected, abs=1e-6
        )

    assert set(predicted_labels(model, table)) == set(range(4)), "the optimal trial is served by default"
    # As documented, a tuned model's ML.CENTROIDS holds every trial's centroids, told apart by trial_id.
    centroids = functions.centroids(model).to_pandas()
    assert centroids.columns[0] == "trial_id"
    assert centroids.groupby("trial_id")["centroid_id"].nunique().to_dict() == {1: 2, 2: 3, 3: 4, 4: 5, 5: 6}
    served = functions.centroids(model, trial_id=best + 1)
    assert set(served.column("trial_id").to_pylist()) == {best + 1}
    assert functions.evaluate(model, trial_id=1).column("trial_id").to_pylist() == [1]
    every_trial = functions.evaluate(model).to_pylist()
    assert [row["trial_id"] for row in every_trial] == [1, 2, 3, 4, 5]
    assert [row["davies_bouldin_index"] for row in every_trial] == pytest.approx(indexes)
    assert functions.evaluate(model, table).column("trial_id").to_pylist() == [best + 1]
    info = functions.training_info(model)
    assert set(info.column("trial_id").to_pylist()) == {1, 2, 3, 4, 5}
    with pytest.raises(InvalidQuery, match="Trial 9 does not exist"):
        functions.centroids(model, trial_id=9)


def test_a_trial_with_more_clusters_than_rows_is_infeasible_and_the_others_still_run():
    table = pa.table({"x": [1.0, 2.0, 3.0, 10.0, 11.0, 12.0]})
    model = train(table, options("num_clusters=HPARAM_CANDIDATES([2, 8]), num_trials=2"))
    trials = {t["hyperparameters"]["num_clusters"]: t for t in functions.trial_info(model).to_pylist()}
    assert (
        trials[8]["status"] == "INFEASIBLE" and "more than the 6 training rows" in trials[8]["error_message"]
    )
    assert trials[2]["status"] == "SUCCEEDED" and trials[2]["is_optimal"]


def test_untuned_models_have_no_trials():
    model = train(pa.table({"x": np.arange(10.0)}), options("num_clusters=2"))
    with pytest.raises(
        InvalidQuery, match=r"ML\.TRIAL_INFO needs a model trained with hyperparameter tuning"
    ):
        functions.trial_info(model)
    assert "trial_id" not in functions.centroids(model).column_names


def test_early_stop_ends_training_when_the_relative_loss_improvement_falls_below_min_rel_progress():
    rng = np.random.default_rng(7)
    table = pa.table({"a": rng.uniform(size=3000), "b": rng.uniform(size=3000), "c": rng.uniform(size=3000)})
    model = train(table, options("num_clusters=8, min_rel_progress=0.02"))
    losses = [it.loss for it in model.trial().runs[0].iterations]
    progress = [(before - after) / before for before, after in itertools.pairwise(losses)]
    assert len(losses) >= 2
    assert all(p >= 0.02 for p in progress[:-1]) and progress[-1] < 0.02

    exhaustive = train(table, options("num_clusters=8, early_stop=FALSE, max_iterations=3"))
    assert [it.index for it in exhaustive.trial().runs[0].iterations] == [0, 1, 2]


# ---- preprocessing ---------------------------------------------------------------------------------------


def test_null_numbers_are_imputed_with_the_training_mean():
    values = [1.0, 2.0, None, 4.0, 30.0, 31.0, None, 33.0]
    table = pa.table({"x": pa.array(values), "y": pa.array([1.0, 1.5, 2.0, 1.0, 9.0, 9.5, 9.0, 8.0])})
    model = train(table, options("num_clusters=2"))
    mean = np.nanmean(np.array(values, dtype=float))
    assert model.transform.features[0].mean == pytest.approx(mean)

    probe = pa.table({"x": pa.array([None, mean]), "y": pa.array([5.0, 5.0])})
    first, second = functions.predict(model, probe).column("NEAREST_CENTROIDS_DISTANCE").to_pylist()
    assert first == second

    labels = predicted_labels(model, table)
    imputed = pd.Series([mean if v is None else v for v in values])
    centroids = {
        (r["centroid_id"], r["feature"]): r["numerical_value"] for r in functions.centroids(model).to_pylist()
    }
    for cluster in (0, 1):
        assert centroids[cluster + 1, "x"] == pytest.approx(imputed[labels == cluster].mean())


def test_categorical_columns_are_one_hot_with_null_as_a_category():
    tier = ["gold", "gold", None, "gold", "basic", "basic", "basic", None]
    active = [True, True, True, None, False, False, False, False]
    since = [dt.date(2020, 1, 1)] * 4 + [dt.date(2023, 5, 1)] * 4
    table = pa.table(
        {"spend": [1.0, 1.2, 0.9, 1.1, 9.0, 9.5, 8.7, 9.2], "tier": tier, "active": active, "since": since}
    )
    model = train(table, options("num_clusters=2"))
    labels = predicted_labels(model, table)
    assert len(set(labels[:4])) == 1 and len(set(labels[4:])) == 1 and labels[0] != labels[4]

    as_sql = {
        "tier": tier,
        "active": [None if v is None else str(v).lower() for v in active],
        "since": [d.isoformat() for d in since],
    }
    for row in functions.centroids(model).to_pylist():
        if row["feature"] == "spend":
            continue
        assert row["numerical_value"] is None
        members = [
            value
            for value, label in zip(as_sql[row["feature"]], labels, strict=True)
            if label == row["centroid_id"] - 1
        ]
        shares = {c["category"]: c["value"] for c in row["categorical_value"]}
        assert shares == pytest.approx(
            {c: members.count(c) / len(members) for c in set(as_sql[row["feature"]])}
        )
    categories = {
        r["feature"]: [c["category"] for c in r["categorical_value"]]
        for r in functions.centroids(model).to_pylist()
    }
    assert categories["tier"] == [None, "basic", "gold"]
    assert categories["active"] == [None, "false", "true"]
    assert categories["since"] == ["2020-01-01", "2023-05-01"]


def test_a_category_unseen_in_training_weighs_zero_at_prediction():
    table = pa.table({"spend": [1.0, 2.0, 10.0, 11.0], "tier": ["gold", "gold", "basic", "basic"]})
    model = train(table, options("num_clusters=2"))
    probe = pa.table({"spend": [5.0], "tier": ["platinum"]})
    distances = functions.predict(model, probe).column("NEAREST_CENTROIDS_DISTANCE").to_pylist()[0]

    spend = model.transform.features[0]
    point = np.array([(5.0 - spend.mean) / spend.scale, 0.0, 0.0])  # one-hot block (basic, gold) all zero
    centroids = model.trial().centroids
    expected = sorted(np.linalg.norm(centroids - point, axis=1))
    assert [d["DISTANCE"] for d in distances] == pytest.approx(expected)


def test_timestamps_are_unix_seconds_and_dates_times_and_datetimes_are_categories():
    stamps = [dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=d) for d in (0, 1, 2, 300, 301, 302)]
    table = pa.table(
        {
            "seen": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "at": pa.array([dt.time(9, 0)] * 3 + [dt.time(18, 30, 0, 500)] * 3, pa.time64("us")),
            "local": pa.array([dt.datetime(2024, 1, 1, 8)] * 6, pa.timestamp("us")),
        }
    )
    model = train(table, options("num_clusters=2"))
    kinds = {f.name: (f.sql_type, type(f).__name__) for f in model.transform.features}
    assert kinds == {
        "seen": ("TIMESTAMP", "NumericFeature"),
        "at": ("TIME", "CategoricalFeature"),
        "local": ("DATETIME", "CategoricalFeature"),
    }
    rows = functions.centroids(model).to_pylist()
    seconds = sorted(r["numerical_value"] for r in rows if r["feature"] == "seen")
    expected = sorted(
        [np.mean([s.timestamp() for s in stamps[:3]]), np.mean([s.timestamp() for s in stamps[3:]])]
    )
    assert seconds == pytest.approx(expected)
    times = next(r for r in rows if r["feature"] == "at")["categorical_value"]
    assert sorted(c["category"] for c in times) == ["09:00:00", "18:30:00.000500"]
    local = next(r for r in rows if r["feature"] == "local")["categorical_value"]
    assert [c["category"] for c in local] == ["2024-01-01 08:00:00"]


def test_every_selected_column_is_a_feature_ids_included():
    table = pa.table({"customer_id": np.arange(30), "spend": np.arange(30.0) % 5})
    model = train(table, options("num_clusters=2"))
    assert model.transform.names == ["customer_id", "spend"]


def test_predict_requires_every_feature_column_with_its_training_type():
    model = train(pa.table({"a": np.arange(10.0), "b": np.arange(10.0)}), options("num_clusters=2"))
    with pytest.raises(InvalidQuery, match="has no column b, a feature of the model"):
        functions.predict(model, pa.table({"a": [1.0]}))
    with pytest.raises(
        InvalidQuery, match="Column b has type STRING, but the model was trained with FLOAT64"
    ):
        functions.predict(model, pa.table({"a": [1.0], "b": ["x"]}))
    with pytest.raises(InvalidQuery, match="column named centroid_id"):
        functions.predict(model, pa.table({"a": [1.0], "b": [1.0], "centroid_id": [1]}))


# ---- bad input -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "text", "message"),
    [
        (pa.table({"x": pa.array([], pa.float64())}), "num_clusters=2", "returned no rows"),
        (pa.table({"x": [1.0, 2.0]}), "num_clusters=3", "NUM_CLUSTERS=3 is more than the 2 training rows"),
        (
            pa.table({"x": [1.0, 2.0, 3.0], "y": pa.array([None, None, None], pa.float64())}),
            "num_clusters=2",
            "Feature column y contains only NULL values",
        ),
        (
            pa.table({"x": [1.0, 2.0], "y": pa.nulls(2)}),
            "num_clusters=2",
            "Feature column y contains only NULL",
        ),
        (
            pa.table({"x": [1.0, float("nan"), 3.0]}),
            "num_clusters=2",
            "Feature column x contains NaN or infinite",
        ),
        (
            pa.table({"x": [1.0, float("inf"), 3.0]}),
            "num_clusters=2",
            "Feature column x contains NaN or infinite",
        ),
        (pa.table({"x": [b"a", b"b", b"c"]}), "num_clusters=2", "Feature column x has type binary"),
        (pa.table({"x": [[1.0], [2.0], [3.0]]}), "num_clusters=2", "which k-means models cannot use"),
        (pa.table({"x": [1.0, 2.0, 3.0], "X": [1.0, 2.0, 3.0]}), "num_clusters=2", "Duplicate column name X"),
    ],
)
def test_unusable_training_data_is_an_invalid_query_naming_the_problem(table, text, message):
    with pytest.raises(InvalidQuery, match=message):
        train(table, options(text))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("num_clusters=1", "Invalid value for option NUM_CLUSTERS: must be between 2 and 100, got 1"),
        ("num_clusters=101", "Invalid value for option NUM_CLUSTERS: must be between 2 and 100, got 101"),
        ("num_clusters=-3", "must be between 2 and 100, got -3"),
        ("num_clusters='three'", "Invalid value for option NUM_CLUSTERS: expected an INT64"),
        ("num_clusters=TRUE", "Invalid value for option NUM_CLUSTERS: expected an INT64"),
        ("num_cluster=3", "Unknown option NUM_CLUSTER for model_type KMEANS; did you mean NUM_CLUSTERS?"),
        ("colour='red'", "Unknown option COLOUR for model_type KMEANS"),
        (
            "kmeans_init_method='SMART'",
            "Invalid value for option KMEANS_INIT_METHOD: Input should be 'RANDOM'",
        ),
        ("distance_type='MANHATTAN'", "Invalid value for option DISTANCE_TYPE"),
        ("max_iterations=0", "Invalid value for option MAX_ITERATIONS"),
        ("max_iterations=2.5", "Invalid value for option MAX_ITERATIONS: Input should be a valid integer"),
        ("min_rel_progress='fast'", "Invalid value for option MIN_REL_PROGRESS"),
        ("standardize_features='yes'", "Invalid value for option STANDARDIZE_FEATURES"),
        ("early_stop=1", "Invalid value for option EARLY_STOP"),
        ("kmeans_init_method='CUSTOM'", "KMEANS_INIT_METHOD='CUSTOM' requires KMEANS_INIT_COL"),
        ("kmeans_init_col='seed'", "KMEANS_INIT_COL is only allowed with KMEANS_INIT_METHOD='CUSTOM'"),
        ("num_clusters=HPARAM_RANGE(2, 5)", "NUM_CLUSTERS=HPARAM_RANGE(2, 5) requires NUM_TRIALS"),
        ("num_clusters=HPARAM_RANGE(5, 2), num_trials=2", "HPARAM_RANGE(5, 2) needs min < max"),
        ("num_clusters=HPARAM_CANDIDATES([2, 300]), num_trials=2", "must be between 2 and 100, got 300"),
        ("num_clusters=3, num_trials=2", "NUM_TRIALS needs a hyperparameter search space"),
        ("num_trials=2, warm_start=TRUE", "WARM_START cannot be combined with hyperparameter tuning"),
        ("hparam_tuning_objectives=['SILHOUETTE']", "Invalid value for option HPARAM_TUNING_OBJECTIVES"),
        ("num_clusters=2, num_clusters=3", "Option NUM_CLUSTERS is specified more than once"),
        ("num_clusters=2 + 1", "Invalid value for option NUM_CLUSTERS: expected a constant, got 2 + 1"),
    ],
)
def test_bad_options_are_an_invalid_query_naming_the_option(text, message):
    with pytest.raises(InvalidQuery, match=re.escape(message)):
        options(text)


@pytest.mark.parametrize("option", ["description='Daily'", "friendly_name='Segments'", "labels=[('a', 'b')]"])
def test_descriptive_options_are_not_create_model_options_for_k_means(option):
    with pytest.raises(InvalidQuery, match="for model_type KMEANS; set it after training with ALTER MODEL"):
        options(option)


def test_alter_model_set_options_reads_description_friendly_name_and_labels():
    (statement,) = parse(
        "ALTER MODEL d.m SET OPTIONS(description='Daily segments', friendly_name='Segments', "
        "labels=[('snapshot_date', '20240101')])"
    )
    parsed = metadata_from_alter(statement.args["properties"])
    assert (parsed.description, parsed.friendly_name) == ("Daily segments", "Segments")
    assert parsed.labels == (("snapshot_date", "20240101"),)
    for text, message in [
        ("labels=[('Bad Key', 'x')]", "Invalid value for option LABELS: label key 'Bad Key'"),
        ("labels='team'", "Invalid value for option LABELS: expected an array"),
        ("num_clusters=4", "ALTER MODEL SET OPTIONS does not take option NUM_CLUSTERS"),
    ]:
        (statement,) = parse(f"ALTER MODEL d.m SET OPTIONS({text})")
        with pytest.raises(InvalidQuery, match=re.escape(message)):
            metadata_from_alter(statement.args["properties"])


def test_other_model_types_and_vertex_registration_are_reported_as_unsupported():
    with pytest.raises(Unsupported, match="model_type='linear_reg'"):
        options_from_create(parse("CREATE MODEL d.m OPTIONS(model_type='linear_reg') AS SELECT 1")[0])
    with pytest.raises(Unsupported, match="MODEL_REGISTRY"):
        options("model_registry='vertex_ai'")
    with pytest.raises(InvalidQuery, match="requires OPTIONS\\(model_type"):
        options_from_create(parse("CREATE MODEL d.m AS SELECT 1")[0])


def test_options_default_like_bigquery_ml_and_read_case_insensitively():
    defaults = options()
    assert (defaults.kmeans_init_method, defaults.distance_type, defaults.max_iterations) == (
        "RANDOM",
        "EUCLIDEAN",
        20,
    )
    assert (defaults.standardize_features, defaults.early_stop, defaults.min_rel_progress) == (
        True,
        True,
        0.01,
    )
    assert defaults.warm_start is False and defaults.num_clusters is None

    custom = options(
        "NUM_CLUSTERS=HPARAM_CANDIDATES([4, 2]), Num_Trials=2, kmeans_init_method='kmeans++', "
        "distance_type='cosine', min_rel_progress=0, hparam_tuning_objectives='davies_bouldin_index'"
    )
    assert custom.num_clusters == HparamCandidates((4, 2)) and custom.num_clusters.candidates() == (2, 4)
    assert (custom.kmeans_init_method, custom.distance_type, custom.min_rel_progress) == (
        "KMEANS++",
        "COSINE",
        0.0,
    )
    assert options("num_trials=3").num_clusters_space() == HparamRange(2, 10)


# ---- determinism and storage ------------------------------------------------------------------------------


def test_training_is_deterministic_and_a_model_survives_serialization():
    table = pa.Table.from_pandas(FOUR_BLOBS[FEATURES])
    first = train(table, options("num_clusters=4"))
    second = train(table, options("num_clusters=4"))
    np.testing.assert_array_equal(first.trial().centroids, second.trial().centroids)
    assert [it.loss for it in first.trial().runs[0].iterations] == [
        it.loss for it in second.trial().runs[0].iterations
    ]

    payload = first.to_bytes()
    assert b"pickle" not in payload
    restored = KMeansModel.from_bytes(payload)
    assert functions.predict(restored, table).equals(functions.predict(first, table))
    assert functions.centroids(restored).equals(functions.centroids(first))
    assert functions.training_info(restored).equals(functions.training_info(first))
    assert restored.to_bytes() == payload


@pytest.mark.parametrize("init", ["KMEANS++", "RANDOM"])
def test_the_same_rows_in_any_order_train_the_same_model(init):
    frame = blobs([[0, 0, 0], [3, 0, 1], [0, 3, -1], [2, 2, 2], [1, -2, 0]], per_cluster=200, spread=1.2)
    frame["channel"] = np.where(frame["x0"] > 1, "web", "store")
    table = pa.Table.from_pandas(frame[["x0", "x1", "x2", "channel"]])
    settings = f"num_clusters=5, kmeans_init_method='{init}'"
    first = train(table, options(settings))
    for seed in range(3):
        shuffled = table.take(np.random.default_rng(seed).permutation(table.num_rows))
        again = train(shuffled, options(settings))
        np.testing.assert_array_equal(again.trial().centroids, first.trial().centroids)
        assert again.trial().davies_bouldin_index == first.trial().davies_bouldin_index


def test_predict_and_evaluate_accept_an_empty_input():
    model = train(pa.table({"a": np.arange(10.0), "s": list("ababababab")}), options("num_clusters=2"))
    empty = pa.table({"a": pa.array([], pa.float64()), "s": pa.array([], pa.string())})
    predicted = functions.predict(model, empty)
    assert predicted.num_rows == 0 and predicted.column_names == [
        "CENTROID_ID",
        "NEAREST_CENTROIDS_DISTANCE",
        "a",
        "s",
    ]
    assert functions.evaluate(model, empty).to_pylist() == [
        {"davies_bouldin_index": None, "mean_squared_distance": None}
    ]


def test_without_num_clusters_the_cluster_count_follows_the_row_count():
    assert len(train(pa.table({"x": np.arange(8.0)}), options()).trial().centroids) == 2
    assert len(train(pa.table({"x": np.arange(50.0)}), options()).trial().centroids) == 5
    assert len(train(pa.table({"x": np.arange(1000.0)}), options()).trial().centroids) == 10
