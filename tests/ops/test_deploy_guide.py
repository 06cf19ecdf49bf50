"""docs/deploy.md against the code it documents."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def test_the_deployment_guide_documents_every_gemini_setting():
    from segmentation.gemini_settings import GeminiSettings

    guide = (ROOT / "docs" / "deploy.md").read_text()
    section = guide.split("### Gemini for the personas")[1].split("\n### ")[0]
    documented = set(re.findall(r"^\s*\| `(\w+)`(?:, `(\w+)`)?", section, re.M))
    keys = {key for pair in documented for key in pair if key}
    assert keys == set(GeminiSettings.model_fields)
    assert "roles/aiplatform.user" in section and "aiplatform.googleapis.com" in section
