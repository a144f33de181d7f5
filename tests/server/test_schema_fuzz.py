"""schemathesis against the server's own OpenAPI schema: no 5xx, and every response matches the schema.

Every check runs except ``positive_data_acceptance``: the schema types the original's loose request bodies
(a graph is any list of edges), and the library then refuses a graph it cannot use with a typed 400, which
the schema documents.

Bounded in ``make test`` (``TENSORRAG_FUZZ_EXAMPLES``, default 8 examples per operation); set it higher for a
longer run. The server is real uvicorn on 127.0.0.1 over a fresh workspace.
"""

from __future__ import annotations

import os

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import positive_data_acceptance  # noqa: E402

from tensorrag.server import create_app  # noqa: E402
from tests.server.conftest import serve  # noqa: E402

EXAMPLES = int(os.environ.get("TENSORRAG_FUZZ_EXAMPLES", "8"))


def test_no_server_error_and_responses_match_the_schema(tmp_path):
    with serve(create_app(workspace=str(tmp_path))) as base:
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        failures: dict[str, str] = {}
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 20  # the original's routes and /api/v2
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def check(case):  # type: ignore[no-untyped-def]
                case.call_and_validate(excluded_checks=[positive_data_acceptance])

            try:
                check()
            except Exception as exc:  # collect every failing operation, then report them together
                failures[operation.label] = f"{type(exc).__name__}: {str(exc)[:600]}"
        assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
