"""BigQuery ML linear regression (`model_type='LINEAR_REG'`): options, training and the stored model.

Semantics follow the BigQuery ML reference:

- CREATE MODEL for generalized linear models, its options and their defaults:
  https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-glm
- automatic preprocessing (numeric columns standardized, NULL imputed with the training mean; STRING, BOOL,
  DATE, DATETIME and TIME one-hot encoded; TIMESTAMP as a number):
  https://cloud.google.com/bigquery/docs/auto-preprocessing
- the evaluation split of DATA_SPLIT_METHOD (AUTO_SPLIT: no split below 500 rows, 20 % up to 50,000 rows,
  10,000 rows above), described on the CREATE MODEL page above.

Training minimises the sum of squared errors plus `L2_REG * ||w||^2` (and `L1_REG * ||w||_1`) over the
standardized features, the intercept unpenalized. Without L1 the optimum is solved exactly (what
NORMAL_EQUATION computes, and what BATCH_GRADIENT_DESCENT converges to): the centred least-squares problem,
minimum-norm when one-hot columns make it singular, as scikit-learn's LinearRegression / Ridge solve it.
With L1 it is scikit-learn's ElasticNet with the penalties rescaled to its per-row objective.
"""

from __future__ import annotations

import difflib
import io
import json
import time
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from sqlglot import exp

from local_bigquery.bqml.features import CategoricalFeature, FeatureTransform, sql_type
from local_bigquery.bqml.options import _label_pairs, _literal_options, _upper
from local_bigquery.errors import InvalidQuery, Unsupported

FORMAT_VERSION = 1
MODEL_TYPE_REST = "LINEAR_REGRESSION"
LABEL_TYPES = frozenset({"INT64", "FLOAT64", "NUMERIC", "BIGNUMERIC"})
# AUTO_SPLIT: below this many rows everything trains; up to AUTO_SPLIT_LARGE rows 20 % is held out for
# evaluation, above it AUTO_SPLIT_LARGE_EVAL_ROWS rows are.
AUTO_SPLIT_MIN_ROWS = 500
AUTO_SPLIT_LARGE = 50_000
AUTO_SPLIT_LARGE_EVAL_ROWS = 10_000
# AUTO_STRATEGY solves the normal equation below this many (one-hot expanded) features, without L1.
NORMAL_EQUATION_MAX_FEATURES = 10_000
UNSUPPORTED_OPTIONS = {
    "calculate_p_values": "CALCULATE_P_VALUES",
    "enable_global_explain": "ENABLE_GLOBAL_EXPLAIN",
    "warm_start": "WARM_START",
}

UpperLiteral = BeforeValidator(_upper)


def _label_columns(value):
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError("expected an ARRAY<STRING> of label column names")


class LinearRegOptions(BaseModel):
    """Validated options of a LINEAR_REG model; field names are the SQL option names in lower case."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    model_type: Annotated[Literal["LINEAR_REG"], UpperLiteral]
    input_label_cols: Annotated[tuple[str, ...], BeforeValidator(_label_columns)] = ("label",)
    optimize_strategy: Annotated[
        Literal["AUTO_STRATEGY", "BATCH_GRADIENT_DESCENT", "NORMAL_EQUATION"], UpperLiteral
    ] = "AUTO_STRATEGY"
    l1_reg: float = Field(0.0, ge=0.0)
    l2_reg: float = Field(0.0, ge=0.0)
    max_iterations: int = Field(20, ge=1)
    learn_rate_strategy: Annotated[Literal["LINE_SEARCH", "CONSTANT"], UpperLiteral] = "LINE_SEARCH"
    learn_rate: float | None = Field(None, gt=0.0)
    ls_init_learn_rate: float | None = Field(None, gt=0.0)
    early_stop: bool = True
    min_rel_progress: float = Field(0.01, ge=0.0, le=1.0)
    data_split_method: Annotated[
        Literal["AUTO_SPLIT", "RANDOM", "CUSTOM", "SEQ", "NO_SPLIT"], UpperLiteral
    ] = "AUTO_SPLIT"
    data_split_eval_fraction: float | None = Field(None, gt=0.0, lt=1.0)
    data_split_col: str | None = None
    fit_intercept: bool = True
    category_encoding_method: Annotated[Literal["ONE_HOT_ENCODING", "DUMMY_ENCODING"], UpperLiteral] = (
        "ONE_HOT_ENCODING"
    )
    description: str | None = None
    friendly_name: str | None = None
    labels: Annotated[tuple[tuple[str, str], ...], BeforeValidator(_label_pairs)] = ()

    @model_validator(mode="before")
    @classmethod
    def _ints_are_floats(cls, values):
        """FLOAT64 options accept integer literals (L2_REG = 1), as GoogleSQL coerces them."""
        floats = ("l1_reg", "l2_reg", "learn_rate", "ls_init_learn_rate", "min_rel_progress")
        floats += ("data_split_eval_fraction",)
        return {
            name: float(value) if name in floats and type(value) is int else value
            for name, value in values.items()
        }

    @model_validator(mode="after")
    def _consistent(self):
        if len(self.input_label_cols) != 1:
            raise ValueError("INPUT_LABEL_COLS of a LINEAR_REG model must name exactly one column")
        if self.l1_reg > 0 and self.optimize_strategy == "NORMAL_EQUATION":
            raise ValueError("L1_REG cannot be used with OPTIMIZE_STRATEGY='NORMAL_EQUATION'")
        needs_column = self.data_split_method in ("CUSTOM", "SEQ")
        if needs_column and not self.data_split_col:
            raise ValueError(f"DATA_SPLIT_METHOD='{self.data_split_method}' requires DATA_SPLIT_COL")
        if self.data_split_col and not needs_column:
            raise ValueError("DATA_SPLIT_COL is only allowed with DATA_SPLIT_METHOD 'CUSTOM' or 'SEQ'")
        if self.data_split_eval_fraction is not None and self.data_split_method not in ("RANDOM", "SEQ"):
            raise ValueError(
                "DATA_SPLIT_EVAL_FRACTION is only allowed with DATA_SPLIT_METHOD 'RANDOM' or 'SEQ'"
            )
        return self

    @property
    def label(self) -> str:
        return self.input_label_cols[0]

    @property
    def eval_fraction(self) -> float:
        return 0.2 if self.data_split_eval_fraction is None else self.data_split_eval_fraction


def is_linear_reg(create: exp.Create) -> bool:
    """Whether a CREATE MODEL statement asks for model_type='LINEAR_REG'."""
    model_type = _literal_options(create.args.get("properties")).get("model_type")
    return isinstance(model_type, str) and model_type.upper() == "LINEAR_REG"


def options_from_create(create: exp.Create) -> LinearRegOptions:
    values = _literal_options(create.args.get("properties"))
    for name, option in UNSUPPORTED_OPTIONS.items():
        if values.get(name):
            raise Unsupported(f"CREATE MODEL option {option}=TRUE for LINEAR_REG models")
    for name, value in values.items():
        if not isinstance(value, str | int | float | bool | list | tuple | type(None)):
            raise Unsupported(f"hyperparameter tuning of {name.upper()} for LINEAR_REG models")
    values = {name: value for name, value in values.items() if name not in UNSUPPORTED_OPTIONS}
    try:
        return LinearRegOptions(**values)
    except ValidationError as error:
        raise InvalidQuery(_describe(error.errors()[0])) from None


def _describe(error: dict) -> str:
    if not error["loc"]:
        return f"Invalid CREATE MODEL options: {error['msg'].removeprefix('Value error, ')}"
    name = str(error["loc"][0])
    if error["type"] == "extra_forbidden":
        close = difflib.get_close_matches(name, LinearRegOptions.model_fields, n=1)
        hint = f"; did you mean {close[0].upper()}?" if close else ""
        return f"Unknown option {name.upper()} for model_type LINEAR_REG{hint}"
    return f"Invalid value for option {name.upper()}: {error['msg'].removeprefix('Value error, ')}"


@dataclass
class RegressionMetrics:
    mean_absolute_error: float | None
    mean_squared_error: float | None
    mean_squared_log_error: float | None
    median_absolute_error: float | None
    r2_score: float | None
    explained_variance: float | None


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> RegressionMetrics:
    """ML.EVALUATE's regression metrics; mean_squared_log_error is NULL when a value is below -1."""
    if actual.size == 0:
        return RegressionMetrics(None, None, None, None, None, None)
    error = actual - predicted
    variance = float(np.var(actual))
    logs_defined = bool(np.all(actual > -1) and np.all(predicted > -1))
    return RegressionMetrics(
        mean_absolute_error=float(np.mean(np.abs(error))),
        mean_squared_error=float(np.mean(error**2)),
        mean_squared_log_error=float(np.mean((np.log1p(actual) - np.log1p(predicted)) ** 2))
        if logs_defined
        else None,
        median_absolute_error=float(np.median(np.abs(error))),
        r2_score=1 - float(np.mean(error**2)) / variance if variance > 0 else None,
        explained_variance=1 - float(np.var(error)) / variance if variance > 0 else None,
    )


@dataclass
class LinearRegModel:
    transform: FeatureTransform
    label: str
    label_type: str
    weights: np.ndarray  # one per column of the design matrix, standardized feature space
    intercept: float
    dropped: tuple[int, ...]  # design-matrix rows DUMMY_ENCODING leaves out (weight 0)
    training_options: dict
    training_metrics: RegressionMetrics
    evaluation_metrics: RegressionMetrics | None
    training_loss: float
    eval_loss: float | None
    duration_ms: int
    start_time_ms: int

    @property
    def predicted_column(self) -> str:
        return f"predicted_{self.label}"

    def predict(self, table: pa.Table) -> np.ndarray:
        matrix = self.transform.transform(table)
        return self.weights @ matrix + self.intercept

    def labels_of(self, table: pa.Table) -> np.ndarray:
        lookup = {name.lower(): name for name in table.column_names}
        name = lookup.get(self.label.lower())
        if name is None:
            raise InvalidQuery(f"The input data has no column {self.label}, the model's label")
        return _label_values(self.label, table.column(name))

    def to_bytes(self) -> bytes:
        meta = {
            "format_version": FORMAT_VERSION,
            "transform": self.transform.to_dict(),
            "label": self.label,
            "label_type": self.label_type,
            "intercept": self.intercept,
            "dropped": list(self.dropped),
            "training_options": self.training_options,
            "training_metrics": vars(self.training_metrics),
            "evaluation_metrics": None if self.evaluation_metrics is None else vars(self.evaluation_metrics),
            "training_loss": self.training_loss,
            "eval_loss": self.eval_loss,
            "duration_ms": self.duration_ms,
            "start_time_ms": self.start_time_ms,
        }
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.array(json.dumps(meta)), weights=self.weights)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, payload: bytes) -> LinearRegModel:
        with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
            meta = json.loads(str(archive["meta"]))
            weights = np.array(archive["weights"])
        if meta.pop("format_version") != FORMAT_VERSION:
            raise InvalidQuery("Stored LINEAR_REG model has an unknown format version")
        evaluation = meta.pop("evaluation_metrics")
        return cls(
            transform=FeatureTransform.from_dict(meta.pop("transform")),
            weights=weights,
            dropped=tuple(meta.pop("dropped")),
            training_metrics=RegressionMetrics(**meta.pop("training_metrics")),
            evaluation_metrics=None if evaluation is None else RegressionMetrics(**evaluation),
            **meta,
        )


def train(table: pa.Table, options: LinearRegOptions) -> LinearRegModel:
    """Train on the rows of the CREATE MODEL query: every column but the label (and split column) is a feature."""
    started_ms = time.time_ns() // 1_000_000
    _check_columns(table)
    label_name = _column_name(table, options.label, "INPUT_LABEL_COLS column")
    label_type = sql_type(table.column(label_name).type)
    if label_type not in LABEL_TYPES:
        raise InvalidQuery(
            f"The label column {label_name} of a LINEAR_REG model must be numeric, not {label_type}"
        )
    labels = _label_values(label_name, table.column(label_name))
    is_eval = _evaluation_rows(table, options)
    features = table.drop_columns(
        [label_name]
        + ([_column_name(table, options.data_split_col, "DATA_SPLIT_COL")] if options.data_split_col else [])
    )
    training = features.filter(pa.array(~is_eval))
    if training.num_rows == 0:
        raise InvalidQuery("The training query returned no rows for training; a LINEAR_REG model needs data")
    transform = FeatureTransform.fit(training, standardize=True)
    dropped = _dummy_dropped(transform) if options.category_encoding_method == "DUMMY_ENCODING" else ()
    strategy = _strategy(options, transform.dimensions)
    matrix = transform.transform(training)
    weights, intercept = _solve(matrix, labels[~is_eval], options, dropped)
    model = LinearRegModel(
        transform=transform,
        label=label_name,
        label_type=label_type,
        weights=weights,
        intercept=intercept,
        dropped=dropped,
        training_options={},
        training_metrics=RegressionMetrics(None, None, None, None, None, None),
        evaluation_metrics=None,
        training_loss=0.0,
        eval_loss=None,
        duration_ms=0,
        start_time_ms=started_ms,
    )
    fitted = weights @ matrix + intercept
    model.training_metrics = regression_metrics(labels[~is_eval], fitted)
    model.training_loss = model.training_metrics.mean_squared_error
    if is_eval.any():
        held_out = model.predict(features.filter(pa.array(is_eval)))
        model.evaluation_metrics = regression_metrics(labels[is_eval], held_out)
        model.eval_loss = model.evaluation_metrics.mean_squared_error
    model.training_options = _rest_training_options(options, strategy)
    model.duration_ms = time.time_ns() // 1_000_000 - started_ms
    return model


def _check_columns(table: pa.Table) -> None:
    if table.num_rows == 0:
        raise InvalidQuery("The training query returned no rows; a LINEAR_REG model needs training data")
    seen: set[str] = set()
    for name in table.column_names:
        if name.lower() in seen:
            raise InvalidQuery(f"Duplicate column name {name} in the training query")
        seen.add(name.lower())


def _column_name(table: pa.Table, wanted: str, role: str) -> str:
    lookup = {name.lower(): name for name in table.column_names}
    if wanted.lower() not in lookup:
        raise InvalidQuery(f"The {role} {wanted} is not a column of the training query")
    return lookup[wanted.lower()]


def _label_values(name: str, column: pa.ChunkedArray) -> np.ndarray:
    if column.null_count:
        raise InvalidQuery(f"The label column {name} has {column.null_count} NULL values; filter them out")
    return pc.cast(column, pa.float64()).to_numpy()


def _evaluation_rows(table: pa.Table, options: LinearRegOptions) -> np.ndarray:
    """Which rows DATA_SPLIT_METHOD holds out for evaluation. Random splits are seeded, so reruns agree."""
    rows = table.num_rows
    method = options.data_split_method
    held_out = np.zeros(rows, dtype=bool)
    if method == "NO_SPLIT" or (method == "AUTO_SPLIT" and rows < AUTO_SPLIT_MIN_ROWS):
        return held_out
    if method == "CUSTOM":
        column = table.column(_column_name(table, options.data_split_col, "DATA_SPLIT_COL"))
        if sql_type(column.type) != "BOOL":
            raise InvalidQuery(f"DATA_SPLIT_COL {options.data_split_col} must be a BOOL column for CUSTOM")
        return column.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
    if method == "SEQ":
        column = table.column(_column_name(table, options.data_split_col, "DATA_SPLIT_COL"))
        # Sorted ascending, the last rows are held out; NULLs sort first, so they train.
        order = pc.sort_indices(column, null_placement="at_start").to_numpy()
        held_out[order[rows - round(rows * options.eval_fraction) :]] = True
        return held_out
    if method == "AUTO_SPLIT":
        count = AUTO_SPLIT_LARGE_EVAL_ROWS if rows > AUTO_SPLIT_LARGE else round(rows * 0.2)
    else:
        count = round(rows * options.eval_fraction)
    held_out[np.random.default_rng(0).permutation(rows)[:count]] = True
    return held_out


def _dummy_dropped(transform: FeatureTransform) -> tuple[int, ...]:
    """DUMMY_ENCODING leaves out the first category of every categorical feature."""
    return tuple(
        rows.start for feature, rows in transform.blocks() if isinstance(feature, CategoricalFeature)
    )


def _strategy(options: LinearRegOptions, dimensions: int) -> str:
    if options.optimize_strategy != "AUTO_STRATEGY":
        return options.optimize_strategy
    if options.l1_reg == 0 and dimensions < NORMAL_EQUATION_MAX_FEATURES:
        return "NORMAL_EQUATION"
    return "BATCH_GRADIENT_DESCENT"


def _solve(
    matrix: np.ndarray, labels: np.ndarray, options: LinearRegOptions, dropped: tuple[int, ...]
) -> tuple[np.ndarray, float]:
    """Weights over the (dimensions, rows) standardized matrix and the intercept, as documented above."""
    used = np.setdiff1d(np.arange(matrix.shape[0]), dropped)
    x = matrix[used]
    if options.fit_intercept:
        x_mean, y_mean = x.mean(axis=1), labels.mean()
    else:
        x_mean, y_mean = np.zeros(len(used)), 0.0
    centred = x - x_mean[:, None]
    target = labels - y_mean
    if options.l1_reg > 0:
        solved = _elastic_net(centred, target, options.l1_reg, options.l2_reg)
    elif options.l2_reg > 0:
        gram = centred @ centred.T + options.l2_reg * np.eye(len(used))
        solved = np.linalg.solve(gram, centred @ target)
    else:
        solved = np.linalg.lstsq(centred.T, target, rcond=None)[0]
    weights = np.zeros(matrix.shape[0])
    weights[used] = solved
    intercept = float(y_mean - solved @ x_mean) if options.fit_intercept else 0.0
    return weights, intercept


def _elastic_net(centred: np.ndarray, target: np.ndarray, l1: float, l2: float) -> np.ndarray:
    """SSE + l1 |w|_1 + l2 |w|^2 is scikit-learn's (1/2n) SSE + alpha (r |w|_1 + (1-r)/2 |w|^2) times 2n."""
    from sklearn.linear_model import ElasticNet

    rows = len(target)
    alpha = l1 / (2 * rows) + l2 / rows
    net = ElasticNet(
        alpha=alpha, l1_ratio=(l1 / (2 * rows)) / alpha, fit_intercept=False, max_iter=10_000, tol=1e-10
    )
    return net.fit(centred.T, target).coef_


def _rest_training_options(options: LinearRegOptions, strategy: str) -> dict:
    """REST TrainingOptions; INT64 values are JSON strings, as the BigQuery API sends them."""
    rest = {
        "optimizationStrategy": strategy,
        "l1Regularization": options.l1_reg,
        "l2Regularization": options.l2_reg,
        "maxIterations": str(options.max_iterations),
        "learnRateStrategy": options.learn_rate_strategy,
        "earlyStop": options.early_stop,
        "minRelativeProgress": options.min_rel_progress,
        "dataSplitMethod": options.data_split_method,
        "fitIntercept": options.fit_intercept,
        "categoryEncodingMethod": options.category_encoding_method,
        "inputLabelColumns": list(options.input_label_cols),
        "lossType": "MEAN_SQUARED_LOSS",
    }
    if options.data_split_col:
        rest["dataSplitColumn"] = options.data_split_col
    if options.data_split_eval_fraction is not None:
        rest["dataSplitEvalFraction"] = options.data_split_eval_fraction
    return rest
