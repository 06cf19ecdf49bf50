"""The OPTIONS(...) of `CREATE MODEL ... OPTIONS(model_type='kmeans', ...)`, read from the parsed statement.

Validation follows the BigQuery ML reference for k-means: every option is checked for its type and range,
and an unknown or mistyped option is an invalidQuery error that names it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlglot import exp

from local_bigquery.errors import InvalidQuery, Unsupported

MIN_CLUSTERS = 2
MAX_CLUSTERS = 100
# BigQuery ML searches NUM_CLUSTERS over this range when NUM_TRIALS is given without a search space.
DEFAULT_NUM_CLUSTERS_SPACE = (2, 10)
UNSUPPORTED_OPTIONS = (
    "model_registry",
    "vertex_ai_model_id",
    "vertex_ai_model_version_aliases",
    "kms_key_name",
)


@dataclass(frozen=True)
class HparamRange:
    """`HPARAM_RANGE(min, max)`: every integer in [min, max]."""

    low: int
    high: int

    def candidates(self) -> tuple[int, ...]:
        return tuple(range(self.low, self.high + 1))

    def sql(self) -> str:
        return f"HPARAM_RANGE({self.low}, {self.high})"


@dataclass(frozen=True)
class HparamCandidates:
    """`HPARAM_CANDIDATES([a, b, ...])`."""

    values: tuple[int, ...]

    def candidates(self) -> tuple[int, ...]:
        return tuple(sorted(set(self.values)))

    def sql(self) -> str:
        return f"HPARAM_CANDIDATES([{', '.join(map(str, self.values))}])"


NumClustersSpace = HparamRange | HparamCandidates


def _upper(value):
    return value.upper() if isinstance(value, str) else value


def _as_tuple(value):
    """HPARAM_TUNING_OBJECTIVES is accepted as one string or an array of strings."""
    if isinstance(value, str):
        value = [value]
    return tuple(_upper(item) for item in value) if isinstance(value, list) else value


def _label_pairs(value):
    """LABELS=[('key', 'value'), ...], keys and values as BigQuery allows them."""
    if not isinstance(value, list) or not all(isinstance(p, tuple) and len(p) == 2 for p in value):
        raise ValueError("expected an array of ('key', 'value') pairs")
    for key, label in value:
        if not isinstance(key, str) or not _LABEL_KEY.fullmatch(key):
            raise ValueError(
                f"label key {key!r} must be 1-63 lowercase letters, digits, _ or -, starting with a letter"
            )
        if not isinstance(label, str) or not _LABEL_VALUE.fullmatch(label):
            raise ValueError(f"label value {label!r} must be up to 63 lowercase letters, digits, _ or -")
    return tuple(value)


UpperLiteral = BeforeValidator(_upper)
_LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")


class KMeansOptions(BaseModel):
    """Validated k-means training options; field names are the SQL option names in lower case."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, arbitrary_types_allowed=True)

    model_type: Annotated[Literal["KMEANS"], UpperLiteral]
    num_clusters: int | HparamRange | HparamCandidates | None = None
    kmeans_init_method: Annotated[Literal["RANDOM", "KMEANS++", "CUSTOM"], UpperLiteral] = "RANDOM"
    kmeans_init_col: str | None = None
    distance_type: Annotated[Literal["EUCLIDEAN", "COSINE"], UpperLiteral] = "EUCLIDEAN"
    standardize_features: bool = True
    max_iterations: int = Field(20, ge=1, le=500)
    early_stop: bool = True
    min_rel_progress: float = Field(0.01, ge=0.0, le=1.0)
    warm_start: bool = False
    num_trials: int | None = Field(None, ge=1, le=100)
    max_parallel_trials: int = Field(1, ge=1, le=5)
    hparam_tuning_algorithm: Annotated[
        Literal["VIZIER_DEFAULT", "RANDOM_SEARCH", "GRID_SEARCH"], UpperLiteral
    ] = "VIZIER_DEFAULT"
    hparam_tuning_objectives: Annotated[
        tuple[Literal["DAVIES_BOULDIN_INDEX"], ...], BeforeValidator(_as_tuple)
    ] = ("DAVIES_BOULDIN_INDEX",)

    @field_validator("num_clusters", mode="before")
    @classmethod
    def _num_clusters_in_range(cls, value):
        if value is None or isinstance(value, HparamRange | HparamCandidates):
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(
                "expected an INT64, HPARAM_RANGE(min, max) or HPARAM_CANDIDATES([...]), "
                f"got {type(value).__name__}"
            )
        _check_cluster_count(value)
        return value

    @model_validator(mode="after")
    def _consistent(self):
        if self.kmeans_init_method == "CUSTOM" and not self.kmeans_init_col:
            raise ValueError("KMEANS_INIT_METHOD='CUSTOM' requires KMEANS_INIT_COL")
        if self.kmeans_init_col and self.kmeans_init_method != "CUSTOM":
            raise ValueError("KMEANS_INIT_COL is only allowed with KMEANS_INIT_METHOD='CUSTOM'")
        tuned_space = isinstance(self.num_clusters, HparamRange | HparamCandidates)
        if tuned_space and self.num_trials is None:
            raise ValueError(f"NUM_CLUSTERS={self.num_clusters.sql()} requires NUM_TRIALS")
        if self.num_trials is not None and isinstance(self.num_clusters, int):
            raise ValueError(
                "NUM_TRIALS needs a hyperparameter search space, but NUM_CLUSTERS is fixed; "
                "use HPARAM_RANGE or HPARAM_CANDIDATES"
            )
        if self.warm_start and self.num_trials is not None:
            raise ValueError("WARM_START cannot be combined with hyperparameter tuning (NUM_TRIALS)")
        if self.kmeans_init_method == "CUSTOM" and self.num_trials is not None:
            raise ValueError("KMEANS_INIT_METHOD='CUSTOM' fixes NUM_CLUSTERS and cannot be tuned")
        return self

    @property
    def is_tuned(self) -> bool:
        return self.num_trials is not None

    def num_clusters_space(self) -> NumClustersSpace:
        if isinstance(self.num_clusters, HparamRange | HparamCandidates):
            return self.num_clusters
        return HparamRange(*DEFAULT_NUM_CLUSTERS_SPACE)


class ModelMetadata(BaseModel):
    """What `ALTER MODEL ... SET OPTIONS(...)` may set: the model's descriptive metadata. The k-means CREATE
    MODEL statement documents none of these options; ALTER MODEL documents them
    (https://cloud.google.com/bigquery/docs/reference/standard-sql/data-definition-language#alter_model_set_options_statement).
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    description: str | None = None
    friendly_name: str | None = None
    labels: Annotated[tuple[tuple[str, str], ...], BeforeValidator(_label_pairs)] | None = None


# Documented for ALTER MODEL, not for the k-means CREATE MODEL statement
# (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-kmeans).
METADATA_OPTIONS = frozenset(ModelMetadata.model_fields)


def _check_cluster_count(value: int) -> None:
    if not MIN_CLUSTERS <= value <= MAX_CLUSTERS:
        raise ValueError(f"must be between {MIN_CLUSTERS} and {MAX_CLUSTERS}, got {value}")


def options_from_create(create: exp.Create) -> KMeansOptions:
    """Read and validate the OPTIONS of a CREATE MODEL statement; raises InvalidQuery naming the option."""
    values = _literal_options(create.args.get("properties"))
    if "model_type" not in values:
        raise InvalidQuery("CREATE MODEL requires OPTIONS(model_type=...)")
    model_type = values["model_type"]
    if not isinstance(model_type, str) or model_type.upper() != "KMEANS":
        raise Unsupported(f"model_type={model_type!r} (only 'kmeans' is implemented)")
    for name in UNSUPPORTED_OPTIONS:
        if name in values:
            raise Unsupported(f"CREATE MODEL option {name.upper()}")
    for name in sorted(METADATA_OPTIONS & values.keys()):
        raise InvalidQuery(
            f"Unknown option {name.upper()} for model_type KMEANS; set it after training with "
            "ALTER MODEL ... SET OPTIONS"
        )
    try:
        return KMeansOptions(**values)
    except ValidationError as error:
        raise InvalidQuery(_describe(error.errors()[0])) from None


def metadata_from_alter(properties: exp.Properties) -> ModelMetadata:
    """Read and validate the OPTIONS of ALTER MODEL ... SET OPTIONS; raises InvalidQuery naming the option."""
    values = _literal_options(properties)
    try:
        return ModelMetadata(**values)
    except ValidationError as error:
        detail = error.errors()[0]
        name = str(detail["loc"][0]).upper() if detail["loc"] else "?"
        if detail["type"] == "extra_forbidden":
            raise InvalidQuery(
                f"ALTER MODEL SET OPTIONS does not take option {name}; it takes "
                f"{', '.join(sorted(n.upper() for n in METADATA_OPTIONS))}"
            ) from None
        message = detail["msg"].removeprefix("Value error, ")
        raise InvalidQuery(f"Invalid value for option {name}: {message}") from None


def _describe(error: dict) -> str:
    if not error["loc"]:
        return f"Invalid CREATE MODEL options: {error['msg'].removeprefix('Value error, ')}"
    name = str(error["loc"][0])
    if error["type"] == "extra_forbidden":
        close = difflib.get_close_matches(name, KMeansOptions.model_fields, n=1)
        hint = f"; did you mean {close[0].upper()}?" if close else ""
        return f"Unknown option {name.upper()} for model_type KMEANS{hint}"
    message = error["msg"].removeprefix("Value error, ")
    return f"Invalid value for option {name.upper()}: {message}"


def _literal_options(properties: exp.Properties | None) -> dict[str, object]:
    options: dict[str, object] = {}
    for prop in properties.expressions if properties else ():
        name = prop.name.lower()
        if name in options:
            raise InvalidQuery(f"Option {name.upper()} is specified more than once")
        try:
            options[name] = literal_value(prop.args.get("value"))
        except ValueError as error:
            raise InvalidQuery(f"Invalid value for option {name.upper()}: {error}") from None
    return options


def literal_value(node: exp.Expression):
    """A constant option value as Python: str, int, float, bool, None, list, or an HPARAM_* search space."""
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else _number(node.this)
    if isinstance(node, exp.Boolean):
        return node.this
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return -_number(node.this.this)
    if isinstance(node, exp.Array):
        return [literal_value(item) for item in node.expressions]
    if isinstance(node, exp.Tuple):
        return tuple(literal_value(item) for item in node.expressions)
    if isinstance(node, exp.Anonymous) and node.name.upper() in _SEARCH_SPACES:
        return _SEARCH_SPACES[node.name.upper()]([literal_value(arg) for arg in node.expressions])
    raise ValueError(f"expected a constant, got {node.sql(dialect='bigquery')}")


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _cluster_counts(values: list, function: str) -> tuple[int, ...]:
    if not values or any(isinstance(v, bool) or not isinstance(v, int) for v in values):
        raise ValueError(f"{function} takes INT64 values")
    for value in values:
        _check_cluster_count(value)
    return tuple(values)


def _hparam_range(args: list) -> HparamRange:
    if len(args) != 2:
        raise ValueError("HPARAM_RANGE takes exactly two arguments (min, max)")
    low, high = _cluster_counts(args, "HPARAM_RANGE")
    if low >= high:
        raise ValueError(f"HPARAM_RANGE({low}, {high}) needs min < max")
    return HparamRange(low, high)


def _hparam_candidates(args: list) -> HparamCandidates:
    if len(args) != 1 or not isinstance(args[0], list):
        raise ValueError("HPARAM_CANDIDATES takes one array argument")
    return HparamCandidates(_cluster_counts(args[0], "HPARAM_CANDIDATES"))


_SEARCH_SPACES = {"HPARAM_RANGE": _hparam_range, "HPARAM_CANDIDATES": _hparam_candidates}
