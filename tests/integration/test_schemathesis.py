"""Property-based fuzzing of every endpoint from the OpenAPI spec, against a real server.

Whatever schemathesis sends — wrong types, unknown fields, huge numbers, odd strings — the server must
answer with a documented body of the right content type, and never with a 5xx. (Driven through
schemathesis' Python API: its pytest plugin does not load under pytest 9.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

from tests.pg_support import server_database
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, LiveServer, add_attendees, make_event

pytestmark = pytest.mark.slow

# Logging out would revoke the fuzzer's own token and turn the rest of the run into 401s; logout has
# its own tests.
SKIPPED = {("POST", "/api/v1/auth/logout")}


def _cases() -> list[tuple[str, str, GenerationMode]]:
    """Every operation with valid inputs; those that take any input also with invalid ones."""
    from focusdesk.server.app import create_app

    cases = []
    for path, methods in create_app().openapi()["paths"].items():
        for method, spec in methods.items():
            if (method.upper(), path) in SKIPPED:
                continue
            cases.append((method.upper(), path, GenerationMode.POSITIVE))
            if spec.get("parameters") or spec.get("requestBody"):
                cases.append((method.upper(), path, GenerationMode.NEGATIVE))
    return sorted(cases, key=lambda c: (c[1], c[0], c[2].value))


@pytest.fixture(scope="module")
def fuzz_target(backend, tmp_path_factory):
    with server_database(backend, tmp_path_factory.mktemp("fuzz")) as url:
        yield from _fuzz_target(LiveServer(database_url=url).start())


def _fuzz_target(srv: LiveServer):
    api = Api(srv.url)
    api.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Fuzz desk")
    event = make_event(api)
    add_attendees(api, event["id"], [{"name": f"Fuzz {i}", "email": f"f{i}@example.org"} for i in range(5)])
    schema = schemathesis.openapi.from_url(f"{srv.url}/openapi.json")
    yield schema, api.token
    api.close()
    srv.stop()


@pytest.mark.parametrize(("method", "path", "mode"), _cases(), ids=lambda v: getattr(v, "value", v))
def test_no_input_crashes_the_server(fuzz_target, method, path, mode):
    """Valid inputs (positive) and deliberately invalid ones (negative) alike."""
    schema, token = fuzz_target
    operation = schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def fuzz(case):
        case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"},
            checks=[checks.not_a_server_error, checks.response_schema_conformance, checks.content_type_conformance],
        )

    fuzz()
