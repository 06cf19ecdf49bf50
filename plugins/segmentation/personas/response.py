"""The structured answer asked of the model, as a pydantic model and as the JSON schema sent with the prompt."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

Channel = Literal[
    "email",
    "sms",
    "push",
    "in_app",
    "paid_social",
    "paid_search",
    "display",
    "direct_mail",
    "loyalty_program",
]
CHANNELS: tuple[str, ...] = get_args(Channel)

LIMITS = {"title": 60, "persona": 600, "summary": 300, "step": 200}

_Step = Annotated[str, Field(min_length=10, max_length=LIMITS["step"])]


class Persona(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    segment_id: int
    title: str = Field(min_length=3, max_length=LIMITS["title"])
    persona: str = Field(min_length=20, max_length=LIMITS["persona"])
    summary: str = Field(min_length=20, max_length=LIMITS["summary"])
    next_marketing_steps: list[_Step] = Field(min_length=3, max_length=3)
    recommended_channel: Channel

    def texts(self) -> dict[str, str]:
        """Every free-text field by name, steps numbered from 1."""
        steps = {f"next_marketing_steps[{i}]": step for i, step in enumerate(self.next_marketing_steps, 1)}
        return {"title": self.title, "persona": self.persona, "summary": self.summary, **steps}


class PersonaSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    personas: list[Persona]


def _inline_refs(node: Any, definitions: dict[str, Any]) -> Any:
    """Resolve pydantic's `$ref`s in place and drop `title`s: a small, flat schema costs fewer tokens."""
    if isinstance(node, list):
        return [_inline_refs(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _inline_refs(definitions[node["$ref"].rsplit("/", 1)[-1]], definitions)
    schema = {
        key: _inline_refs(value, definitions) for key, value in node.items() if key not in {"title", "$defs"}
    }
    if "properties" in node:  # property names are data, not keywords: a property may be called "title"
        schema["properties"] = {
            name: _inline_refs(sub, definitions) for name, sub in node["properties"].items()
        }
    return schema


def response_json_schema() -> dict[str, Any]:
    """JSON schema of `PersonaSet`, self-contained, for `GenerateContentConfig.response_json_schema`."""
    schema = PersonaSet.model_json_schema()
    return _inline_refs(schema, schema.get("$defs", {}))
