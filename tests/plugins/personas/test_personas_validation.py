import json

import pytest

from segmentation.personas.response import response_json_schema
from segmentation.personas.validation import PersonaValidationError, validate_answer


def _validate(document, prompt):
    return validate_answer(json.dumps(document), prompt, "gemini")


def _problems(document, prompt) -> list[str]:
    with pytest.raises(PersonaValidationError) as raised:
        _validate(document, prompt)
    return raised.value.problems


def test_a_grounded_answer_validates_in_segment_order(prompt, persona_document):
    document = persona_document([3, 1, 0, 2])
    document["personas"][1]["summary"] = (
        "300 customers, 10% of the base, bring 35% of revenue at 3.9x the average."
    )

    personas = _validate(document, prompt)

    assert [persona.segment_id for persona in personas] == [0, 1, 2, 3]
    assert personas[1].summary.startswith("300 customers")


def test_malformed_json_is_rejected_with_the_spot(prompt):
    with pytest.raises(
        PersonaValidationError, match=r"not valid JSON: Expecting value \(line 1 column 42\) near"
    ) as raised:
        validate_answer('{"personas": [{"segment_id": 0, "title": ', prompt, "gemini")

    assert "gemini answer rejected, nothing was written" in str(raised.value)


def test_missing_extra_and_repeated_ids_are_all_named(prompt, persona_document):
    document = persona_document([0, 1, 1, 7])

    problems = _problems(document, prompt)

    assert "missing persona for segment id(s) [2, 3]" in problems
    assert "persona for unknown segment id(s) [7]; expected only [0, 1, 2, 3]" in problems
    assert "more than one persona for segment id(s) [1]" in problems


def test_a_number_not_in_the_profile_is_rejected(prompt, persona_document):
    document = persona_document([0, 1, 2, 3], {1: {"next_marketing_steps": [
        "Offer a 25% loyalty discount on the next order.",
        "Invite them to the VIP preview evening.",
        "Ask for a review after delivery.",
    ]}})  # fmt: skip

    assert _problems(document, prompt) == [
        "segment 1 next_marketing_steps[1]: number(s) ['25'] are not in the segment's profile"
    ]


def test_another_segments_figure_is_not_grounded(prompt, persona_document):
    # 45.50 is segment 0's monetary mean, not segment 1's
    document = persona_document(
        [0, 1, 2, 3], {1: {"persona": "Big spenders who spend far more than 45.50 a head."}}
    )

    assert _problems(document, prompt) == [
        "segment 1 persona: number(s) ['45.50'] are not in the segment's profile"
    ]


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"title": "x" * 61}, "personas.0.title: String should have at most 60 characters"),
        ({"summary": "Too short"}, "personas.0.summary: String should have at least 20 characters"),
        ({"next_marketing_steps": ["Send a curated newsletter."] * 2}, "personas.0.next_marketing_steps: List should have at least 3 items"),
        ({"next_marketing_steps": ["Send a curated newsletter."] * 4}, "personas.0.next_marketing_steps: List should have at most 3 items"),
        ({"recommended_channel": "carrier pigeon"}, "personas.0.recommended_channel: Input should be 'email'"),
        ({"mood": "happy"}, "personas.0.mood: Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_schema_and_length_bounds(prompt, persona_document, overrides, problem):
    problems = _problems(persona_document([0, 1, 2, 3], {0: overrides}), prompt)

    assert any(found.startswith(problem) for found in problems), problems


def test_titles_must_be_distinct(prompt, persona_document):
    document = persona_document([0, 1, 2, 3], {2: {"title": "Segment 0 shoppers"}})

    assert _problems(document, prompt) == [
        "titles must be distinct; repeated: ['Segment 0 Shoppers', 'Segment 0 shoppers']"
    ]


def test_schema_sent_to_the_model_is_self_contained_and_strict():
    schema = response_json_schema()
    persona = schema["properties"]["personas"]["items"]

    assert "$ref" not in json.dumps(schema) and "$defs" not in schema
    assert persona["additionalProperties"] is False
    assert set(persona["required"]) == {
        "segment_id", "title", "persona", "summary", "next_marketing_steps", "recommended_channel",
    }  # fmt: skip
    assert persona["properties"]["next_marketing_steps"]["minItems"] == 3
    assert persona["properties"]["next_marketing_steps"]["maxItems"] == 3
    assert persona["properties"]["title"] == {"type": "string", "minLength": 3, "maxLength": 60}
