"""Published snapshots written straight into a warehouse, for the segment API's benchmark and tests.

The tables are created by the pipeline's own DDL (`include/sql/schema.sql`, rendered as the DAG renders
it) and filled through the official client's load jobs with what a run publishes: customer features
drawn from skewed, correlated distributions like thelook's (few orders, log-normal spend, recency and
tenure in days), segments from k-means on the standardized features with distances to the centroids,
profiles as the segments' means, and personas from the product's offline writer, stored with its own
MERGE. A later snapshot of the same generator keeps most customers, adds a few and lets features drift,
so segment ids mostly persist.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import jinja2
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from google.cloud import bigquery
from sklearn.cluster import KMeans

from segmentation.config import PipelineConfig
from segmentation.paths import sql_dir
from segmentation.personas.offline import OfflineWriter
from segmentation.personas.profile import profiles_from_rows
from segmentation.personas.step import draft_personas
from segmentation.personas.store import Warehouse as PersonaWarehouse
from segmentation.personas.store import merge_parameters, sql_file
from segmentation.tables import PROFILE_DRIFT
from segmentation.templating import MACROS

FEATURES = ("recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "return_ratio")


def create_tables(client: bigquery.Client, project_id: str, dataset: str) -> None:
    """The dataset and the pipeline's tables, by the DAG's own `schema.sql`."""
    client.create_dataset(f"{project_id}.{dataset}", exists_ok=True)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(sql_dir()), undefined=jinja2.StrictUndefined, autoescape=False
    )
    environment.globals.update(MACROS)
    params = PipelineConfig(project_id=project_id, dataset=dataset).model_dump(mode="json")
    client.query_and_wait(environment.get_template("schema.sql").render(params=params))


def customer_features(customers: int, seed: int, first_id: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # Ids with gaps, as a source's user ids have once some users never ordered.
    ids = first_id + np.sort(rng.choice(customers * 3, size=customers, replace=False)).astype(np.int64)
    engagement = rng.normal(size=customers)  # one latent trait drives frequency, spend and recency
    frequency = 1 + rng.poisson(np.exp(0.4 + 0.6 * engagement))
    avg_order_value = np.round(np.exp(rng.normal(4.0, 0.6, customers) + 0.1 * engagement), 2)
    monetary = np.round(frequency * avg_order_value * rng.uniform(0.7, 1.0, customers), 2)
    recency = np.minimum(1460, rng.exponential(np.exp(5.2 - 0.5 * engagement))).astype(np.int64)
    tenure = recency + rng.exponential(400, customers).astype(np.int64)
    return_ratio = np.round(rng.beta(0.6, 5.0, customers), 4)
    return pd.DataFrame(
        {
            "customer_id": ids,
            "recency_days": recency,
            "frequency": frequency.astype(np.int64),
            "monetary": monetary,
            "avg_order_value": np.round(monetary / frequency, 2),
            "tenure_days": tenure,
            "return_ratio": return_ratio,
        }
    )


def drifted(features: pd.DataFrame, days: int, new_customers: int, seed: int) -> pd.DataFrame:
    """The same base `days` later: most customers aged, some ordered again, a few new ones."""
    rng = np.random.default_rng(seed)
    later = features.copy()
    later["recency_days"] += days
    later["tenure_days"] += days
    ordered = rng.random(len(later)) < 0.05
    extra = np.round(np.exp(rng.normal(4.0, 0.6, ordered.sum())), 2)
    later.loc[ordered, "frequency"] += 1
    later.loc[ordered, "monetary"] += extra
    later.loc[ordered, "recency_days"] = rng.integers(0, days, ordered.sum())
    later["avg_order_value"] = np.round(later.monetary / later.frequency, 2)
    newcomers = customer_features(new_customers, seed + 1, first_id=int(later.customer_id.max()) + 1)
    newcomers["tenure_days"] = newcomers.recency_days
    return pd.concat([later, newcomers], ignore_index=True)


@dataclass
class Snapshot:
    snapshot_date: dt.date
    features: pd.DataFrame
    segments: pd.DataFrame
    profiles: pd.DataFrame
    predictions: pd.DataFrame


HORIZON_DAYS = 90


def predicted_values(features: pd.DataFrame, seed: int) -> pd.DataFrame:
    """What the value model publishes: spend over the next horizon, from the recent rate of spend."""
    rng = np.random.default_rng(seed)
    rate = features.monetary / np.maximum(features.tenure_days, 30)
    value = np.round(rate * HORIZON_DAYS * np.exp(-features.recency_days / 365) * rng.lognormal(0, 0.3), 2)
    ranks = value.rank(method="first", ascending=False).to_numpy() - 1
    return pd.DataFrame(
        {
            "customer_id": features.customer_id,
            "predicted_value": value.astype(np.float64),
            "predicted_value_decile": (1 + ranks * 10 // len(value)).astype(np.int64),
            "horizon_days": HORIZON_DAYS,
        }
    )


def segment(snapshot_date: dt.date, features: pd.DataFrame, k: int, seed: int) -> Snapshot:
    matrix = features[list(FEATURES)].to_numpy(dtype=np.float64)
    standardized = (matrix - matrix.mean(axis=0)) / matrix.std(axis=0)
    model = KMeans(n_clusters=k, n_init=1, max_iter=30, random_state=seed).fit(standardized)
    # Ids by size, largest first, so they do not depend on how k-means numbered its centroids.
    ranks = np.argsort(np.argsort(-np.bincount(model.labels_, minlength=k)))
    distance = np.linalg.norm(standardized - model.cluster_centers_[model.labels_], axis=1)
    segments = pd.DataFrame(
        {"customer_id": features.customer_id, "segment_id": ranks[model.labels_] + 1, "distance": distance}
    )
    members = segments[["customer_id", "segment_id"]].merge(features, on="customer_id")
    groups = members.groupby("segment_id")
    profiles = groups[list(FEATURES)].mean().astype(np.float64)
    profiles.insert(0, "customers", groups.size().astype(np.int64))
    profiles.insert(1, "customer_share", profiles.customers / len(members))
    profiles.insert(2, "revenue_share", groups.monetary.sum() / members.monetary.sum())
    predictions = predicted_values(features, seed)
    valued = (
        segments[["customer_id", "segment_id"]].merge(predictions, on="customer_id").groupby("segment_id")
    )
    profiles["avg_predicted_value"] = valued.predicted_value.mean()
    profiles["predicted_value_share"] = valued.predicted_value.sum() / predictions.predicted_value.sum()
    # Ids here are ranked by size, not matched to the previous snapshot's centroids: no drift to record.
    for column in PROFILE_DRIFT:
        profiles[column.name] = pd.array(
            [None] * len(profiles), dtype="Int64" if column.type == "INT64" else "Float64"
        )
    return Snapshot(snapshot_date, features, segments, profiles.reset_index(), predictions)


def _load(client: bigquery.Client, table_id: str, schema: list, frame: pd.DataFrame) -> None:
    """A load job (Parquet) replacing the table with the rows, typed by `schema`."""
    buffer = io.BytesIO()
    pq.write_table(
        pa.Table.from_pandas(frame[[field.name for field in schema]], preserve_index=False), buffer
    )
    buffer.seek(0)
    config = bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.PARQUET, write_disposition="WRITE_TRUNCATE", schema=schema
    )
    client.load_table_from_file(buffer, table_id, job_config=config).result()


def publish(
    client: bigquery.Client, project_id: str, dataset: str, snapshot: Snapshot, *, personas: bool = True
) -> None:
    """The snapshot's rows in every table at once, as the DAG's publish_snapshot does (staging tables, then
    one transaction replacing the day's partitions), then its personas through the offline writer."""
    day = snapshot.snapshot_date
    statements = []
    for name, frame in (
        ("customer_features", snapshot.features),
        ("customer_segments", snapshot.segments),
        ("segment_profiles", snapshot.profiles),
        ("customer_value_predictions", snapshot.predictions),
    ):
        table_id = f"{project_id}.{dataset}.{name}"
        staging_id = f"{project_id}.{dataset}._staging_{name}_{day:%Y%m%d}"
        schema = client.get_table(table_id).schema
        _load(client, staging_id, schema, frame.assign(snapshot_date=day))
        columns = ", ".join(field.name for field in schema)
        statements += [
            f"DELETE FROM `{table_id}` WHERE snapshot_date = DATE '{day}';",
            f"INSERT INTO `{table_id}` ({columns}) SELECT {columns} FROM `{staging_id}`;",
            f"DROP TABLE `{staging_id}`;",
        ]
    client.query_and_wait("BEGIN TRANSACTION;\n" + "\n".join(statements) + "\nCOMMIT TRANSACTION;")
    if personas:
        write_personas(client, project_id, dataset, snapshot)


def write_personas(client: bigquery.Client, project_id: str, dataset: str, snapshot: Snapshot) -> None:
    draft = draft_personas(profiles_from_rows(snapshot.profiles.to_dict("records")), OfflineWriter())
    warehouse = PersonaWarehouse("unused", project_id, dataset)
    generated_at = dt.datetime.combine(snapshot.snapshot_date, dt.time(6), dt.UTC)
    parameters = merge_parameters(snapshot.snapshot_date, draft, generated_at)
    client.query_and_wait(
        sql_file("segment_personas.sql", warehouse),
        job_config=bigquery.QueryJobConfig(query_parameters=parameters),
    )
