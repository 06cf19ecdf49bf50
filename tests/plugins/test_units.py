from segmentation.units import unit_of


def test_unknown_feature_units_come_from_the_name():
    assert unit_of("days_between_orders") == ""
    assert unit_of("first_order_days") == "days"
    assert unit_of("discount_rate") == "ratio"
    assert unit_of("spend_12m_women_dresses") == "currency"


def test_the_value_models_figures_have_units_too():
    """The segments service quotes a customer's prediction with the same units as the persona step."""
    assert unit_of("predicted_value") == unit_of("avg_predicted_value") == "currency"
    assert unit_of("predicted_value_share") == "ratio"
    assert unit_of("horizon_days") == "days"
    assert unit_of("predicted_value_decile") == ""
