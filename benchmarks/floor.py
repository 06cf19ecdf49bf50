"""The floor of the pipeline benchmark: the DAG's BigQuery work done in-process with no server around it.

Each step's GoogleSQL is translated once, before anything is timed, with local_bigquery's own transforms
(the same DuckDB SQL the server runs) and executed directly on a DuckDB connection, one transaction per
step. The k-means model is scikit-learn's `KMeans(n_init=SEEDED_STARTS)` (as many starts as local_bigquery's
trainer keeps the best of) on the standardized feature matrix, the
customer value model scikit-learn's `Ridge` on the standardized features, and the ML.* table functions the
SQL reads are computed from them with numpy and handed to DuckDB as Arrow tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
from sklearn.cluster import KMeans
from sklearn.linear_model import Ridge
from sklearn.metrics import davies_bouldin_score
from sqlglot import exp

from local_bigquery import dialect
from local_bigquery.bqml import regression
from local_bigquery.bqml.model import SEEDED_STARTS
from local_bigquery.bqml.options import options_from_create
from local_bigquery.translate import (
    LOCAL_RELATION,
    NameResolver,
    TableRef,
    qualify_tables,
    schema_name,
    take_table_properties,
    to_duckdb,
)

NEAREST = pa.struct([("CENTROID_ID", pa.int64()), ("DISTANCE", pa.float64())])


@dataclass
class FittedModel:
    features: list[str]
    mean: np.ndarray
    scale: np.ndarray
    kmeans: KMeans
    davies_bouldin_index: float
    mean_squared_distance: float

    def standardized(self, table: pa.Table) -> np.ndarray:
        matrix = np.column_stack([table.column(name).to_numpy() for name in self.features])
        return (matrix - self.mean) / self.scale


@dataclass
class FittedRegression:
    """A LINEAR_REG model: ridge regression on the features standardized as BigQuery ML does."""

    features: list[str]
    mean: np.ndarray
    scale: np.ndarray
    ridge: Ridge
    label: str

    def predict(self, table: pa.Table) -> pa.Table:
        matrix = np.column_stack([table.column(name).to_numpy() for name in self.features])
        predicted = self.ridge.predict((matrix - self.mean) / self.scale)
        columns = {f"predicted_{self.label}": pa.array(predicted)}
        return pa.table({**columns, **{name: table.column(name) for name in table.column_names}})


@dataclass(frozen=True)
class MLCall:
    """An ML.* table function of a statement, replaced in its SQL by the relation its result is registered as."""

    relation: str
    kind: str
    model: TableRef
    input_sql: str | None


@dataclass(frozen=True)
class Training:
    model: TableRef
    clusters: int
    input_sql: str
    label: str | None = None  # a LINEAR_REG model's label column; None for k-means
    l2_reg: float = 0.0


@dataclass(frozen=True)
class Statement:
    sql: str | None = None
    ml_calls: tuple[MLCall, ...] = ()
    training: Training | None = None
    dropped_model: TableRef | None = None


@dataclass
class Floor:
    con: duckdb.DuckDBPyConnection
    default_project: str
    # Lloyd iterations for KMeans: set to the count the server's model ran, so both do the same work.
    iterations: int = 20
    models: dict[TableRef, FittedModel] = field(default_factory=dict)
    _relations: int = 0

    # ---- translation, done before timing ------------------------------------------------------------

    def compile(self, sql: str) -> list[Statement]:
        resolver = NameResolver(self.default_project)
        compiled = []
        for statement in dialect.parse(sql):
            if isinstance(statement, exp.Transaction | exp.Commit):
                continue  # every step already runs in one transaction, as a server job does
            if isinstance(statement, dialect.AlterModel):
                continue  # model metadata (labels, description) costs nothing worth measuring
            kind = (
                statement.args.get("kind", "").upper() if isinstance(statement, exp.Create | exp.Drop) else ""
            )
            if kind == "MODEL" and isinstance(statement, exp.Drop):
                (model,) = statement.args["tables"]
                compiled.append(Statement(dropped_model=resolver.resolve(model)))
                continue
            if kind == "MODEL":
                compiled.append(Statement(training=self._training(statement, resolver)))
                continue
            if kind == "SCHEMA":
                compiled.append(Statement(sql=self._create_schema(statement)))
                continue
            if isinstance(statement, exp.Alter) and len(statement.args["actions"]) > 1:
                # DuckDB takes one action per ALTER TABLE, as the server runs them.
                for action in statement.args["actions"]:
                    single = statement.copy()
                    single.set("actions", [action.copy()])
                    compiled.append(Statement(sql=self._translate(single, resolver)))
                continue
            if isinstance(statement, exp.Create):
                take_table_properties(statement)
            calls = self._replace_ml_calls(statement, resolver)
            compiled.append(Statement(sql=self._translate(statement, resolver), ml_calls=calls))
        return compiled

    def _translate(self, statement: exp.Expression, resolver: NameResolver) -> str:
        qualify_tables(statement, resolver)
        return to_duckdb(statement)

    def _create_schema(self, statement: exp.Create) -> str:
        *project, dataset = ".".join(part.name for part in statement.this.parts).split(".")
        name = schema_name(project[0] if project else self.default_project, dataset)
        return f'CREATE SCHEMA IF NOT EXISTS "{name}"'

    def _training(self, create: exp.Create, resolver: NameResolver) -> Training:
        if regression.is_linear_reg(create):
            options = regression.options_from_create(create)
            return Training(
                resolver.resolve(create.this),
                0,
                self._translate(create.expression, resolver),
                label=options.label,
                l2_reg=options.l2_reg,
            )
        options = options_from_create(create)
        if not isinstance(options.num_clusters, int):
            raise NotImplementedError("the floor trains a fixed num_clusters only (the DAG's default)")
        return Training(
            resolver.resolve(create.this), options.num_clusters, self._translate(create.expression, resolver)
        )

    def _replace_ml_calls(self, statement: exp.Expression, resolver: NameResolver) -> tuple[MLCall, ...]:
        calls = []
        for call in [node for node in statement.walk() if dialect.ml_function_kind(node)]:
            source = call.args.get("expression")
            input_sql = None
            if source is not None:
                query = exp.select("*").from_(source.copy()) if isinstance(source, exp.Table) else source.this
                input_sql = self._translate(query.copy(), resolver)
            self._relations += 1
            relation = exp.to_table(f"_floor_ml_{self._relations}")
            relation.meta[LOCAL_RELATION] = True
            wrapper = call.parent if isinstance(call.parent, exp.Table) and call.parent.this is call else call
            if wrapper.args.get("alias"):
                relation.set("alias", wrapper.args["alias"].copy())
            calls.append(
                MLCall(relation.name, dialect.ml_function_kind(call), resolver.resolve(call.this), input_sql)
            )
            wrapper.replace(relation)
        return tuple(calls)

    # ---- execution, timed ---------------------------------------------------------------------------

    def run(self, statements: list[Statement]) -> None:
        self.con.begin()
        try:
            for statement in statements:
                if statement.training:
                    self._train(statement.training)
                    continue
                if statement.dropped_model:
                    self.models.pop(statement.dropped_model, None)
                    continue
                for call in statement.ml_calls:
                    self.con.register(call.relation, self._ml_result(call))
                try:
                    self.con.execute(statement.sql).fetchall()
                finally:
                    for call in statement.ml_calls:
                        self.con.unregister(call.relation)
        except BaseException:
            self.con.rollback()
            raise
        self.con.commit()

    def _train(self, training: Training) -> None:
        table = self.con.sql(training.input_sql).to_arrow_table()
        if training.label is not None:
            self._train_regression(training, table)
            return
        features = table.column_names
        matrix = np.column_stack([column.to_numpy() for column in table.columns])
        mean, scale = matrix.mean(axis=0), matrix.std(axis=0, ddof=1)
        scale[scale == 0] = 1.0
        standardized = (matrix - mean) / scale
        kmeans = KMeans(
            training.clusters,
            init="k-means++",
            n_init=SEEDED_STARTS,
            max_iter=self.iterations,
            tol=0,
            random_state=1,
        ).fit(standardized)
        self.models[training.model] = FittedModel(
            features,
            mean,
            scale,
            kmeans,
            davies_bouldin_score(standardized, kmeans.labels_),
            kmeans.inertia_ / len(standardized),
        )

    def _train_regression(self, training: Training, table: pa.Table) -> None:
        features = [name for name in table.column_names if name != training.label]
        matrix = np.column_stack([table.column(name).to_numpy() for name in features])
        mean, scale = matrix.mean(axis=0), matrix.std(axis=0, ddof=1)
        scale[scale == 0] = 1.0
        labels = table.column(training.label).to_numpy()
        ridge = Ridge(alpha=training.l2_reg).fit((matrix - mean) / scale, labels)
        self.models[training.model] = FittedRegression(features, mean, scale, ridge, training.label)

    def _ml_result(self, call: MLCall) -> pa.Table:
        model = self.models[call.model]
        if isinstance(model, FittedRegression) and call.kind == "PREDICT":
            return model.predict(self.con.sql(call.input_sql).to_arrow_table())
        if call.kind == "PREDICT":
            return _predict(model, self.con.sql(call.input_sql).to_arrow_table())
        if call.kind == "EVALUATE":
            return pa.table(
                {
                    "davies_bouldin_index": [model.davies_bouldin_index],
                    "mean_squared_distance": [model.mean_squared_distance],
                }
            )
        if call.kind == "CENTROIDS":
            centres = model.kmeans.cluster_centers_ * model.scale + model.mean
            clusters, width = centres.shape
            return pa.table(
                {
                    "centroid_id": np.repeat(np.arange(1, clusters + 1), width),
                    "feature": model.features * clusters,
                    "numerical_value": centres.ravel(),
                }
            )
        if call.kind == "TRAINING_INFO":
            return pa.table({"iteration": np.arange(model.kmeans.n_iter_)})
        raise NotImplementedError(f"ML.{call.kind} in the floor")


def _predict(model: FittedModel, table: pa.Table) -> pa.Table:
    distances = model.kmeans.transform(model.standardized(table))
    order = np.argsort(distances, axis=1)
    ranked = np.take_along_axis(distances, order, axis=1)
    order += 1
    clusters = distances.shape[1]
    nearest = pa.StructArray.from_arrays(
        [pa.array(order.ravel()), pa.array(ranked.ravel())], fields=list(NEAREST)
    )
    offsets = pa.array(np.arange(0, order.size + 1, clusters, dtype=np.int32))
    predicted = {
        "CENTROID_ID": pa.array(order[:, 0]),
        "NEAREST_CENTROIDS_DISTANCE": pa.ListArray.from_arrays(offsets, nearest),
    }
    return pa.table({**predicted, **{name: table.column(name) for name in table.column_names}})
