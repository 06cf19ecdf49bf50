"""The Gemini backend through the provider's GenAI hook, the real google-genai client and a local server."""

import json

import pytest
from airflow.sdk import RetryAction

from segmentation.personas.gemini import GeminiWriter
from segmentation.personas.profile import profiles_from_rows
from segmentation.personas.response import response_json_schema
from segmentation.personas.step import draft_personas, resolve_backend
from segmentation.personas.validation import PersonaValidationError
from segmentation.personas.writer import PersonaGenerationError
from segmentation.retries import FailFastOnBadInput
from tests.fakes.gemini_server import answer, error, json_answer, safety_blocked, slow

GENERATE = "/v1beta1/projects/persona-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"


@pytest.fixture
def writer(gemini_settings, gemini_conn_id):
    return GeminiWriter(gemini_conn_id, gemini_settings)


def test_success_makes_one_authenticated_structured_call(
    fake_gemini, writer, profiles, prompt, persona_document
):
    fake_gemini.replies.append(
        json_answer(persona_document([0, 1, 2, 3]), input_tokens=1834, output_tokens=912)
    )

    draft = draft_personas(profiles, writer)

    assert [persona.title for persona in draft.personas] == [f"Segment {i} Shoppers" for i in range(4)]
    generation = draft.generation
    assert (generation.backend, generation.model) == ("gemini", "gemini-2.5-flash")
    assert (generation.input_tokens, generation.output_tokens) == (1834, 912)
    assert generation.raw_response["usage_metadata"]["prompt_token_count"] == 1834
    assert generation.latency_ms >= 0

    [call] = fake_gemini.calls
    assert call.path == GENERATE
    assert call.headers["authorization"].startswith("Bearer ")
    assert fake_gemini.token_grants == 1
    assert call.prompt == prompt.text
    config = call.body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == response_json_schema()
    assert config["temperature"] == pytest.approx(0.4)
    assert list(config["thinkingConfig"].values()) == [0]  # thinking off: its tokens bill as output


def test_429_then_success_is_retried(fake_gemini, writer, profiles, persona_document):
    fake_gemini.replies.extend([error(429, "quota"), json_answer(persona_document([0, 1, 2, 3]))])

    draft = draft_personas(profiles, writer)

    assert len(draft.personas) == 4
    assert len(fake_gemini.calls) == 2


def test_server_errors_until_retries_run_out_fail_clearly(fake_gemini, writer, profiles):
    fake_gemini.replies.extend([error(503, "overloaded"), error(500, "boom"), error(502, "bad gateway")])

    with pytest.raises(
        PersonaGenerationError, match=r"gemini-2.5-flash generateContent failed after 3 attempt\(s\): 502"
    ):
        draft_personas(profiles, writer)
    assert len(fake_gemini.calls) == 3


@pytest.mark.parametrize(
    ("status", "name"), [(400, "INVALID_ARGUMENT"), (403, "PERMISSION_DENIED"), (404, "NOT_FOUND")]
)
def test_client_errors_are_not_retried_by_the_client_nor_the_task(
    fake_gemini, writer, profiles, status, name
):
    fake_gemini.replies.append(error(status, "Vertex AI refused the request"))

    with pytest.raises(
        PersonaGenerationError, match=rf"failed \(not retriable\): {status} {name}"
    ) as refused:
        draft_personas(profiles, writer)
    assert len(fake_gemini.calls) == 1
    assert FailFastOnBadInput().evaluate(refused.value, try_number=1, max_tries=4).action == RetryAction.FAIL


def test_exhausted_retriable_errors_keep_the_tasks_retries(fake_gemini, writer, profiles):
    fake_gemini.replies.extend([error(429, "quota")] * 3)

    with pytest.raises(PersonaGenerationError, match="after 3 attempt") as exhausted:
        draft_personas(profiles, writer)
    decision = FailFastOnBadInput().evaluate(exhausted.value, try_number=1, max_tries=4)
    assert decision.action == RetryAction.DEFAULT


def test_timeouts_are_retried_then_reported(
    fake_gemini, gemini_settings, gemini_conn_id, profiles, persona_document
):
    settings = gemini_settings.model_copy(update={"timeout_seconds": 0.3, "max_attempts": 2})
    slow_answer = slow(json_answer(persona_document([0, 1, 2, 3])), seconds=1.5)
    fake_gemini.replies.extend([slow_answer, slow_answer])

    with pytest.raises(
        PersonaGenerationError, match=r"after 2 attempt\(s\): timed out \(limit 0.3s per attempt\)"
    ):
        draft_personas(profiles, GeminiWriter(gemini_conn_id, settings))
    assert len(fake_gemini.calls) == 2


def test_a_slow_first_attempt_is_retried(
    fake_gemini, gemini_settings, gemini_conn_id, profiles, persona_document
):
    settings = gemini_settings.model_copy(update={"timeout_seconds": 0.3})
    document = persona_document([0, 1, 2, 3])
    fake_gemini.replies.extend([slow(json_answer(document), seconds=1.5), json_answer(document)])

    assert len(draft_personas(profiles, GeminiWriter(gemini_conn_id, settings)).personas) == 4


def test_malformed_json_is_rejected(fake_gemini, writer, profiles):
    fake_gemini.replies.append(answer('{"personas": [{"segment_id": 0, "title": "Cut off'))

    with pytest.raises(
        PersonaValidationError, match=r"(?s)gemini answer rejected.*not valid JSON: Unterminated string"
    ):
        draft_personas(profiles, writer)


def test_wrong_and_missing_segment_ids_are_rejected(fake_gemini, writer, profiles, persona_document):
    fake_gemini.replies.append(json_answer(persona_document([0, 1, 5])))

    with pytest.raises(PersonaValidationError) as raised:
        draft_personas(profiles, writer)
    assert raised.value.problems == [
        "missing persona for segment id(s) [2, 3]",
        "persona for unknown segment id(s) [5]; expected only [0, 1, 2, 3]",
    ]


def test_an_ungrounded_number_is_rejected(fake_gemini, writer, profiles, persona_document):
    invented = {2: {"summary": "Lapsing customers; 68% of them will churn within a quarter."}}
    fake_gemini.replies.append(json_answer(persona_document([0, 1, 2, 3], invented)))

    with pytest.raises(PersonaValidationError, match=r"segment 2 summary: number\(s\) \['68'\] are not in"):
        draft_personas(profiles, writer)


def test_a_safety_blocked_candidate_fails_clearly(fake_gemini, writer, profiles):
    fake_gemini.replies.append(safety_blocked("HARM_CATEGORY_HARASSMENT"))

    with pytest.raises(
        PersonaGenerationError,
        match=r"withheld or cut the answer: finish_reason=SAFETY, blocked categories \['HARM_CATEGORY_HARASSMENT'\]",
    ):
        draft_personas(profiles, writer)
    assert len(fake_gemini.calls) == 1


def test_only_aggregates_go_over_the_wire(
    fake_gemini, writer, customers, customers_profile_rows, persona_document
):
    fake_gemini.replies.append(json_answer(persona_document([0, 1])))
    draft_personas(profiles_from_rows(customers_profile_rows), writer)

    wire = json.dumps(fake_gemini.calls[0].body).lower()
    for customer_id, email, name, *_ in customers:
        assert str(customer_id) not in wire
        assert email.lower() not in wire
        assert name.split()[1].lower() not in wire


def test_auto_backend_uses_gemini_only_with_credentials(fake_gemini, gemini_conn_id, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_LOCAL_WAREHOUSE",
        json.dumps(
            {"conn_type": "google_cloud_platform", "extra": {"is_anonymous": True, "project": "local"}}
        ),
    )

    assert resolve_backend("auto", gemini_conn_id) == "gemini"
    assert resolve_backend("auto", "local_warehouse") == "offline"
    assert resolve_backend("auto", "no_such_connection") == "offline"
    assert resolve_backend("offline", gemini_conn_id) == "offline"
    with pytest.raises(ValueError, match="unknown persona backend 'openai'"):
        resolve_backend("openai", gemini_conn_id)
