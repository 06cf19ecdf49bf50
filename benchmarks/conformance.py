"""local_bigquery against outside conformance suites whose answers were recorded on real BigQuery.

Three suites, each fetched from its published PyPI sdist at run time (nothing of theirs is copied into this
repository) and cached under `.local/conformance/`:

- `bqemulator` 1.4.0: `tests/conformance/sql_corpus/`, SQL fixtures with BigQuery's recorded answer, run by
  the package's own runner (`tests/conformance/test_corpus.py::test_conformance_fixture`) pointed at
  our endpoint;
- `crucible-emulator` 0.1.0a2: `corpus/bigquery/`, YAML cases verified on BigQuery, run by its own
  `crucible corpus run --wire <endpoint>` path (`crucible.corpus.record.wire_outcomes`);
- `google-cloud-bigquery` 3.47.0: `tests/system/`, the official client's system tests, run by pytest with
  `BIGQUERY_EMULATOR_HOST` set and Google auth faked (the network edge).

None is installed: the sdists are only unpacked and put on `sys.path` of a worker subprocess (crucible pins a
DuckDB and sqlglot other than ours; bqemulator's corpus ships only in its sdist). Each suite runs in its own
subprocess against a fresh in-memory local_bigquery (`BackgroundServer` on a free loopback port).

Every case ends as `pass`, `refused` (local_bigquery answered "not supported by local_bigquery: …", a
refusal by design) or `failed`. `python benchmarks/conformance.py` prints the totals per suite and per
category, the refusals with the message a user sees, and writes `benchmarks/results/conformance.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Generator, Iterable
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = ROOT / ".local" / "conformance"
RESULTS = ROOT / "benchmarks" / "results" / "conformance.json"
REFUSAL = "not supported by local_bigquery: "
PROJECT = "local-project"


@dataclass(frozen=True)
class Package:
    """A published sdist: `pip download --no-deps --no-binary :all: <requirement>`."""

    requirement: str

    @property
    def directory(self) -> str:
        name, version = self.requirement.split("==")
        return f"{name.replace('-', '_')}-{version}"


BQEMULATOR = Package("bqemulator==1.4.0")
CRUCIBLE = Package("crucible-emulator==0.1.0a2")
CLIENT = Package("google-cloud-bigquery==3.47.0")
# The client's system tests import `test_utils.prefixer` (google-cloud-testutils); pure Python, no deps used.
TESTUTILS = Package("google-cloud-testutils==1.7.0")

# crucible's `--wire` caps every job at 1 byte billed, as its own server bills nothing; local_bigquery bills as
# BigQuery does (at least 10 MB for a query that reads a table), so the cases get a cap real BigQuery's
# recordings could have run under.
RECORDING_MAX_BYTES_BILLED = 10 * 1024**3

# bqemulator's query, DML, DDL and partitioning phases: the ones the product's SQL relies on.
BQEMULATOR_CORE_PHASES = ("rest_crud", "standard_functions", "partitioning_clustering", "api_configuration")


def fetch(package: Package, cache: Path) -> Path:
    """The unpacked sdist of `package` under `cache`, downloaded once with pip."""
    unpacked = cache / package.directory
    if unpacked.is_dir():
        return unpacked
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"),
            *("--no-deps", "--no-binary", ":all:", "-d", str(cache)),
            package.requirement,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (archive,) = cache.glob(f"{package.directory}.tar.gz")
    with tarfile.open(archive) as sdist:
        sdist.extractall(cache, filter="data")
    return unpacked


@dataclass
class CaseResult:
    case: str
    category: str
    status: str  # pass | refused | failed
    detail: str = ""


def _status(passed: bool, detail: str) -> str:
    if passed:
        return "pass"
    return "refused" if REFUSAL in detail else "failed"


def _one_line(text: str, limit: int = 400) -> str:
    return " ".join(str(text).split())[:limit]


@contextmanager
def local_bigquery() -> Generator[str]:
    """A fresh in-memory local_bigquery on a free loopback port; yields its URL."""
    from local_bigquery.server import BackgroundServer
    from local_bigquery.warehouse import Warehouse

    with BackgroundServer(Warehouse()) as server:
        yield server.url


# ---- the suites, each run by a worker subprocess -----------------------------------------------------


def run_bqemulator(cache: Path, url: str, selected: re.Pattern[str]) -> list[CaseResult]:
    """Every selected recorded fixture through bqemulator's own conformance test function."""
    import pytest

    root = fetch(BQEMULATOR, cache)
    sys.path.insert(0, str(root))
    from tests.conformance import test_corpus  # bqemulator's runner, not ours

    endpoint = SimpleNamespace(rest_url=url, project_id=PROJECT)
    results = []
    for fixture in test_corpus.ALL_FIXTURES:
        if not selected.search(fixture.id):
            continue
        try:
            test_corpus.test_conformance_fixture(fixture, endpoint)
            passed, detail = True, ""
        except pytest.fail.Exception as failure:
            passed, detail = False, str(failure)
        except Exception as error:  # a setup statement failed: the fixture cannot pass
            passed, detail = False, f"{type(error).__name__}: {error}"
        results.append(CaseResult(fixture.id, fixture.phase, _status(passed, detail), _one_line(detail)))
    return results


def run_crucible(cache: Path, url: str, selected: re.Pattern[str]) -> list[CaseResult]:
    """Every selected case verified on BigQuery through crucible's own `corpus run --wire` judging."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    root = fetch(CRUCIBLE, cache)
    sys.path.insert(0, str(root / "src"))
    from crucible.corpus.case import find_cases
    from crucible.corpus.record import BigQueryRecorder, wire_outcomes
    from crucible.dialects import get_dialect

    cases = [
        case
        for case in find_cases(root / "corpus" / "bigquery")
        if case.verified and selected.search(f"{case.area}/{case.name}")
    ]
    client = bigquery.Client(
        project=PROJECT, credentials=AnonymousCredentials(), client_options=ClientOptions(api_endpoint=url)
    )
    recorder = BigQueryRecorder(client, get_dialect("bigquery"), RECORDING_MAX_BYTES_BILLED)
    results = []
    for case in cases:
        try:
            (outcome,) = wire_outcomes([case], recorder)
            passed, detail = outcome.passed, "" if outcome.passed else outcome.detail
        except Exception as error:  # the official client itself failed on our answer
            passed, detail = False, f"{type(error).__name__}: {error}"
        results.append(
            CaseResult(f"{case.area}/{case.name}", case.area, _status(passed, detail), _one_line(detail))
        )
    return results


# What makes a client system test inapplicable to any local emulator: it needs a Google service other than
# the BigQuery REST API, or data only Google hosts.
_INAPPLICABLE = (
    ("bigquerystorage", "the BigQuery Storage Read API (gRPC)"),
    ("bigquery_storage", "the BigQuery Storage Read API (gRPC)"),
    # A test counting the Storage Read clients the client creates for ARROW results past the first page:
    # BigQuery serves those pages only over that API (jobs.getQueryResults has no ARROW), so local_bigquery
    # answers jobs.query with every row in the first response and the client never needs one.
    ("_create_bqstorage_transport", "the BigQuery Storage Read API (gRPC)"),
    ("bigquery-public-data", "datasets only Google hosts"),
    ("storage.googleapis.com", "Cloud Storage"),
    ("googleapis.com", "another Google service"),
    ("gs://", "Cloud Storage"),
    ("GEOGRAPHY", "GEOGRAPHY"),
    ("ST_GEOG", "GEOGRAPHY"),
    ("shapely", "GEOGRAPHY"),
    ("geopandas", "GEOGRAPHY"),
    ("IPython", "IPython magics"),
)


def run_client(cache: Path, url: str, selected: re.Pattern[str]) -> list[CaseResult]:
    """The client's system tests under pytest, its outcomes read from a JUnit report.

    pytest collects them all (a regular expression is no `-k` expression); the selection filters the report.
    One test is one case: JUnit writes a teardown error as a second testcase of the same name, which
    `_fold_teardowns` merges into the first, so a teardown failing after a refused or inapplicable call
    (cleaning up what the call never created) keeps the call's outcome, and a teardown failing after a
    passing call fails the test.
    """
    import xml.etree.ElementTree as ElementTree

    root = fetch(CLIENT, cache)
    testutils = fetch(TESTUTILS, cache)
    report = cache / "client-system-tests.xml"
    environment = {
        **os.environ,
        "BIGQUERY_EMULATOR_HOST": url,
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "PYTHONPATH": os.pathsep.join([str(testutils), str(Path(__file__).parent)]),
    }
    subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "tests/system", "-q", "-p", "conformance_auth"),
            *("-p", "no:cacheprovider", "--timeout", "20", "-o", "addopts=", "--junitxml", str(report)),
        ],
        cwd=root,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return [
        result
        for result in _fold_teardowns(
            _client_outcome(testcase) for testcase in ElementTree.parse(report).iter("testcase")
        )
        if selected.search(result.case)
    ]


def _client_outcome(testcase) -> CaseResult:
    """One JUnit testcase entry as a case: its name, module, status and the message of its problem."""
    module = testcase.get("classname", "").rsplit(".", 1)[-1]
    name = f"{module}::{testcase.get('name')}"
    problem = next((child for child in testcase if child.tag in ("failure", "error", "skipped")), None)
    detail = "" if problem is None else (problem.get("message") or "") + " " + (problem.text or "")
    if problem is not None and problem.tag == "skipped":
        status = "skipped"
    else:
        inapplicable = next((why for marker, why in _INAPPLICABLE if marker in detail), None)
        status = "inapplicable" if inapplicable else _status(problem is None, detail)
        detail = inapplicable or detail
    return CaseResult(name, module, status, _one_line(detail))


def _fold_teardowns(entries: Iterable[CaseResult]) -> list[CaseResult]:
    """One case per test: of the entries JUnit wrote for it (its call, then a failed teardown), the first
    that did not pass."""
    cases: dict[str, CaseResult] = {}
    for entry in entries:
        earlier = cases.get(entry.case)
        if earlier is None or earlier.status == "pass":
            cases[entry.case] = entry
    return list(cases.values())


SUITES: dict[str, Callable[[Path, str, re.Pattern[str]], list[CaseResult]]] = {
    "bqemulator": run_bqemulator,
    "crucible": run_crucible,
    "client": run_client,
}


EVERY_CASE = ""


def _worker(suites: list[str], cache: Path, output: Path, cases: str) -> None:
    """Each suite against a fresh warehouse; one process, so the imports and start-up are paid once."""
    results = {}
    selected = re.compile(cases)
    for suite in suites:
        with local_bigquery() as url:
            results[suite] = [asdict(result) for result in SUITES[suite](cache, url, selected)]
    output.write_text(json.dumps(results))


def run_suites(
    suites: list[str], cache: Path = DEFAULT_CACHE, cases: str = EVERY_CASE
) -> dict[str, list[CaseResult]]:
    """Run the suites' cases whose names match `cases` in one subprocess (their modules and servers stay out
    of this process)."""
    output = cache / "results.json"
    cache.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")])}
    subprocess.run(
        [
            *(sys.executable, __file__, "--worker", ",".join(suites)),
            *("--cache", str(cache), "--output", str(output), "--cases", cases),
        ],
        env=environment,
        check=True,
    )
    results = json.loads(output.read_text())
    return {suite: [CaseResult(**result) for result in results[suite]] for suite in suites}


def run_suite(suite: str, cache: Path = DEFAULT_CACHE, cases: str = EVERY_CASE) -> list[CaseResult]:
    return run_suites([suite], cache, cases)[suite]


# ---- the report ------------------------------------------------------------------------------------------


def summarize(results: list[CaseResult]) -> dict[str, Counter]:
    by_category: dict[str, Counter] = defaultdict(Counter)
    for result in results:
        by_category[result.category][result.status] += 1
        by_category["(all)"][result.status] += 1
    return by_category


def _rate(counts: Counter) -> str:
    applicable = counts["pass"] + counts["refused"] + counts["failed"]
    return f"{100 * counts['pass'] / applicable:.1f} %" if applicable else "-"


def _refusal(detail: str) -> str:
    """The refusal a user sees, without the client's decorations; geography functions counted together."""
    message = detail[detail.index(REFUSAL) :]
    for end in ("; reason:", " Location:", " bigquery_client =", " self =", "'", '"'):
        message = message.split(end)[0]
    return re.sub(r"ST_\w+", "ST_…", message)[:110]


def print_report(suite: str, results: list[CaseResult], seconds: float) -> None:
    print(f"\n== {suite}: {len(results)} cases in {seconds:.0f} s")
    print(f"{'category':32} {'pass':>5} {'refused':>8} {'failed':>7} {'other':>6}  pass rate")
    for category, counts in sorted(summarize(results).items(), key=lambda item: item[0] != "(all)"):
        other = counts["skipped"] + counts["inapplicable"]
        print(
            f"{category:32} {counts['pass']:5} {counts['refused']:8} {counts['failed']:7} {other:6}  "
            f"{_rate(counts)}"
        )
    if suite == "bqemulator":
        core = Counter()
        for result in results:
            if result.category in BQEMULATOR_CORE_PHASES:
                core[result.status] += 1
        print(f"{'query/DML/DDL/partitioning':32} {core['pass']:5} {core['refused']:8} {core['failed']:7}")
    refusals = Counter(_refusal(result.detail) for result in results if result.status == "refused")
    if refusals:
        print("refused by design:")
        for message, count in refusals.most_common():
            print(f"  {count:4}  {message}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", default=",".join(SUITES), help="comma-separated: " + ", ".join(SUITES))
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--failures", action="store_true", help="also print every failed case")
    parser.add_argument(
        "--cases", default=EVERY_CASE, help="only the cases whose names match this regular expression"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker.split(","), args.cache, args.output, args.cases)
        return 0
    everything = {}
    for suite in args.suites.split(","):
        started = time.monotonic()
        results = run_suite(suite, args.cache, args.cases)
        print_report(suite, results, time.monotonic() - started)
        if args.failures:
            for result in results:
                if result.status == "failed":
                    print(f"  FAIL {result.case}: {result.detail}")
        everything[suite] = [asdict(result) for result in results]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(everything, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
