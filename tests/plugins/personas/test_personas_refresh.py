"""Personas follow change, not the calendar: the refresh rules, and 30 daily runs of the persona step
against the local BigQuery server and the local Gemini server, counting the model calls."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, timedelta

import pytest

from segmentation.gemini_settings import ENDPOINTS_ENVIRONMENT_VARIABLE, GeminiSettings
from segmentation.personas.offline import OfflineWriter
from segmentation.personas.prompt import PROMPT_VERSION, build_prompt
from segmentation.personas.refresh import RefreshThresholds, SegmentHistory, plan_refresh, refresh_reason
from segmentation.personas.step import draft_personas, generate_personas
from segmentation.personas.validation import PersonaValidationError, validate_answer
from tests.conftest import PROJECT
from tests.fakes.gemini_server import FakeGemini, RecordedCall, Reply, json_answer

THRESHOLDS = RefreshThresholds(max_shift=0.5, max_size_change_pct=20.0)
FIRST_DAY = date(2024, 6, 1)
DAYS = 30
FEATURES = ("recency_days", "frequency", "monetary")
CONN_ID = "refresh_gemini"

# What happens to the segments over the 30 days; every other day is quiet (nothing moves).
GROWS_DAY = 5  # segment 0 grows by a third, and stays that size
JUMPS_DAY = 10  # segment 2's centroid jumps a whole standard deviation on recency
NEW_SEGMENT_DAY = 20  # segment 4 appears
DRIFT_PER_DAY = 0.04  # segment 3 drifts slowly: past 0.5 after 13 days, from where its persona was written
EXPECTED_CALLS = {0: [0, 1, 2, 3], GROWS_DAY: [0], JUMPS_DAY: [2], 13: [3], NEW_SEGMENT_DAY: [4], 26: [3]}


def history(**fields) -> SegmentHistory:
    known = {
        "segment_id": 1,
        "customers": 1000,
        "persona_snapshot": FIRST_DAY,
        "written_for_snapshot": FIRST_DAY,
        "title": "Champions",
        "backend": "gemini",
        "prompt_version": PROMPT_VERSION,
        "written_for_customers": 1000,
        "centroid_shift": 0.1,
    }
    return SegmentHistory(**(known | fields))


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({}, None),
        ({"centroid_shift": 0.5, "customers": 1200}, None),  # at the thresholds: kept
        ({"persona_snapshot": None}, "a new segment"),
        ({"backend": "offline"}, "written by offline, this run writes with gemini"),
        ({"prompt_version": "personas-2024.9"}, "written with prompt personas-2024.9"),
        ({"centroid_shift": 0.51}, "centroid moved 0.510 since 2024-06-01 (more than 0.5)"),
        ({"centroid_shift": None}, "no centroid of 2024-06-01 to compare with"),
        ({"customers": 799}, "size changed 20.1 % since 2024-06-01 (1000 -> 799 customers"),
        ({"written_for_customers": None}, "no profile of 2024-06-01 to compare with"),
    ],
)
def test_a_segment_keeps_its_persona_unless_a_rule_fires(fields, reason):
    found = refresh_reason(history(**fields), THRESHOLDS, "gemini")
    if reason is None:
        assert found is None
    else:
        assert found is not None and found.startswith(reason)


def test_a_plan_carries_the_unchanged_from_the_previous_snapshot():
    plan = plan_refresh(
        [history(segment_id=1), history(segment_id=2, title="Drifters", centroid_shift=2.0)],
        THRESHOLDS,
        "gemini",
    )
    assert list(plan.refresh) == [2] and list(plan.carried) == [1]
    assert (plan.carried_from, plan.carried_titles) == (FIRST_DAY, ("Champions",))


def test_a_partial_prompt_shows_the_whole_base_and_refuses_the_kept_titles(profiles, persona_document):
    prompt = build_prompt(profiles, [2], ["Champions"])

    assert prompt.segment_ids == (2,) and list(prompt.figures) == [2]
    assert "Customer base: 3000 customers in 4 segments" in prompt.text
    assert "Segment 2:" in prompt.text and "Segment 1:" not in prompt.text
    assert "do not reuse their titles: Champions." in prompt.text
    answer = json.dumps(persona_document([2], {2: {"title": "champions"}}))
    with pytest.raises(PersonaValidationError, match=r"\['champions'\] belong to segments that keep"):
        validate_answer(answer, prompt, "gemini")


def test_the_offline_writer_leaves_the_titles_other_segments_keep(profiles):
    everyone = {
        persona.segment_id: persona.title for persona in draft_personas(profiles, OfflineWriter()).personas
    }

    [persona] = draft_personas(profiles, OfflineWriter(), [1], [everyone[1]]).personas

    assert persona.segment_id == 1 and persona.title not in everyone.values()


# -- 30 daily runs --------------------------------------------------------------------------------------

BASE_SEGMENTS = {  # segment id -> customers, share, revenue share, centroid (recency, frequency, monetary)
    0: (1200, 0.4, 0.15, (300.0, 1.1, 45.5)),
    1: (300, 0.1, 0.35, (20.0, 4.2, 520.0)),
    2: (900, 0.3, 0.30, (400.0, 1.5, 150.0)),
    3: (600, 0.2, 0.20, (30.0, 1.2, 90.0)),
}
NEW_SEGMENT = (150, 0.05, 0.05, (90.0, 2.5, 260.0))
STDDEV = {"recency_days": 100.0, "frequency": 1.0, "monetary": 100.0}


def _segments_on(day: int) -> dict[int, tuple]:
    segments = dict(BASE_SEGMENTS)
    if day >= GROWS_DAY:
        segments[0] = (1600, *segments[0][1:])
    if day >= JUMPS_DAY:
        *head, (recency, frequency, monetary) = segments[2]
        segments[2] = (*head, (recency + STDDEV["recency_days"], frequency, monetary))
    *head, (recency, frequency, monetary) = segments[3]
    segments[3] = (*head, (recency + DRIFT_PER_DAY * day * STDDEV["recency_days"], frequency, monetary))
    if day >= NEW_SEGMENT_DAY:
        segments[4] = NEW_SEGMENT
    return segments


def _rows(day: int) -> tuple[list[dict], list[dict]]:
    snapshot = (FIRST_DAY + timedelta(days=day)).isoformat()
    profiles, centroids = [], []
    for segment_id, (customers, share, revenue, centroid) in _segments_on(day).items():
        means = dict(zip(FEATURES, centroid, strict=True))
        profiles.append(
            {
                "snapshot_date": snapshot,
                "segment_id": segment_id,
                "customers": customers,
                "customer_share": share,
                "revenue_share": revenue,
                **means,
            }
        )
        centroids += [
            {
                "snapshot_date": snapshot,
                "segment_id": segment_id,
                "feature": feature,
                "numerical_value": value,
                "feature_mean": 0.0,
                "feature_stddev": STDDEV[feature],
            }
            for feature, value in means.items()
        ]
    return profiles, centroids


def _asked_for(call: RecordedCall) -> list[int]:
    (listed,) = re.findall(r"one persona for each segment id: ([\d, ]+)\.", call.prompt)
    return [int(segment_id) for segment_id in listed.split(", ")]


def _answer(call: RecordedCall, edition: str) -> Reply:
    """Grounded personas for exactly the ids the prompt asks for, each text naming its edition."""
    personas = [
        {
            "segment_id": segment_id,
            "title": f"Edition {edition} Segment {segment_id}",
            "persona": f"Customers of segment {segment_id} as edition {edition} saw them.",
            "summary": f"Segment {segment_id} is worth a message of its own.",
            "next_marketing_steps": ["Send a curated edit.", "Ask for a review.", "Offer early access."],
            "recommended_channel": "email",
        }
        for segment_id in _asked_for(call)
    ]
    return json_answer({"personas": personas})


def _day(day: int) -> str:
    return (FIRST_DAY + timedelta(days=day)).isoformat()


@pytest.fixture(scope="module")
def month(bq_client):
    """The persona step run for 30 consecutive snapshots with the Gemini backend: the dataset, the fake
    Gemini server and, per day, the prompts it received."""
    dataset = f"refresh_{uuid.uuid4().hex[:8]}"
    bq_client.create_dataset(dataset)
    bq_client.query_and_wait(
        f"CREATE TABLE {dataset}.segment_profiles (snapshot_date DATE, segment_id INT64, customers INT64, "
        "customer_share FLOAT64, revenue_share FLOAT64, recency_days FLOAT64, frequency FLOAT64, "
        "monetary FLOAT64) PARTITION BY snapshot_date"
    )
    bq_client.query_and_wait(
        f"CREATE TABLE {dataset}.segment_centroids (snapshot_date DATE, segment_id INT64, feature STRING, "
        "numerical_value FLOAT64, feature_mean FLOAT64, feature_stddev FLOAT64) PARTITION BY snapshot_date"
    )
    profiles, centroids = [], []
    for day in range(DAYS):
        day_profiles, day_centroids = _rows(day)
        profiles += day_profiles
        centroids += day_centroids
    assert bq_client.insert_rows_json(f"{PROJECT}.{dataset}.segment_profiles", profiles) == []
    assert bq_client.insert_rows_json(f"{PROJECT}.{dataset}.segment_centroids", centroids) == []
    with FakeGemini() as gemini, pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENDPOINTS_ENVIRONMENT_VARIABLE, gemini.url)
        patch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", gemini.airflow_connection("persona-project"))

        def answer(call: RecordedCall) -> Reply:  # edition A for the first call, B for the second, ...
            return _answer(call, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[len(gemini.calls) - 1])

        gemini.replies.extend([answer] * DAYS)
        settings = GeminiSettings(base_url=gemini.url, timeout_seconds=5, max_attempts=1)

        def run(day: int) -> tuple[dict, list[RecordedCall]]:
            before = len(gemini.calls)
            summary = generate_personas(
                snapshot_date=_day(day),
                project_id=PROJECT,
                dataset=dataset,
                location="US",
                backend="gemini",
                gemini_conn_id=CONN_ID,
                gemini=settings,
                thresholds=THRESHOLDS,
            )
            return summary, gemini.calls[before:]

        days = [run(day) for day in range(DAYS)]
        yield {"dataset": dataset, "days": days, "run": run}
    bq_client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)


def _personas(bq_client, dataset: str, day: int | None = None) -> list[dict]:
    where = f"WHERE snapshot_date = '{_day(day)}'" if day is not None else ""
    rows = bq_client.query_and_wait(
        f"SELECT * FROM {dataset}.segment_personas {where} ORDER BY snapshot_date, segment_id"
    )
    return [dict(row.items()) for row in rows]


@pytest.mark.slow
def test_over_30_days_gemini_is_called_only_when_something_moved(month):
    calls = {
        day: [_asked_for(call) for call in day_calls] for day, (_, day_calls) in enumerate(month["days"])
    }
    assert {day: asked for day, asked in calls.items() if asked} == {
        day: [ids] for day, ids in EXPECTED_CALLS.items()
    }
    quiet = month["days"][DAYS - 1][0]
    assert quiet["refreshed"] == {} and (quiet["backend"], quiet["input_tokens"]) == (None, None)


@pytest.mark.slow
def test_a_moved_or_new_segment_gets_a_fresh_persona_and_the_rest_keep_theirs(bq_client, month):
    summary, [call] = month["days"][NEW_SEGMENT_DAY]
    assert summary["refreshed"] == {"4": "a new segment (no persona at the previous snapshot)"}
    assert "Customer base: 3550 customers in 5 segments" in call.prompt
    assert "do not reuse their titles: Edition B Segment 0; Edition A Segment 1; Edition C Segment 2" in (
        call.prompt
    )
    jumped, _ = month["days"][JUMPS_DAY]
    assert jumped["refreshed"]["2"].startswith("centroid moved 1.000 since 2024-06-01")

    last = {row["segment_id"]: row for row in _personas(bq_client, month["dataset"], DAYS - 1)}
    written_for = {segment_id: row["written_for_snapshot"].isoformat() for segment_id, row in last.items()}
    assert written_for == {0: _day(GROWS_DAY), 1: _day(0), 2: _day(JUMPS_DAY), 3: _day(26), 4: _day(20)}
    for segment_id, row in last.items():
        (original,) = [
            written
            for written in _personas(
                bq_client, month["dataset"], (row["written_for_snapshot"] - FIRST_DAY).days
            )
            if written["segment_id"] == segment_id
        ]
        assert {key: row[key] for key in row if key != "snapshot_date"} == {
            key: original[key] for key in original if key != "snapshot_date"
        }, "a carried persona is the written one, unchanged"
    assert last[1]["title"] == "Edition A Segment 1" and last[3]["title"] == "Edition F Segment 3"


@pytest.mark.slow
def test_rerunning_dates_duplicates_no_persona_and_repeats_the_decisions(bq_client, month):
    before = _personas(bq_client, month["dataset"], DAYS - 1)

    _, quiet_calls = month["run"](DAYS - 1)
    drifted, drifted_calls = month["run"](13)

    assert quiet_calls == [] and _personas(bq_client, month["dataset"], DAYS - 1) == before
    assert [_asked_for(call) for call in drifted_calls] == [[3]]
    assert drifted["carried"] == {"0": _day(GROWS_DAY), "1": _day(0), "2": _day(JUMPS_DAY)}
    rows = _personas(bq_client, month["dataset"])
    keys = [(row["snapshot_date"], row["segment_id"]) for row in rows]
    assert len(keys) == len(set(keys)) == sum(len(_segments_on(day)) for day in range(DAYS))
