"""BigQuery ML k-means through the REST API and the official google-cloud-bigquery client.

CREATE MODEL / DROP MODEL, the ML.* table functions inside real queries, the models REST resource, restart
persistence, and bad input answered with a 400 that leaves the existing model untouched.
"""

from __future__ import annotations

import numpy as np
import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from local_bigquery.server import BackgroundServer
from local_bigquery.warehouse import Warehouse
from tests.conftest import PROJECT

CENTERS = {"budget": (20.0, 2.0), "regular": (80.0, 6.0), "premium": (300.0, 3.0)}


def load_customers(client: bigquery.Client, dataset: str, per_segment: int = 30, seed: int = 0) -> str:
    """Three well-separated customer segments: spend, visits, a tier with some NULLs, and an id."""
    rng = np.random.default_rng(seed)
    rows = []
    for index, (tier, (spend, visits)) in enumerate(CENTERS.items()):
        for i in range(per_segment):
            rows.append(
                {
                    "id": index * per_segment + i,
                    "spend": float(spend + rng.normal(0, spend / 20)),
                    "visits": float(visits + rng.normal(0, 0.5)),
                    "tier": None if i % 10 == 0 else tier,
                }
            )
    schema = [
        bigquery.SchemaField("id", "INT64"),
        bigquery.SchemaField("spend", "FLOAT64"),
        bigquery.SchemaField("visits", "FLOAT64"),
        bigquery.SchemaField("tier", "STRING"),
    ]
    table = f"{PROJECT}.{dataset}.customers"
    client.create_table(bigquery.Table(table, schema=schema))
    assert client.insert_rows_json(table, rows) == []
    return f"{dataset}.customers"


def create_model(
    client: bigquery.Client, model: str, source: str, options: str = "num_clusters=3"
) -> bigquery.QueryJob:
    job = client.query(
        f"CREATE OR REPLACE MODEL {model} OPTIONS(model_type='kmeans', {options}) "
        f"AS SELECT spend, visits, tier FROM {source}"
    )
    job.result()
    return job


def rows(client: bigquery.Client, sql: str, **parameters) -> list[dict]:
    config = bigquery.QueryJobConfig(
        query_parameters=[
            bigquery.ScalarQueryParameter(name, "INT64", value) for name, value in parameters.items()
        ]
    )
    return [dict(row.items()) for row in client.query(sql, job_config=config).result()]


@pytest.fixture
def customers(bq_client, dataset) -> str:
    return load_customers(bq_client, dataset)


def test_create_model_then_predict_centroids_evaluate_and_training_info(bq_client, dataset, customers):
    model = f"{dataset}.segments"
    job = create_model(bq_client, model, customers, "num_clusters=3, early_stop=FALSE, max_iterations=50")
    assert (job.statement_type, job.ddl_operation_performed) == ("CREATE_MODEL", "CREATE")

    predict = bq_client.query(
        f"SELECT * FROM ML.PREDICT(MODEL `{PROJECT}.{model}`, TABLE {customers}) ORDER BY id"
    )
    predicted = [dict(row.items()) for row in predict.result()]
    schema = {field.name: field for field in predict.result().schema}
    assert list(schema)[:2] == ["CENTROID_ID", "NEAREST_CENTROIDS_DISTANCE"]
    assert schema["CENTROID_ID"].field_type in ("INTEGER", "INT64")
    nearest = schema["NEAREST_CENTROIDS_DISTANCE"]
    assert (nearest.field_type, nearest.mode) in {("RECORD", "REPEATED"), ("STRUCT", "REPEATED")}
    assert [f.name for f in nearest.fields] == ["CENTROID_ID", "DISTANCE"]
    assert len(predicted) == 90 and {"id", "spend", "visits", "tier"} <= set(predicted[0])
    for row in predicted:
        distances = [d["DISTANCE"] for d in row["NEAREST_CENTROIDS_DISTANCE"]]
        assert distances == sorted(distances) and len(distances) == 3
        assert row["CENTROID_ID"] == row["NEAREST_CENTROIDS_DISTANCE"][0]["CENTROID_ID"]
    by_segment = {(row["id"] // 30, row["CENTROID_ID"]) for row in predicted}
    assert len(by_segment) == 3 and len({c for _, c in by_segment}) == 3, "each segment is one cluster"

    # ML.CENTROIDS in original units are the per-cluster means of the raw features.
    compared = rows(
        bq_client,
        f"""
        SELECT c.centroid_id, c.feature, c.numerical_value, p.mean_spend, p.mean_visits
        FROM ML.CENTROIDS(MODEL {model}) AS c
        JOIN (SELECT CENTROID_ID, AVG(spend) AS mean_spend, AVG(visits) AS mean_visits
              FROM ML.PREDICT(MODEL {model}, TABLE {customers}) GROUP BY CENTROID_ID) AS p
          ON c.centroid_id = p.CENTROID_ID
        WHERE c.feature IN ('spend', 'visits')
        """,
    )
    assert len(compared) == 6
    for row in compared:
        assert row["numerical_value"] == pytest.approx(row[f"mean_{row['feature']}"], rel=1e-9)
    tiers = rows(bq_client, f"SELECT * FROM ML.CENTROIDS(MODEL {model}) WHERE feature = 'tier'")
    for row in tiers:
        assert row["numerical_value"] is None
        assert sum(c["value"] for c in row["categorical_value"]) == pytest.approx(1.0)
        assert {c["category"] for c in row["categorical_value"]} == {None, "budget", "regular", "premium"}

    (evaluated,) = rows(bq_client, f"SELECT * FROM ML.EVALUATE(MODEL {model})")
    (on_table,) = rows(bq_client, f"SELECT * FROM ML.EVALUATE(MODEL {model}, TABLE {customers})")
    assert set(evaluated) == {"davies_bouldin_index", "mean_squared_distance"}
    assert on_table["davies_bouldin_index"] == pytest.approx(evaluated["davies_bouldin_index"], abs=1e-9)
    assert on_table["mean_squared_distance"] == pytest.approx(evaluated["mean_squared_distance"], abs=1e-9)

    info = rows(bq_client, f"SELECT * FROM ML.TRAINING_INFO(MODEL {model}) ORDER BY iteration")
    assert [row["iteration"] for row in info] == list(range(len(info)))
    assert {row["training_run"] for row in info} == {0}
    assert info[-1]["loss"] == pytest.approx(evaluated["mean_squared_distance"])
    assert all(row["duration_ms"] >= 0 for row in info)
    assert sum(c["cluster_size"] for c in info[-1]["cluster_info"]) == 90


def test_ml_functions_compose_with_ctes_parameters_and_create_table_as_select(bq_client, dataset, customers):
    model = f"{dataset}.segments"
    create_model(bq_client, model, customers)
    recent = rows(
        bq_client,
        f"""
        WITH recent AS (SELECT * FROM {customers} WHERE id >= @first_id)
        SELECT id, CENTROID_ID FROM ML.PREDICT(MODEL {model}, (SELECT spend, visits, tier, id FROM recent)) ORDER BY id
        """,
        first_id=80,
    )
    assert [row["id"] for row in recent] == list(range(80, 90))

    bq_client.query(
        f"CREATE TABLE {dataset}.assignments AS "
        f"SELECT id, CENTROID_ID AS segment FROM ML.PREDICT(MODEL {model}, TABLE {customers})"
    ).result()
    counts = rows(bq_client, f"SELECT segment, COUNT(*) AS n FROM {dataset}.assignments GROUP BY segment")
    assert sorted(row["n"] for row in counts) == [30, 30, 30]


def test_hyperparameter_tuning_serves_the_best_trial_and_keeps_the_others(bq_client, dataset, customers):
    model = f"{dataset}.tuned"
    create_model(
        bq_client,
        model,
        customers,
        "num_clusters=HPARAM_CANDIDATES([2, 3, 5]), num_trials=3, hparam_tuning_objectives=['DAVIES_BOULDIN_INDEX']",
    )
    trials = rows(bq_client, f"SELECT * FROM ML.TRIAL_INFO(MODEL {model}) ORDER BY trial_id")
    assert sorted(t["hyperparameters"]["num_clusters"] for t in trials) == [2, 3, 5]
    best = min(trials, key=lambda t: t["hparam_tuning_evaluation_metrics"]["davies_bouldin_index"])
    assert [t["trial_id"] for t in trials if t["is_optimal"]] == [best["trial_id"]]

    centroids = rows(bq_client, f"SELECT DISTINCT trial_id, centroid_id FROM ML.CENTROIDS(MODEL {model})")
    assert {c["trial_id"] for c in centroids} == {t["trial_id"] for t in trials}, "every trial's centroids"
    assert len(centroids) == 2 + 3 + 5
    served_centroids = rows(
        bq_client,
        f"""SELECT DISTINCT centroid_id FROM ML.CENTROIDS(MODEL {model})
        WHERE trial_id = (SELECT trial_id FROM ML.TRIAL_INFO(MODEL {model}) WHERE is_optimal)""",
    )
    assert len(served_centroids) == best["hyperparameters"]["num_clusters"]

    other = next(t for t in trials if not t["is_optimal"])
    predicted = rows(
        bq_client,
        f"SELECT DISTINCT CENTROID_ID FROM ML.PREDICT(MODEL {model}, TABLE {customers}, "
        f"STRUCT({other['trial_id']} AS trial_id))",
    )
    assert len(predicted) == other["hyperparameters"]["num_clusters"]
    evaluated = rows(bq_client, f"SELECT * FROM ML.EVALUATE(MODEL {model}) ORDER BY trial_id")
    assert [row["trial_id"] for row in evaluated] == [t["trial_id"] for t in trials], (
        "every trial, one row each"
    )
    assert [row["davies_bouldin_index"] for row in evaluated] == pytest.approx(
        [t["hparam_tuning_evaluation_metrics"]["davies_bouldin_index"] for t in trials]
    )
    (served,) = rows(bq_client, f"SELECT * FROM ML.EVALUATE(MODEL {model}, TABLE {customers})")
    assert served["trial_id"] == best["trial_id"]
    assert {row["trial_id"] for row in rows(bq_client, f"SELECT * FROM ML.TRAINING_INFO(MODEL {model})")} == {
        1,
        2,
        3,
    }

    resource = bq_client.get_model(model)._properties
    assert resource["defaultTrialId"] == str(best["trial_id"])
    assert len(resource["hparamTrials"]) == 3
    assert resource["hparamSearchSpaces"] == {"numClusters": {"candidates": {"candidates": ["2", "3", "5"]}}}


def test_models_get_list_and_delete_through_the_rest_api(bq_client, dataset, customers):
    create_model(bq_client, f"{dataset}.segments", customers, "num_clusters=3, kmeans_init_method='KMEANS++'")
    bq_client.query(
        f"ALTER MODEL {dataset}.segments SET OPTIONS(description='Customer segments', "
        "labels=[('snapshot_date', '20240101')])"
    ).result()
    model = bq_client.get_model(f"{dataset}.segments")
    assert model.model_type == "KMEANS"
    assert (model.description, model.labels) == ("Customer segments", {"snapshot_date": "20240101"})
    assert [(f.name, f.type.type_kind.name) for f in model.feature_columns] == [
        ("spend", "FLOAT64"),
        ("visits", "FLOAT64"),
        ("tier", "STRING"),
    ]
    (run,) = model.training_runs
    options = run["trainingOptions"]
    assert options["numClusters"] == "3" and options["kmeansInitializationMethod"] == "KMEANS_PLUS_PLUS"
    assert options["distanceType"] == "EUCLIDEAN" and options["standardizeFeatures"] is True
    assert run["evaluationMetrics"]["clusteringMetrics"]["daviesBouldinIndex"] > 0
    assert model.created is not None and model.location == "US"

    assert [m.model_id for m in bq_client.list_models(dataset)] == ["segments"]
    bq_client.delete_model(f"{dataset}.segments")
    assert list(bq_client.list_models(dataset)) == []
    with pytest.raises(exceptions.NotFound, match="segments"):
        bq_client.get_model(f"{dataset}.segments")
    with pytest.raises(exceptions.NotFound, match="segments"):
        bq_client.query(f"SELECT * FROM ML.CENTROIDS(MODEL {dataset}.segments)").result()


def test_a_copy_job_copies_a_model_and_replaces_the_destination_only_with_write_truncate(
    bq_client, dataset, customers
):
    create_model(bq_client, f"{dataset}.staged", customers, "num_clusters=3, kmeans_init_method='KMEANS++'")
    copy = {"sourceTable": {"datasetId": dataset, "tableId": "staged"}}
    destination = {"datasetId": dataset, "tableId": "served"}

    def copy_job(**settings):
        config = {"copy": {**copy, "destinationTable": destination, **settings}}
        return bq_client._connection.api_request(
            method="POST", path=f"/projects/{bq_client.project}/jobs", data={"configuration": config}
        )

    assert "errorResult" not in copy_job()["status"]
    query = "SELECT * FROM ML.CENTROIDS(MODEL {}) ORDER BY centroid_id, feature"
    assert rows(bq_client, query.format(f"{dataset}.served")) == rows(
        bq_client, query.format(f"{dataset}.staged")
    )
    assert "Already Exists: Model" in copy_job()["status"]["errorResult"]["message"]
    assert "errorResult" not in copy_job(writeDisposition="WRITE_TRUNCATE")["status"]
    with pytest.raises(
        exceptions.BadRequest, match="ALTER MODEL SET OPTIONS does not take option NUM_CLUSTERS"
    ):
        bq_client.query(f"ALTER MODEL {dataset}.served SET OPTIONS(num_clusters=4)").result()
    bq_client.query(f"ALTER MODEL IF EXISTS {dataset}.missing SET OPTIONS(description='x')").result()


def test_drop_model_and_create_if_not_exists(bq_client, dataset, customers):
    model = f"{dataset}.segments"
    create_model(bq_client, model, customers)
    before = rows(bq_client, f"SELECT * FROM ML.CENTROIDS(MODEL {model}) ORDER BY centroid_id, feature")

    with pytest.raises(exceptions.Conflict, match="Already Exists: Model"):
        bq_client.query(
            f"CREATE MODEL {model} OPTIONS(model_type='kmeans', num_clusters=2) AS SELECT spend FROM {customers}"
        ).result()
    bq_client.query(
        f"CREATE MODEL IF NOT EXISTS {model} OPTIONS(model_type='kmeans', num_clusters=2) AS SELECT spend FROM {customers}"
    ).result()
    assert (
        rows(bq_client, f"SELECT * FROM ML.CENTROIDS(MODEL {model}) ORDER BY centroid_id, feature") == before
    )

    job = bq_client.query(f"DROP MODEL {model}")
    job.result()
    assert job.statement_type == "DROP_MODEL"
    bq_client.query(f"DROP MODEL IF EXISTS {model}").result()
    with pytest.raises(exceptions.NotFound, match="segments"):
        bq_client.query(f"DROP MODEL {model}").result()


def test_warm_start_adds_a_training_run_with_aligned_centroids(bq_client, dataset, customers):
    model = f"{dataset}.segments"
    create_model(bq_client, model, customers)
    spend = (
        "SELECT centroid_id, numerical_value FROM ML.CENTROIDS(MODEL {}) WHERE feature = 'spend' ORDER BY 1"
    )
    before = [row["numerical_value"] for row in rows(bq_client, spend.format(model))]

    bq_client.query(
        f"INSERT INTO {customers} (id, spend, visits, tier) VALUES (90, 21, 2, 'budget'), (91, 301, 3, NULL)"
    ).result()
    create_model(bq_client, model, customers, "warm_start=TRUE")
    after = [row["numerical_value"] for row in rows(bq_client, spend.format(model))]
    assert after == pytest.approx(before, rel=0.05)
    info = rows(bq_client, f"SELECT training_run, iteration FROM ML.TRAINING_INFO(MODEL {model})")
    assert {row["training_run"] for row in info} == {0, 1}
    assert len(bq_client.get_model(model).training_runs) == 2


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (
            "OPTIONS(model_type='kmeans', num_clusters=3) AS SELECT spend FROM {t} WHERE FALSE",
            "returned no rows",
        ),
        (
            "OPTIONS(model_type='kmeans', num_clusters=3) AS SELECT spend FROM {t} WHERE id < 2",
            "more than the 2 training rows",
        ),
        (
            "OPTIONS(model_type='kmeans', num_clusters=3) AS SELECT spend, CAST(NULL AS FLOAT64) AS gone FROM {t}",
            "gone contains only NULL",
        ),
        (
            "OPTIONS(model_type='kmeans', num_clusters=3) AS SELECT spend, CAST(tier AS BYTES) AS raw FROM {t}",
            "Feature column raw has type",
        ),
        (
            "OPTIONS(model_type='kmeans', num_clusters=3) AS SELECT spend, IF(id = 5, CAST('NaN' AS FLOAT64), spend) AS ratio FROM {t}",
            "NaN or infinite",
        ),
        (
            "OPTIONS(model_type='kmeans', num_clusters=1) AS SELECT spend FROM {t}",
            "NUM_CLUSTERS: must be between 2 and 100, got 1",
        ),
        (
            "OPTIONS(model_type='kmeans', num_clusters=101) AS SELECT spend FROM {t}",
            "must be between 2 and 100, got 101",
        ),
        (
            "OPTIONS(model_type='kmeans', num_clusterz=3) AS SELECT spend FROM {t}",
            "Unknown option NUM_CLUSTERZ",
        ),
        (
            "OPTIONS(model_type='kmeans', max_iterations='many') AS SELECT spend FROM {t}",
            "Invalid value for option MAX_ITERATIONS",
        ),
        (
            "OPTIONS(model_type='kmeans', num_clusters=3, warm_start=TRUE) AS SELECT spend FROM {t}",
            "same feature columns",
        ),
    ],
)
def test_bad_input_is_a_400_with_a_clear_message_and_keeps_the_previous_model(
    bq_client, dataset, customers, statement, message
):
    model = f"{dataset}.segments"
    create_model(bq_client, model, customers)
    before = rows(bq_client, f"SELECT * FROM ML.CENTROIDS(MODEL {model}) ORDER BY centroid_id, feature")
    modified = bq_client.get_model(model).modified

    with pytest.raises(exceptions.BadRequest, match=message):
        bq_client.query(f"CREATE OR REPLACE MODEL {model} {statement.format(t=customers)}").result()

    assert (
        rows(bq_client, f"SELECT * FROM ML.CENTROIDS(MODEL {model}) ORDER BY centroid_id, feature") == before
    )
    assert bq_client.get_model(model).modified == modified


@pytest.mark.parametrize(
    ("query", "error", "message"),
    [
        (
            "SELECT * FROM ML.CENTROIDS(MODEL {m}, STRUCT(TRUE AS standardise))",
            exceptions.BadRequest,
            "no setting standardise",
        ),
        (
            "SELECT * FROM ML.CENTROIDS(MODEL {m}, STRUCT(1 AS standardize))",
            exceptions.BadRequest,
            "must be a BOOL",
        ),
        (
            "SELECT * FROM ML.PREDICT(MODEL {m}, (SELECT spend FROM {t}))",
            exceptions.BadRequest,
            "no column visits",
        ),
        ("SELECT * FROM ML.TRIAL_INFO(MODEL {m})", exceptions.BadRequest, "hyperparameter tuning"),
        ("SELECT * FROM ML.FEATURE_INFO(MODEL {m})", exceptions.BadRequest, "ML.FEATURE_INFO"),
        ("SELECT * FROM ML.PREDICT(MODEL {d}.nothing, TABLE {t})", exceptions.NotFound, "nothing"),
    ],
)
def test_bad_ml_function_calls_are_reported(bq_client, dataset, customers, query, error, message):
    create_model(bq_client, f"{dataset}.segments", customers)
    with pytest.raises(error, match=message):
        bq_client.query(query.format(m=f"{dataset}.segments", t=customers, d=dataset)).result()


def test_models_survive_a_server_restart(tmp_path):
    def client_for(server: BackgroundServer) -> bigquery.Client:
        return bigquery.Client(
            project=PROJECT, credentials=AnonymousCredentials(), client_options={"api_endpoint": server.url}
        )

    predict = "SELECT id, CENTROID_ID FROM ML.PREDICT(MODEL persisted.segments, TABLE persisted.customers) ORDER BY id"
    with BackgroundServer(Warehouse(tmp_path)) as server:
        client = client_for(server)
        client.create_dataset("persisted")
        load_customers(client, "persisted")
        create_model(client, "persisted.segments", "persisted.customers")
        before = rows(client, predict)
        resource = client.get_model("persisted.segments")._properties

    with BackgroundServer(Warehouse(tmp_path)) as server:
        client = client_for(server)
        assert rows(client, predict) == before
        assert client.get_model("persisted.segments")._properties == resource
