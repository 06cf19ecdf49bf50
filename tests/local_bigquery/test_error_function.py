"""ERROR() fails the query with its own message, whatever else the query uses (ML functions included):
the message is what a gate's task log shows."""

from __future__ import annotations

import pytest
from google.api_core.exceptions import BadRequest


@pytest.fixture(scope="module")
def model(bq_client):
    dataset = "error_function"
    bq_client.create_dataset(dataset, exists_ok=True)
    bq_client.query(
        f"CREATE OR REPLACE TABLE {dataset}.points AS "
        "SELECT x AS id, CAST(x AS FLOAT64) AS a, CAST(MOD(x, 5) AS FLOAT64) AS b "
        "FROM UNNEST(GENERATE_ARRAY(1, 30)) AS x"
    ).result()
    bq_client.query(
        f"CREATE OR REPLACE MODEL {dataset}.clusters OPTIONS (model_type = 'kmeans', num_clusters = 3) "
        f"AS SELECT a, b FROM {dataset}.points"
    ).result()
    yield f"{dataset}.clusters"
    bq_client.delete_dataset(dataset, delete_contents=True)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT ERROR('gate failed: plain')",
        "SELECT IF(COUNT(*) = 0, 'ok', ERROR('gate failed: centroids')) FROM ML.CENTROIDS(MODEL the_model)",
        "WITH c AS (SELECT DISTINCT centroid_id FROM ML.CENTROIDS(MODEL the_model)) "
        "SELECT IF(COUNT(*) = 0, 'ok', ERROR(CONCAT('gate failed: ', CAST(COUNT(*) AS STRING), ' centroids'))) "
        "FROM c",
        "SELECT ERROR('gate failed: predict') FROM ML.PREDICT(MODEL the_model, "
        "(SELECT a, b FROM error_function.points)) LIMIT 1",
        "SELECT IF(davies_bouldin_index > 0, ERROR('gate failed: evaluate'), 'ok') "
        "FROM ML.EVALUATE(MODEL the_model)",
    ],
    ids=["plain", "centroids", "centroids-in-a-cte", "predict", "evaluate"],
)
def test_error_raises_its_own_message(bq_client, model, sql):
    with pytest.raises(BadRequest) as failure:
        bq_client.query(sql.replace("the_model", model)).result()
    assert failure.value.message.startswith("gate failed: ")
    assert "transaction is aborted" not in failure.value.message
    assert failure.value.errors[0]["reason"] == "invalidQuery"
    # The failed job left nothing behind: the model is still readable.
    centroids = bq_client.query(f"SELECT COUNT(DISTINCT centroid_id) AS k FROM ML.CENTROIDS(MODEL {model})")
    assert [row.k for row in centroids.result()] == [3]
