"""Marketing personas for customer segments: one grounded, validated model answer per run.

`generate_personas` is what the DAG's task calls; the rest is importable for tests and reuse.
"""

from segmentation.gemini_settings import GeminiSettings
from segmentation.personas.profile import ProfileError, SegmentProfile, profiles_from_rows
from segmentation.personas.prompt import PROMPT_VERSION, Prompt, build_prompt
from segmentation.personas.response import Persona, PersonaSet, response_json_schema
from segmentation.personas.step import BACKENDS, draft_personas, generate_personas, resolve_backend
from segmentation.personas.validation import PersonaValidationError, validate_answer
from segmentation.personas.writer import Generation, PersonaGenerationError

__all__ = [
    "BACKENDS",
    "PROMPT_VERSION",
    "GeminiSettings",
    "Generation",
    "Persona",
    "PersonaGenerationError",
    "PersonaSet",
    "PersonaValidationError",
    "ProfileError",
    "Prompt",
    "SegmentProfile",
    "build_prompt",
    "draft_personas",
    "generate_personas",
    "profiles_from_rows",
    "resolve_backend",
    "response_json_schema",
    "validate_answer",
]
