"""Accept an answer only whole: valid JSON, the schema, one persona per segment, grounded numbers."""

from __future__ import annotations

import json
from collections import Counter

from pydantic import ValidationError

from segmentation.personas.grounding import ungrounded_numbers
from segmentation.personas.prompt import Prompt
from segmentation.personas.response import Persona, PersonaSet


class PersonaValidationError(ValueError):
    """The answer broke the contract; `problems` names every broken rule found."""

    def __init__(self, backend: str, problems: list[str]) -> None:
        self.problems = problems
        listed = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(
            f"{backend} answer rejected, nothing was written ({len(problems)} problem(s)):\n{listed}"
        )


def _parse(answer: str, backend: str) -> PersonaSet:
    try:
        document = json.loads(answer)
    except json.JSONDecodeError as error:
        snippet = answer[max(0, error.pos - 40) : error.pos + 40]
        raise PersonaValidationError(
            backend,
            [f"not valid JSON: {error.msg} (line {error.lineno} column {error.colno}) near {snippet!r}"],
        ) from error
    try:
        return PersonaSet.model_validate(document)
    except ValidationError as error:
        problems = [
            f"{'.'.join(map(str, detail['loc'])) or 'answer'}: {detail['msg']}" for detail in error.errors()
        ]
        raise PersonaValidationError(backend, problems) from error


def _id_problems(personas: list[Persona], expected: tuple[int, ...]) -> list[str]:
    counts = Counter(persona.segment_id for persona in personas)
    problems = []
    if missing := sorted(set(expected) - counts.keys()):
        problems.append(f"missing persona for segment id(s) {missing}")
    if extra := sorted(counts.keys() - set(expected)):
        problems.append(f"persona for unknown segment id(s) {extra}; expected only {list(expected)}")
    if repeated := sorted(segment_id for segment_id, count in counts.items() if count > 1):
        problems.append(f"more than one persona for segment id(s) {repeated}")
    return problems


def _title_problems(personas: list[Persona], titles_taken: tuple[str, ...]) -> list[str]:
    counts = Counter(persona.title.casefold() for persona in personas)
    repeated = sorted({persona.title for persona in personas if counts[persona.title.casefold()] > 1})
    taken = {title.casefold() for title in titles_taken}
    reused = sorted({persona.title for persona in personas if persona.title.casefold() in taken})
    problems = [f"titles must be distinct; repeated: {repeated}"] if repeated else []
    if reused:
        problems.append(f"title(s) {reused} belong to segments that keep their personas")
    return problems


def _grounding_problems(personas: list[Persona], prompt: Prompt) -> list[str]:
    problems = []
    for persona in personas:
        if persona.segment_id not in prompt.figures:
            continue  # an unknown segment is reported once, as such
        for field, text in persona.texts().items():
            if invented := ungrounded_numbers(text, prompt.figures[persona.segment_id]):
                problems.append(
                    f"segment {persona.segment_id} {field}: number(s) {invented} are not in the segment's profile"
                )
    return problems


def validate_answer(answer: str, prompt: Prompt, backend: str) -> list[Persona]:
    """The personas of a JSON answer, ordered by segment id, or PersonaValidationError listing every problem."""
    personas = _parse(answer, backend).personas
    problems = _id_problems(personas, prompt.segment_ids) + _title_problems(personas, prompt.titles_taken)
    problems += _grounding_problems(personas, prompt)
    if problems:
        raise PersonaValidationError(backend, problems)
    return sorted(personas, key=lambda persona: persona.segment_id)
