"""BigQuery ML statements and table functions inside a query job, through the warehouse's statement context.

The context (the job's script run) resolves model names, runs GoogleSQL sub-queries to Arrow, registers
Arrow results as relations of the statement, and reads and writes the model store in the job's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
from sqlglot import exp

from local_bigquery import dialect
from local_bigquery.bqml import functions, regression, regression_functions
from local_bigquery.bqml.model import KMeansModel, train
from local_bigquery.bqml.options import literal_value, metadata_from_alter, options_from_create
from local_bigquery.bqml.regression import LinearRegModel
from local_bigquery.bqml.resource import metadata_fields, resource_fields
from local_bigquery.errors import Duplicate, InvalidQuery, Unsupported


def execute_model_statement(statement: exp.Expression, ctx) -> str:
    """CREATE [OR REPLACE] MODEL [IF NOT EXISTS] ... AS query, or DROP MODEL [IF EXISTS].

    Returns the job's ddlOperationPerformed: CREATE, REPLACE, DROP or SKIP.
    """
    if isinstance(statement, exp.Drop):
        return _drop_model(statement, ctx)
    return _create_model(statement, ctx)


def _create_model(create: exp.Create, ctx) -> str:
    replace, if_not_exists = bool(create.args.get("replace")), bool(create.args.get("exists"))
    if replace and if_not_exists:
        raise InvalidQuery("CREATE OR REPLACE MODEL and IF NOT EXISTS cannot be used together")
    ref = ctx.resolve(create.this)
    existing = ctx.models.get(ref)
    if existing is not None and if_not_exists:
        return "SKIP"
    if existing is not None and not replace:
        raise Duplicate(f"Already Exists: Model {ref}")
    if regression.is_linear_reg(create):
        return _create_linear_reg(create, ctx, existing)
    options = options_from_create(create)
    if create.expression is None:
        raise InvalidQuery("CREATE MODEL for a k-means model needs AS followed by the training query")
    data = ctx.query_arrow(create.expression)
    previous = (
        KMeansModel.from_bytes(existing.payload) if existing is not None and options.warm_start else None
    )
    model = train(data, options, previous)
    ctx.models.put(ref, model.to_bytes(), resource_fields(model))
    return "CREATE" if existing is None else "REPLACE"


def _create_linear_reg(create: exp.Create, ctx, existing) -> str:
    options = regression.options_from_create(create)
    if create.expression is None:
        raise InvalidQuery("CREATE MODEL for a LINEAR_REG model needs AS followed by the training query")
    model = regression.train(ctx.query_arrow(create.expression), options)
    resource = regression_functions.resource_fields(model) | metadata_fields(options)
    ctx.models.put(ctx.resolve(create.this), model.to_bytes(), resource)
    return "CREATE" if existing is None else "REPLACE"


def alter_model(statement: dialect.AlterModel, ctx) -> str:
    """ALTER MODEL [IF EXISTS] m SET OPTIONS(description / friendly_name / labels); returns ALTER or SKIP."""
    ref = ctx.resolve(statement.this)
    metadata = metadata_from_alter(statement.args["properties"])
    stored = ctx.models.get(ref)
    if stored is None:
        if statement.args.get("exists"):
            return "SKIP"
        ctx.models.require(ref)
    ctx.models.put(ref, stored.payload, stored.resource | metadata_fields(metadata))
    return "ALTER"


def copy_model(source, destination, write_disposition: str, models) -> None:
    """A copy job whose source is a model copies the model, as BigQuery documents
    (https://cloud.google.com/bigquery/docs/managing-models#copy-model): WRITE_TRUNCATE replaces the
    destination, WRITE_EMPTY (the default) refuses an existing one."""
    stored = models.require(source)
    if models.get(destination) is not None and write_disposition != "WRITE_TRUNCATE":
        raise Duplicate(f"Already Exists: Model {destination}")
    models.put(destination, stored.payload, stored.resource)


def _drop_model(drop: exp.Drop, ctx) -> str:
    (table,) = drop.args["tables"]
    ref = ctx.resolve(table)
    if not drop.args.get("exists"):
        ctx.models.require(ref)
    return "DROP" if ctx.models.delete(ref) else "SKIP"


def replace_ml_functions(statement: exp.Expression, ctx) -> exp.Expression:
    """Every ML.* table function in the statement replaced by a relation holding its result.

    Functions are evaluated innermost first, so a function whose input reads another one sees its result.
    """
    calls = [node for node in statement.walk() if dialect.ml_function_kind(node)]
    for call in reversed(calls):
        result = _evaluate(call, ctx)
        relation = ctx.relation_for(result)
        wrapper = call.parent if isinstance(call.parent, exp.Table) and call.parent.this is call else call
        if wrapper.args.get("alias"):
            relation.set("alias", wrapper.args["alias"].copy())
        wrapper.replace(relation)
    return statement


def _evaluate(call: exp.Expression, ctx) -> pa.Table:
    kind = dialect.ml_function_kind(call)
    stored = ctx.models.require(ctx.resolve(call.this))
    model_kind, handlers = _MODEL_KINDS[regression_functions.is_regression(stored.resource)]
    handler = handlers.get(kind)
    if handler is None:
        raise Unsupported(f"ML.{kind} ({model_kind} models support {', '.join(handlers)})")
    settings = _settings(call, kind, handler.settings)
    source = call.args.get("expression")
    if handler.input_data == "required" and source is None:
        raise InvalidQuery(f"ML.{kind} needs input data: TABLE <table> or (<query>) after the model")
    if handler.input_data == "none" and source is not None:
        raise InvalidQuery(f"ML.{kind} takes no input data, only the model")
    model = (LinearRegModel if handlers is _LINEAR_REG_HANDLERS else KMeansModel).from_bytes(stored.payload)
    data = _source_rows(call, source, ctx) if source is not None else None
    return handler.run(model, data, settings)


@dataclass(frozen=True)
class _Handler:
    """How an ML.* function computes its result, which STRUCT settings it takes, and whether it reads data."""

    run: Callable[[KMeansModel, pa.Table | None, dict], pa.Table]
    settings: dict[str, type]
    input_data: Literal["required", "optional", "none"]


_HANDLERS = {
    "PREDICT": _Handler(lambda m, data, s: functions.predict(m, data, **s), {"trial_id": int}, "required"),
    "CENTROIDS": _Handler(
        lambda m, data, s: functions.centroids(m, **s), {"standardize": bool, "trial_id": int}, "none"
    ),
    "EVALUATE": _Handler(lambda m, data, s: functions.evaluate(m, data, **s), {"trial_id": int}, "optional"),
    "TRAINING_INFO": _Handler(lambda m, data, s: functions.training_info(m), {}, "none"),
    "TRIAL_INFO": _Handler(lambda m, data, s: functions.trial_info(m), {}, "none"),
}


_LINEAR_REG_HANDLERS = {
    "PREDICT": _Handler(lambda m, data, s: regression_functions.predict(m, data), {}, "required"),
    "EVALUATE": _Handler(lambda m, data, s: regression_functions.evaluate(m, data), {}, "optional"),
    "WEIGHTS": _Handler(
        lambda m, data, s: regression_functions.weights(m, **s), {"standardize": bool}, "none"
    ),
    "TRAINING_INFO": _Handler(lambda m, data, s: regression_functions.training_info(m), {}, "none"),
}
_MODEL_KINDS = {False: ("k-means", _HANDLERS), True: ("LINEAR_REG", _LINEAR_REG_HANDLERS)}


def _settings(call: exp.Expression, kind: str, allowed: dict[str, type]) -> dict:
    """The optional STRUCT(value AS name, ...) argument, checked against what the function accepts."""
    struct = call.args.get("params_struct")
    settings: dict = {}
    for field in struct.expressions if struct else ():
        if not isinstance(field, exp.PropertyEQ):
            raise InvalidQuery(f"ML.{kind} settings must be written STRUCT(value AS name, ...)")
        name = field.this.name.lower()
        if name not in allowed:
            raise InvalidQuery(f"ML.{kind} has no setting {name}; it accepts: {', '.join(allowed) or 'none'}")
        try:
            value = literal_value(field.expression)
        except ValueError as error:
            raise InvalidQuery(f"ML.{kind} setting {name}: {error}") from None
        if type(value) is not allowed[name]:
            raise InvalidQuery(f"ML.{kind} setting {name} must be {_TYPE_NAMES[allowed[name]]}")
        settings[name] = value
    return settings


_TYPE_NAMES = {bool: "a BOOL", int: "an INT64"}


def _source_rows(call: exp.Expression, source: exp.Expression, ctx) -> pa.Table:
    """Rows of the function's TABLE t or (query), with the WITH clauses of the statement it may refer to."""
    query = exp.select("*").from_(source.copy()) if isinstance(source, exp.Table) else source.this.copy()
    ctes = _ctes_needed(query, _visible_ctes(call))
    if ctes:
        own = query.args.get("with_")
        query.set("with_", exp.With(expressions=[*ctes, *(own.expressions if own else [])]))
    return ctx.query_arrow(query)


def _visible_ctes(call: exp.Expression) -> dict[str, exp.CTE]:
    """CTEs of the enclosing queries defined before the function call; inner definitions shadow outer ones."""
    enclosing = []
    node = call
    while node is not None:
        enclosing.append(node)
        node = node.parent
    around_call = {id(node) for node in enclosing}
    visible: dict[str, exp.CTE] = {}
    for node in enclosing:
        with_clause = node.args.get("with_") if isinstance(node, exp.Query) else None
        for cte in with_clause.expressions if with_clause else ():
            if id(cte) in around_call:
                break
            visible.setdefault(cte.alias_or_name.lower(), cte)
    return visible


def _ctes_needed(query: exp.Expression, visible: dict[str, exp.CTE]) -> list[exp.CTE]:
    """The visible CTEs `query` reads, directly or through each other, in definition order."""
    needed: set[str] = set()
    pending = [query]
    while pending:
        for table in pending.pop().find_all(exp.Table):
            name = table.name.lower()
            if not table.db and name in visible and name not in needed:
                needed.add(name)
                pending.append(visible[name].this)
    return [cte.copy() for name, cte in visible.items() if name in needed]
