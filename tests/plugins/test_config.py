"""PipelineConfig and the DAG params generated from it: what is refused, with which message, and defaults."""

from __future__ import annotations

import pytest
from airflow.sdk.definitions.param import ParamValidationError

from segmentation.config import (
    THELOOK_SPEND_CATEGORIES,
    ConfigError,
    PipelineConfig,
    column_slug,
    dag_params,
    dag_start_date,
    environment_defaults,
    unknown_settings,
)
from segmentation.features import RFM_FEATURES, SPEND_WINDOWS_MONTHS, feature_columns
from segmentation.tables import partitioned_tables

# (setting, value) pairs that break BigQuery's naming rules or the settings' ranges.
BAD_VALUES = [
    ("project_id", "Local_Project"),
    ("project_id", "ab"),
    ("project_id", "proj`; DROP SCHEMA x; --"),
    ("dataset", "my-dataset"),
    ("dataset", "seg.mentation"),
    ("dataset", ""),
    ("dataset", "x` WHERE TRUE; --"),
    ("location", "US'; SELECT 1"),
    ("gcp_conn_id", "conn id with spaces"),
    ("source_project", ""),
    ("source_dataset", "thelook ecommerce"),
    ("feature_set", "everything"),
    ("num_clusters", 1),
    ("num_clusters", 101),
    ("k_min", 0),
    ("freshness_days", 0),
    ("max_row_drop_pct", 120),
    ("spend_categories", [["Men", "Jeans' OR '1'='1"]]),
    ("spend_categories", [["Men"]]),
    ("spend_categories", []),
    ("spend_categories", [["Men", f"Category {i}"] for i in range(301)]),  # 903 columns: bounded at 300
    ("num_clusters", 4.5),
    ("persona_backend", "gpt"),
]


def test_defaults_are_a_valid_production_configuration():
    config = PipelineConfig()
    assert config.source_project == "bigquery-public-data"
    assert config.source_dataset == "thelook_ecommerce"
    assert config.dataset == "customer_segmentation"
    assert config.num_clusters == 5
    assert config.k_range is None
    assert config.feature_set == "base"


@pytest.mark.parametrize(("setting", "value"), BAD_VALUES)
def test_model_refuses_bad_values_and_names_the_setting(setting, value):
    with pytest.raises(ConfigError, match=rf"^invalid pipeline settings: {setting}"):
        PipelineConfig.from_params({setting: value})


@pytest.mark.parametrize(("setting", "value"), BAD_VALUES)
def test_trigger_form_refuses_what_the_model_refuses(setting, value):
    param = dag_params({})[setting]
    with pytest.raises(ParamValidationError):
        param.resolve(value)


def test_every_default_param_passes_its_own_schema():
    for name, param in dag_params({}).items():
        assert param.resolve() == param.value, name
        assert param.description, f"param {name} has no description for the trigger form"


def test_nullable_settings_accept_null_in_the_trigger_form():
    params = dag_params({})
    for name in ("num_clusters", "k_min", "k_max", "persona_backend", "gemini_conn_id", "gemini"):
        assert params[name].resolve(None) is None


def test_an_emptied_project_field_means_the_connections_project():
    """The trigger form sends an emptied text field as null."""
    assert dag_params({})["project_id"].resolve(None) is None
    assert PipelineConfig.from_params({"project_id": None}).project_id == ""


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"k_min": 8, "k_max": 4}, r"k_min \(8\) must be smaller than k_max \(4\)"),
        ({"k_min": 5, "k_max": 5}, r"k_min \(5\) must be smaller than k_max \(5\)"),
        ({"k_min": 3}, "set both k_min and k_max"),
        ({"k_max": 3}, "set both k_min and k_max"),
        ({"num_clusters": None}, "set num_clusters, or k_min and k_max"),
    ],
)
def test_k_is_chosen_one_clear_way(settings, message):
    with pytest.raises(ConfigError, match=message):
        PipelineConfig.from_params(settings)


def test_k_range_takes_over_from_num_clusters():
    assert PipelineConfig.from_params({"k_min": 3, "k_max": 8}).k_range == (3, 8)
    assert PipelineConfig.from_params({"num_clusters": None, "k_min": 2, "k_max": 4}).k_range == (2, 4)


def test_spend_categories_must_not_share_a_column_name():
    with pytest.raises(ConfigError, match="would share the column name suffix 'men_tops_tees'"):
        PipelineConfig.from_params({"spend_categories": [["Men", "Tops & Tees"], ["Men", "Tops / Tees"]]})


def test_all_problems_are_reported_at_once():
    with pytest.raises(ConfigError) as raised:
        PipelineConfig.from_params({"dataset": "a-b", "num_clusters": 1})
    assert "dataset:" in str(raised.value)
    assert "num_clusters:" in str(raised.value)
    assert "'a-b'" in str(raised.value)


def test_task_level_template_variables_are_not_settings():
    config = PipelineConfig.from_params({"table": "customer_features", "dataset": "seg"})
    assert config.dataset == "seg"


def test_unknown_conf_keys_are_found():
    assert unknown_settings({"num_cluster": 6, "dataset": "x", "table": "y"}) == ["num_cluster", "table"]
    assert unknown_settings({}) == []


def test_deployment_defaults_come_from_the_environment_in_order():
    environ = {
        "GCP_PROJECT": "composer-project",
        "GOOGLE_CLOUD_PROJECT": "",
        "SEGMENTATION_DATASET": "marketing_segments",
        "SEGMENTATION_LOCATION": "EU",
        "UNRELATED": "x",
    }
    assert environment_defaults(environ) == {
        "project_id": "composer-project",
        "dataset": "marketing_segments",
        "location": "EU",
    }
    environ["SEGMENTATION_PROJECT_ID"] = "explicit-project"
    params = dag_params(environ)
    assert params["project_id"].value == "explicit-project"
    assert params["dataset"].value == "marketing_segments"
    assert params["gcp_conn_id"].value == "google_cloud_default"


def test_an_invalid_environment_default_names_the_variables():
    with pytest.raises(ConfigError, match=r"dataset: .*'bad-name'.*SEGMENTATION_DATASET"):
        dag_params({"SEGMENTATION_DATASET": "bad-name"})


def test_default_spend_categories_are_thelooks_department_category_pairs():
    assert len(THELOOK_SPEND_CATEGORIES) == 36
    assert {department for department, _ in THELOOK_SPEND_CATEGORIES} == {"Men", "Women"}
    assert ("Women", "Dresses") in THELOOK_SPEND_CATEGORIES
    assert ("Men", "Dresses") not in THELOOK_SPEND_CATEGORIES


def test_column_slugs():
    assert column_slug("Tops & Tees") == "tops_tees"
    assert column_slug("Fashion Hoodies & Sweatshirts") == "fashion_hoodies_sweatshirts"
    assert column_slug("Pants & Capris") == "pants_capris"


def test_feature_sets():
    base = feature_columns(PipelineConfig())
    assert [column.name for column in base] == [
        "recency_days",
        "frequency",
        "monetary",
        "avg_order_value",
        "tenure_days",
        "return_ratio",
    ]
    extended = feature_columns(PipelineConfig(feature_set="extended"))
    spend = [column.name for column in extended if column.name.startswith("spend_")]
    assert extended[: len(RFM_FEATURES)] == RFM_FEATURES
    assert {"age", "gender", "country", "traffic_source"} <= {column.name for column in extended}
    assert len(spend) == len(SPEND_WINDOWS_MONTHS) * len(THELOOK_SPEND_CATEGORIES)
    assert "spend_12m_women_dresses" in spend
    assert "spend_36m_men_suits_sport_coats" in spend


def test_tables_have_unique_columns_and_key_columns_first():
    for config in (PipelineConfig(), PipelineConfig(feature_set="extended")):
        for table in partitioned_tables(config):
            names = table.column_names
            assert len(names) == len(set(names)), table.name
            assert names[0] == "snapshot_date"
            assert set(table.cluster_by) <= set(names)
            assert {column.name for column in table.feature_dependent} <= set(names)


def test_every_param_default_satisfies_its_own_schema_as_the_trigger_form_checks_it():
    import jsonschema

    from segmentation.config import dag_params

    for name, param in dag_params().items():
        jsonschema.validate(param.value, param.schema)
        if param.value == "":
            assert "null" in param.schema["type"], (
                f"{name}: the trigger form would send an emptied field as null"
            )


def test_an_emptied_transactions_table_means_none():
    from segmentation.config import PipelineConfig

    assert PipelineConfig.from_params({"transactions_table": None}).transactions_table == ""


def test_the_start_date_reaches_far_back_unless_the_deployment_sets_it():
    assert dag_start_date({}).isoformat() == "1990-01-01T00:00:00+00:00"
    assert (
        dag_start_date({"SEGMENTATION_START_DATE": "2011-01-01"}).isoformat() == "2011-01-01T00:00:00+00:00"
    )


def test_a_start_date_that_is_no_date_names_the_variable():
    with pytest.raises(ConfigError, match=r"SEGMENTATION_START_DATE='1998/07/01' is no date"):
        dag_start_date({"SEGMENTATION_START_DATE": "1998/07/01"})


def test_only_the_order_id_may_be_mapped_to_null():
    source = {"source_kind": "transactions", "transactions_table": "shop.orders"}
    config = PipelineConfig(**source, transactions_columns={"order_id": None})
    assert config.transactions_columns == {"order_id": None}
    with pytest.raises(ConfigError, match=r"customer_id, ordered_at cannot be null; only order_id may be"):
        PipelineConfig.from_params(
            {**source, "transactions_columns": {"customer_id": None, "ordered_at": None}}
        )
    dag_params()["transactions_columns"].resolve({"order_id": None})


def test_the_trigger_form_labels_the_empty_persona_writer_instead_of_showing_null():
    schema = dag_params()["persona_backend"].dump()["schema"]
    assert None in schema["enum"]
    labels = schema["values_display"]
    assert set(labels) == {"null", *(value for value in schema["enum"] if value is not None)}
    assert "Variable segmentation_persona_backend" in labels["null"]


@pytest.mark.parametrize("setting", ["transactions_columns", "spend_categories"])
def test_settings_that_apply_only_sometimes_are_optional_in_the_form(setting):
    param = dag_params()[setting]
    assert "null" in param.dump()["schema"]["type"]  # the form marks a field required unless null is allowed
    param.resolve(None)
    emptied = PipelineConfig.from_params({setting: None})
    assert getattr(emptied, setting) == getattr(PipelineConfig(), setting)


def test_the_gemini_settings_say_what_empty_means():
    assert "Empty or {}: the Variable's settings" in dag_params()["gemini"].dump()["description"]
