"""The pipeline's settings: one validated model behind the DAG's params.

Everything that differs between deployments is a DAG param, so the same DAG file runs everywhere. A
deployment sets its defaults with environment variables (`ENVIRONMENT_VARIABLES`); a run may override
any setting in its conf. The params' JSON schemas are generated from `PipelineConfig`, so the trigger
form refuses exactly what the model refuses, and values reach SQL only after passing both.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from airflow.sdk import Param
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from segmentation.gemini_settings import GEMINI_VARIABLE, GeminiOptions
from segmentation.sources import DERIVED_WHEN_UNMAPPED
from segmentation.sources import FIELDS as TRANSACTION_FIELDS

# BigQuery naming rules: project ids are 6-30 lowercase letters, digits and hyphens starting with a
# letter; dataset ids are letters, digits and underscores. An empty project means the connection's.
PROJECT_ID_PATTERN = r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$"
OPTIONAL_PROJECT_ID_PATTERN = r"^([a-z][a-z0-9-]{4,28}[a-z0-9])?$"
DATASET_PATTERN = r"^[A-Za-z0-9_]{1,1024}$"
# Multi-regions (US, EU) and regions (us-central1, europe-west4, northamerica-northeast1).
LOCATION_PATTERN = r"^[A-Za-z]+(-[a-z]+[0-9]+)?$"
CONNECTION_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,250}$"
# Department and category names become SQL string literals and column names: no quotes, no backslashes.
LABEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 &,.+/-]{0,63}$"

Label = Annotated[str, Field(pattern=LABEL_PATTERN)]
# Each pair adds a spend column per window (3) to customer_features and to segment_profiles. BigQuery allows
# 10,000 columns per table (https://cloud.google.com/bigquery/quotas#table_limits); 300 pairs (900 columns)
# keep both tables far below it, and k-means on more spend columns than that only dilutes its distances.
MAX_SPEND_CATEGORIES = 300
# [project.]dataset.table of a transactions source; without a project, the connection's.
TABLE_ID_PATTERN = r"^([a-z][a-z0-9-]{4,28}[a-z0-9]\.)?[A-Za-z0-9_]{1,1024}\.[A-Za-z0-9_-]{1,1024}$"
ColumnName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,299}$")]
TransactionField = Literal[tuple(TRANSACTION_FIELDS)]
ClusterCount = Annotated[int, Field(ge=2, le=100)]

# thelook_ecommerce's department and category pairs: the default vocabulary of the extended features.
THELOOK_SPEND_CATEGORIES: tuple[tuple[str, str], ...] = tuple(
    (department, category)
    for department, categories in (
        (
            "Men",
            (
                "Accessories", "Active", "Fashion Hoodies & Sweatshirts", "Jeans", "Outerwear & Coats",
                "Pants", "Shorts", "Sleep & Lounge", "Socks", "Suits & Sport Coats", "Sweaters", "Swim",
                "Tops & Tees", "Underwear",
            ),
        ),
        (
            "Women",
            (
                "Accessories", "Active", "Blazers & Jackets", "Clothing Sets", "Dresses",
                "Fashion Hoodies & Sweatshirts", "Intimates", "Jeans", "Jumpsuits & Rompers", "Leggings",
                "Maternity", "Outerwear & Coats", "Pants & Capris", "Plus", "Shorts", "Skirts",
                "Sleep & Lounge", "Socks & Hosiery", "Suits", "Sweaters", "Swim", "Tops & Tees",
            ),
        ),
    )
    for category in categories
)  # fmt: skip

# Settings a deployment may default from its environment, with the variables consulted in order.
# Cloud Composer sets GCP_PROJECT and most Google tooling sets GOOGLE_CLOUD_PROJECT.
ENVIRONMENT_VARIABLES: dict[str, tuple[str, ...]] = {
    "project_id": ("SEGMENTATION_PROJECT_ID", "GOOGLE_CLOUD_PROJECT", "GCP_PROJECT"),
    "dataset": ("SEGMENTATION_DATASET",),
    "location": ("SEGMENTATION_LOCATION",),
    "gcp_conn_id": ("SEGMENTATION_GCP_CONN_ID",),
    "maximum_bytes_billed": ("SEGMENTATION_MAXIMUM_BYTES_BILLED",),
    "source_project": ("SEGMENTATION_SOURCE_PROJECT",),
    "source_dataset": ("SEGMENTATION_SOURCE_DATASET",),
    "report_destination": ("SEGMENTATION_REPORT_DESTINATION",),
}


# Local report destinations must lie inside this folder: the deployment's own destination unless set.
REPORT_ROOT_VARIABLE = "SEGMENTATION_REPORT_ROOT"
REPORT_DESTINATION_VARIABLE = "SEGMENTATION_REPORT_DESTINATION"
DEFAULT_REPORT_DESTINATION = ".local/reports"
GCS_SCHEME = "gs://"
# Cloud Composer names the environment's bucket in the reserved variable GCS_BUCKET
# (https://cloud.google.com/composer/docs/composer-3/set-environment-variables); reports default to its
# data/ folder, which outlives every worker, where a worker's local folder does not.
COMPOSER_BUCKET_VARIABLE = "GCS_BUCKET"
COMPOSER_REPORT_PREFIX = "data/reports"
# GCS bucket naming rules (https://cloud.google.com/storage/docs/buckets#naming), the dotted form included.
GCS_BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")


def _local_deployment_destination(environ: Mapping[str, str]) -> str:
    """The deployment's own destination when it is a local folder, else ''."""
    destination = environ.get(REPORT_DESTINATION_VARIABLE, "")
    return "" if destination.startswith(GCS_SCHEME) else destination


def report_root(environ: Mapping[str, str] = os.environ) -> Path:
    """The folder local reports must stay in: SEGMENTATION_REPORT_ROOT, else the deployment's destination."""
    root = (
        environ.get(REPORT_ROOT_VARIABLE)
        or _local_deployment_destination(environ)
        or DEFAULT_REPORT_DESTINATION
    )
    return Path(root).resolve()


def composer_report_destination(environ: Mapping[str, str] = os.environ) -> str | None:
    """gs://<the Composer environment's bucket>/data/reports, or None outside Cloud Composer."""
    bucket = environ.get(COMPOSER_BUCKET_VARIABLE, "").strip().removeprefix(GCS_SCHEME).strip("/")
    return f"{GCS_SCHEME}{bucket}/{COMPOSER_REPORT_PREFIX}" if bucket else None


def unkept_report_problem(destination: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """Why reports sent to `destination` would be lost, or None.

    A local folder lasts only where the deployment says so, by naming the folder (SEGMENTATION_REPORT_ROOT,
    or a local SEGMENTATION_REPORT_DESTINATION) as local runs do; on Composer, compose or Astro workers it
    is the container's disk, gone when the worker is replaced.
    """
    if destination.startswith(GCS_SCHEME):
        return None
    if environ.get(REPORT_ROOT_VARIABLE) or _local_deployment_destination(environ):
        return None
    return (
        f"report_destination {destination!r} is a folder on the worker, lost when the worker is replaced: "
        f"set {REPORT_DESTINATION_VARIABLE} to gs://bucket/prefix (on Cloud Composer the environment's "
        f"bucket, {COMPOSER_BUCKET_VARIABLE}, is the default), or {REPORT_ROOT_VARIABLE} to a folder that "
        "lasts"
    )


def report_destination_problem(destination: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """Why reports cannot go to `destination`, or None: a valid bucket, or a folder inside the report root."""
    if destination.startswith(GCS_SCHEME):
        bucket = destination.removeprefix(GCS_SCHEME).partition("/")[0]
        if not GCS_BUCKET_PATTERN.match(bucket):
            return f"report_destination {destination!r} names no valid GCS bucket ({bucket!r})"
        return None
    root, target = report_root(environ), Path(destination).resolve()
    if not target.is_relative_to(root):
        return (
            f"report_destination {destination!r} ({target}) is outside the report root {root}; "
            f"a local destination must be inside it (set by {REPORT_ROOT_VARIABLE})"
        )
    return None


class ConfigError(ValueError):
    """Settings that cannot run; the message names every offending setting and value."""


def column_slug(label: str) -> str:
    """A department or category name as it appears inside a column name: 'Tops & Tees' -> 'tops_tees'."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def _section(name: str) -> dict[str, Any]:
    """Groups a setting under `name` in the Airflow trigger form."""
    return {"section": name}


class PipelineConfig(BaseModel):
    """Every setting of one run, validated as a whole."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project_id: str = Field(
        "",
        pattern=OPTIONAL_PROJECT_ID_PATTERN,
        title="GCP project",
        description="Project holding the output dataset. Empty: the project of the Airflow connection.",
        # Nullable in the form: Airflow's trigger form sends an emptied text field as null.
        json_schema_extra={**_section("Warehouse"), "type": ["string", "null"]},
    )
    dataset: str = Field(
        "customer_segmentation",
        pattern=DATASET_PATTERN,
        title="Dataset",
        description="BigQuery dataset for the features, model, segments and profiles (created if missing).",
        json_schema_extra=_section("Warehouse"),
    )
    location: str = Field(
        "US",
        pattern=LOCATION_PATTERN,
        title="Location",
        description="Location of the dataset when it is created; it must match the source's location.",
        json_schema_extra=_section("Warehouse"),
    )
    gcp_conn_id: str = Field(
        "google_cloud_default",
        pattern=CONNECTION_ID_PATTERN,
        title="GCP connection",
        description="Airflow connection the BigQuery jobs run with (and are billed to).",
        json_schema_extra=_section("Warehouse"),
    )
    maximum_bytes_billed: int | None = Field(
        None,
        ge=1,
        title="Maximum bytes billed per job",
        description=(
            "Caps every BigQuery job of the run: BigQuery fails a query that would bill more, without "
            "charging it. Empty: the project's default."
        ),
        json_schema_extra=_section("Warehouse"),
    )
    source_project: str = Field(
        "bigquery-public-data",
        pattern=PROJECT_ID_PATTERN,
        title="Source project",
        description="Project of the thelook_ecommerce-shaped source tables (users, orders, order_items, products).",
        json_schema_extra=_section("Source"),
    )
    source_dataset: str = Field(
        "thelook_ecommerce",
        pattern=DATASET_PATTERN,
        title="Source dataset",
        description="Dataset of the source tables.",
        json_schema_extra=_section("Source"),
    )
    source_kind: Literal["thelook", "transactions"] = Field(
        "thelook",
        title="Source kind",
        description=(
            "thelook: the thelook_ecommerce tables in source_project.source_dataset. transactions: one table "
            "of order lines of your own (transactions_table), read through transactions_columns."
        ),
        json_schema_extra=_section("Source"),
    )
    transactions_table: str = Field(
        "",
        pattern=r"^$|" + TABLE_ID_PATTERN,
        title="Transactions table",
        description="[project.]dataset.table of order lines, for source_kind transactions.",
        # Nullable: Airflow's trigger form sends an emptied text field as null, never as "".
        json_schema_extra={**_section("Source"), "type": ["string", "null"]},
    )
    transactions_columns: dict[TransactionField, ColumnName | None] = Field(
        {},
        title="Transactions columns",
        description=(
            "The table's column for each field named differently: customer_id (INT64), order_id, ordered_at "
            "(TIMESTAMP, DATETIME or DATE), amount are required and default to their own names; quantity, "
            "is_cancelled, status, is_returned, category, country and line_id (each line's own id, checked for "
            "duplicates) are used when mapped. order_id null: "
            "the table has no order id, and a customer's lines on one UTC day are one order."
        ),
        # Optional in the form (it applies to source_kind transactions only); emptied, it means {}.
        json_schema_extra={**_section("Source"), "type": ["object", "null"]},
    )
    feature_set: Literal["base", "extended"] = Field(
        "base",
        title="Feature set",
        description=(
            "base: recency, frequency, monetary, average order value, tenure and return ratio. "
            "extended adds age, gender, country, traffic source and spend per department and category "
            "over the last 12, 24 and 36 months."
        ),
        json_schema_extra=_section("Features"),
    )
    log_transform_monetary: bool = Field(
        False,
        title="Log-transform monetary",
        description="Cluster on ln(1 + monetary) instead of monetary; tables keep original units.",
        json_schema_extra=_section("Features"),
    )
    clip_percentile: int = Field(
        99,
        ge=51,
        le=100,
        title="Clip features at percentile",
        description=(
            "The model clusters each numeric feature clipped to its (100 - p)th and pth percentiles over "
            "the snapshot, so that a few extreme customers cannot own a segment. 100 clips nothing "
            "(outlier segments allowed). Tables keep original units."
        ),
        json_schema_extra=_section("Features"),
    )
    spend_categories: list[tuple[Label, Label]] = Field(
        list(THELOOK_SPEND_CATEGORIES),
        min_length=1,
        max_length=MAX_SPEND_CATEGORIES,
        title="Spend categories",
        description=(
            "[department, category] pairs that get spend features in the extended feature set (unused by "
            "the base set). Empty: thelook_ecommerce's pairs."
        ),
        # Optional in the form: it applies to feature_set extended only.
        json_schema_extra={**_section("Features"), "type": ["array", "null"]},
    )
    num_clusters: ClusterCount | None = Field(
        5,
        title="Number of segments",
        description="k of the k-means model. Ignored when k_min and k_max are set.",
        json_schema_extra=_section("Model"),
    )
    k_min: ClusterCount | None = Field(
        None,
        title="Smallest k to try",
        description="With k_max: tune k over [k_min, k_max], keeping the lowest Davies-Bouldin index.",
        json_schema_extra=_section("Model"),
    )
    k_max: ClusterCount | None = Field(
        None,
        title="Largest k to try",
        description="With k_min: the upper end of the k range to tune over.",
        json_schema_extra=_section("Model"),
    )
    value_horizon_days: int = Field(
        90,
        ge=7,
        le=1095,
        title="Value horizon (days)",
        description=(
            "Predicted customer value is the spend expected in the next N days. The value model trains on "
            "features as of N days before the cut-off and is backtested on features as of 2N days before, so "
            "the source needs more than 2N days of orders."
        ),
        json_schema_extra=_section("Customer value"),
    )
    rebase_segments: bool = Field(
        False,
        title="Rebase segments",
        description=(
            "Start the segments afresh (k-means++) instead of continuing from the previous snapshot's "
            "centroids; ids of centroids that stay close to an old one are still kept."
        ),
        json_schema_extra=_section("Model"),
    )
    max_segment_shift: float = Field(
        1.0,
        gt=0,
        le=100,
        title="Largest centroid shift keeping an id",
        description=(
            "A centroid further than this from every previous centroid (Euclidean, in standardized units of "
            "the snapshot's features) gets a new segment id."
        ),
        json_schema_extra=_section("Model"),
    )
    max_quality_drift_pct: float = Field(
        10.0,
        ge=0,
        le=1000,
        title="Largest quality drift (%)",
        description=(
            "Rebase when the previous snapshot's Davies-Bouldin index is this many percent above the one of "
            "the last rebase it continues."
        ),
        json_schema_extra=_section("Model"),
    )
    drift_alert_size_change_pct: float = Field(
        20.0,
        ge=0,
        le=10000,
        title="Alert when a segment's size changes by more than (%)",
        description=(
            "After publishing, alert through the segmentation_alerts connection (the run does not fail) "
            "when a segment has this many percent more or fewer customers than in the previous snapshot."
        ),
        json_schema_extra=_section("Drift alerts"),
    )
    drift_alert_kept_pct: float = Field(
        90.0,
        ge=0,
        le=100,
        title="Alert when a segment keeps less than (%)",
        description=(
            "Alert when a segment keeps less than this many percent of its previous customers (those still "
            "in the base). A rebase and a new segment always alert."
        ),
        json_schema_extra=_section("Drift alerts"),
    )
    freshness_days: int = Field(
        3,
        ge=1,
        le=366,
        title="Freshness window (days)",
        description="The source must hold orders from the last N days before the run's data interval end.",
        json_schema_extra=_section("Quality gates"),
    )
    max_row_drop_pct: float = Field(
        50.0,
        ge=0,
        le=100,
        title="Largest customer drop (%)",
        description="Fail when the snapshot has this many percent fewer customers than the previous one.",
        json_schema_extra=_section("Quality gates"),
    )
    max_line_amount: float = Field(
        1_000_000.0,
        gt=0,
        le=1e15,
        title="Largest plausible line amount",
        description=(
            "An order line whose amount (thelook's sale_price) is above this, or not a finite number, fails "
            "the source values gate: a unit or decimal error upstream, not a sale, that would dominate "
            "monetary and the segments."
        ),
        json_schema_extra=_section("Quality gates"),
    )
    persona_backend: Literal["auto", "gemini", "offline"] | None = Field(
        None,
        title="Persona writer",
        description=(
            "gemini, offline (deterministic, no model) or auto (Gemini when the connection has credentials). "
            "Empty: the Airflow Variable segmentation_persona_backend, else auto."
        ),
        json_schema_extra={
            **_section("Personas"),
            # The trigger form's labels for the choices; without one the empty choice reads "null".
            "values_display": {
                "null": "deployment default (Variable segmentation_persona_backend, else auto)",
                "auto": "auto: Gemini when the connection has credentials, else offline",
                "gemini": "gemini",
                "offline": "offline: deterministic, no model",
            },
        },
    )
    gemini_conn_id: str | None = Field(
        None,
        pattern=CONNECTION_ID_PATTERN,
        title="Gemini connection",
        description="Airflow connection for Vertex AI Gemini. Empty: the GCP connection.",
        json_schema_extra=_section("Personas"),
    )
    # Validated as GeminiOptions (unknown keys and out-of-range values refused), offered to the trigger form
    # as a plain object.
    gemini: Annotated[GeminiOptions, WithJsonSchema({"type": "object"})] | None = Field(
        None,
        title="Gemini settings",
        description=(
            "Overrides of the Gemini settings (model, location, temperature, timeout_seconds, max_attempts, "
            f"...), merged over the Airflow Variable {GEMINI_VARIABLE}. The endpoint is not among them: "
            "only the deployment sets it. Empty or {}: the Variable's settings "
            "unchanged (model gemini-2.5-flash in us-central1 unless the Variable says otherwise), "
            'e.g. {"model": "gemini-2.5-pro"} to try another model on one run.'
        ),
        json_schema_extra=_section("Personas"),
    )
    persona_refresh_shift: float = Field(
        0.5,
        gt=0,
        le=100,
        title="Centroid shift that rewrites a persona",
        description=(
            "A segment keeps its previous persona until its centroid has moved further than this (Euclidean, "
            "in standardized units of the snapshot's features) from where it was on the snapshot the persona "
            "was written for; new segments always get a new one."
        ),
        json_schema_extra=_section("Personas"),
    )
    persona_refresh_size_pct: float = Field(
        20.0,
        ge=0,
        le=10_000,
        title="Size change that rewrites a persona (%)",
        description=(
            "A segment keeps its previous persona until its customer count has changed by more than this "
            "many percent since the snapshot the persona was written for."
        ),
        json_schema_extra=_section("Personas"),
    )
    report_destination: str = Field(
        DEFAULT_REPORT_DESTINATION,
        title="Report destination",
        description=(
            "Where each run's report goes, in <destination>/<snapshot date>/: gs://bucket/prefix, written "
            "with the GCP connection (on Cloud Composer the default is the environment bucket's "
            "data/reports), or a local folder (relative to the worker's working directory) inside the "
            "deployment's report root (SEGMENTATION_REPORT_ROOT, else the deployment's default destination), "
            "only where the deployment names one."
        ),
        json_schema_extra=_section("Report"),
    )

    @field_validator("project_id", "transactions_table", mode="before")
    @classmethod
    def _emptied_field_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("transactions_columns", "spend_categories", mode="before")
    @classmethod
    def _emptied_field_is_the_default(cls, value: Any, info: ValidationInfo) -> Any:
        return (
            cls.model_fields[info.field_name].get_default(call_default_factory=True)
            if value is None
            else value
        )

    @field_validator("report_destination")
    @classmethod
    def _confined_report_destination(cls, destination: str) -> str:
        destination = destination.strip() or DEFAULT_REPORT_DESTINATION
        if problem := report_destination_problem(destination):
            raise ValueError(problem)
        return destination

    @model_validator(mode="after")
    def _one_way_to_choose_k(self) -> PipelineConfig:
        if (self.k_min is None) != (self.k_max is None):
            raise ValueError("set both k_min and k_max to tune k over a range, or neither")
        if self.k_min is not None and self.k_min >= self.k_max:
            raise ValueError(f"k_min ({self.k_min}) must be smaller than k_max ({self.k_max})")
        if self.k_min is None and self.num_clusters is None:
            raise ValueError("set num_clusters, or k_min and k_max to tune k over a range")
        return self

    @model_validator(mode="after")
    def _distinct_spend_columns(self) -> PipelineConfig:
        seen: dict[str, tuple[str, str]] = {}
        for department, category in self.spend_categories:
            slug = f"{column_slug(department)}_{column_slug(category)}"
            if slug in seen:
                raise ValueError(
                    f"spend categories {list(seen[slug])} and {[department, category]} "
                    f"would share the column name suffix {slug!r}"
                )
            seen[slug] = (department, category)
        return self

    @model_validator(mode="after")
    def _transactions_source(self) -> PipelineConfig:
        if self.source_kind == "thelook":
            if self.transactions_table or self.transactions_columns:
                raise ValueError("transactions_table and transactions_columns need source_kind transactions")
            return self
        if not self.transactions_table:
            raise ValueError("source_kind transactions needs transactions_table ([project.]dataset.table)")
        unmapped = sorted(
            name
            for name, column in self.transactions_columns.items()
            if column is None and name not in DERIVED_WHEN_UNMAPPED
        )
        if unmapped:
            raise ValueError(
                f"transactions_columns: {', '.join(unmapped)} cannot be null; only "
                f"{', '.join(sorted(DERIVED_WHEN_UNMAPPED))} may be (an order is then a customer's day)"
            )
        if "status" in self.transactions_columns and {"is_cancelled", "is_returned"} & set(
            self.transactions_columns
        ):
            raise ValueError("transactions_columns: map status, or is_cancelled/is_returned, not both")
        if self.feature_set == "extended":
            raise ValueError(
                "feature_set extended needs thelook's users and products: use source_kind thelook"
            )
        return self

    @property
    def line_key(self) -> str | None:
        """The column naming each order line, which no other line may repeat: thelook's order_items.id, or
        the mapped line_id of a transactions source (None when none is mapped)."""
        if self.source_kind == "thelook":
            return "order_items.id"
        return self.transactions_columns.get("line_id")

    @property
    def k_range(self) -> tuple[int, int] | None:
        """The (smallest, largest) k to tune over, or None when k is fixed by num_clusters."""
        return None if self.k_min is None else (self.k_min, self.k_max)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> PipelineConfig:
        """The settings among a run's params, which may also hold task-level template variables."""
        try:
            return cls.model_validate({name: params[name] for name in cls.model_fields if name in params})
        except ValidationError as error:
            raise ConfigError(describe(error)) from None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> PipelineConfig:
        """The deployment's defaults: field defaults overridden by the environment variables set."""
        try:
            return cls.from_params(environment_defaults(environ))
        except ConfigError as error:
            variables = ", ".join(name for names in ENVIRONMENT_VARIABLES.values() for name in names)
            raise ConfigError(f"{error} (defaults taken from the environment: {variables})") from None


def environment_defaults(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The settings the environment provides, by the first non-empty variable of each."""
    found = {}
    for setting, variables in ENVIRONMENT_VARIABLES.items():
        value = next((environ[variable] for variable in variables if environ.get(variable)), None)
        if value is not None:
            found[setting] = value
    if "report_destination" not in found and (composer := composer_report_destination(environ)):
        found["report_destination"] = composer
    return found


def describe(error: ValidationError) -> str:
    """One line naming each invalid setting, what is wrong and the value given."""
    problems = []
    for issue in error.errors():
        setting = ".".join(str(part) for part in issue["loc"])
        if issue["type"] == "value_error":  # a rule across settings, which names them itself
            problems.append(issue["msg"].removeprefix("Value error, "))
        else:
            problems.append(f"{setting}: {issue['msg']} (got {issue['input']!r})")
    return "invalid pipeline settings: " + "; ".join(problems)


def unknown_settings(conf: Mapping[str, Any]) -> list[str]:
    """Keys of a run's conf that are no setting, typically a misspelt one that would be ignored."""
    return sorted(set(conf) - set(PipelineConfig.model_fields))


def dag_params(environ: Mapping[str, str] = os.environ) -> dict[str, Param]:
    """The DAG's params: the deployment's defaults, each with the JSON schema of its field."""
    defaults = PipelineConfig.from_environment(environ).model_dump(mode="json")
    properties = PipelineConfig.model_json_schema()["properties"]
    return {name: Param(defaults[name], **_param_schema(schema)) for name, schema in properties.items()}


def _param_schema(field_schema: dict[str, Any]) -> dict[str, Any]:
    """A field's JSON schema as Airflow's form expects it: optional values as a nullable `type`."""
    schema = {key: value for key, value in field_schema.items() if key != "default"}
    variants = schema.pop("anyOf", None)
    if variants is None:
        return schema
    (value,) = [variant for variant in variants if variant != {"type": "null"}]
    nullable = {**schema, **value, "type": [value["type"], "null"]}
    if "enum" in value:
        nullable["enum"] = [*value["enum"], None]
    return nullable


# The earliest logical date a run or backfill may have. Far back by default, so any date a source covers
# runs: Airflow silently runs no task at all for a logical date before the DAG's start date.
START_DATE_VARIABLE = "SEGMENTATION_START_DATE"
DEFAULT_START_DATE = date(1990, 1, 1)


def dag_start_date(environ: Mapping[str, str] = os.environ) -> datetime:
    """The DAG's start date: `SEGMENTATION_START_DATE` (YYYY-MM-DD), else 1990-01-01, at midnight UTC."""
    value = environ.get(START_DATE_VARIABLE)
    try:
        day = date.fromisoformat(value) if value else DEFAULT_START_DATE
    except ValueError:
        raise ConfigError(f"{START_DATE_VARIABLE}={value!r} is no date: use YYYY-MM-DD") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
