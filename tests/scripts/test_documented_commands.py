"""Every command the docs tell a user to run starts as written: from the repository root, no PYTHONPATH."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# `.venv/bin/python scripts/run_local.py …`, `python -m local_bigquery serve …`
COMMAND = re.compile(
    r"(?:\.venv/bin/)?python (?:(?P<script>(?:scripts|benchmarks)/\w+\.py)|-m (?P<module>[\w.]+)(?: (?P<sub>[a-z]+))?)"
)


def documented_commands() -> list[tuple[str, ...]]:
    found = set()
    for doc in DOCS:
        for match in COMMAND.finditer(doc.read_text()):
            if match["script"]:
                found.add((match["script"],))
            else:
                found.add(("-m", match["module"], *([match["sub"]] if match["sub"] else [])))
    return sorted(found)


def test_the_docs_name_the_scripts_users_run():
    commands = documented_commands()
    assert ("scripts/run_local.py",) in commands
    assert ("scripts/run_ui.py",) in commands
    assert ("-m", "local_bigquery", "load") in commands


@pytest.mark.parametrize("command", documented_commands(), ids=" ".join)
def test_documented_command_starts_without_pythonpath(command):
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, *command, "--help"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage:" in result.stdout
