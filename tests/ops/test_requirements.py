"""requirements.txt, what a deployment installs on its Airflow image, declares what product code imports.

Every distribution a module under dags/, plugins/ or services/ imports must be listed, unless Airflow
itself requires it (the image brings Airflow and its dependencies). Something that only arrives through
another package's dependencies, like pandas through the Google provider, can vanish with that package's
next release. Exact versions belong in requirements.lock; requirements.txt gives compatible ranges so a
Composer image's preinstalled packages can satisfy it.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from functools import cache
from importlib.metadata import distribution, packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

PRODUCT_DIRS = ("dags", "plugins", "services")
FIRST_PARTY = {"segmentation", "services"}


def declared() -> dict[str, Requirement]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    requirements = [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]
    return {canonicalize_name(requirement.name): requirement for requirement in requirements}


def imported_modules() -> dict[str, set[str]]:
    """Absolute imports of product code: module -> the files importing it."""
    found: dict[str, set[str]] = {}
    for directory in PRODUCT_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    # `from google.cloud import bigquery`: the name may be the module, in a namespace package.
                    modules = [_module_of(node.module, node.names[0].name)]
                else:
                    continue
                for module in modules:
                    if module.split(".")[0] not in {*sys.stdlib_module_names, *FIRST_PARTY, "__future__"}:
                        found.setdefault(module, set()).add(str(path.relative_to(ROOT)))
    return found


def _module_of(package: str, name: str) -> str:
    spec = importlib.util.find_spec(package)
    return f"{package}.{name}" if spec is not None and spec.origin is None else package


@cache
def _top_level_distributions() -> dict[str, list[str]]:
    return packages_distributions()


@cache
def _files_of(name: str) -> frozenset[str]:
    return frozenset(str(file) for file in distribution(name).files or [])


def distribution_of(module: str) -> str:
    """The installed distribution whose files hold `module` (namespace packages like google.* included)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"{module} is not installed"
    origin = Path(spec.origin).resolve()
    # The deepest sys.path entry holding the module: the repo root is on sys.path too, and a venv inside
    # the checkout (.venv) would otherwise make site-packages paths look like repo files.
    entries = [entry.resolve() for entry in map(Path, sys.path) if entry.is_dir()]
    root = max(
        (entry for entry in entries if origin.is_relative_to(entry)), key=lambda entry: len(entry.parts)
    )
    relative = str(origin.relative_to(root))
    for name in _top_level_distributions().get(module.split(".")[0], []):
        if relative in _files_of(name):
            return canonicalize_name(name)
    raise AssertionError(f"no installed distribution holds {module} ({origin})")


def _requirement_closure(name: str, seen: set[str]) -> set[str]:
    if name in seen:
        return seen
    seen.add(name)
    for text in distribution(name).requires or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            _requirement_closure(canonicalize_name(requirement.name), seen)
    return seen


def provided_by_airflow() -> set[str]:
    return _requirement_closure("apache-airflow", set())


def test_every_imported_distribution_is_declared_or_comes_with_airflow():
    requirements, airflow = declared(), provided_by_airflow()
    undeclared = {}
    for module, files in imported_modules().items():
        name = distribution_of(module)
        if name not in requirements and name not in airflow:
            undeclared.setdefault(name, set()).update(files)
    assert not undeclared, f"imported but not in requirements.txt: {undeclared}"


def test_the_scan_sees_what_the_pipeline_uses():
    names = {distribution_of(module) for module in imported_modules()}
    assert {"scikit-learn", "pandas", "apache-airflow-providers-google", "google-genai"} <= names


def test_requirements_are_ranges_not_pins_and_airflow_is_left_to_the_image():
    for name, requirement in declared().items():
        assert requirement.specifier, f"{name}: give a lower bound"
        assert not any(spec.operator == "==" for spec in requirement.specifier), f"{name}: pin in the lock"
    assert "apache-airflow" not in declared()
    provider = declared()["apache-airflow-providers-google"].specifier
    assert "22.8.0" in provider and "23.0.0" not in provider, "a compatible range of the tested major"


def test_the_lock_satisfies_every_requirement():
    for name, requirement in declared().items():
        installed = distribution(name).version
        assert requirement.specifier.contains(installed, prereleases=True), (name, installed)
