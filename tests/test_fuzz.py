"""Property-based fuzzing over real HTTP (issue 11, items 5 and 12).

Every public operation, given hostile values, either succeeds or raises a ClerkError;
FakeClerk, given hostile raw requests, answers only 2xx or 4xx. Deterministic
(``derandomize``) and small here; ``python -m benchmarks.fuzz`` runs the big count.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from clerk_async.testing._app import _HAS_STATE, ROUTES
from clerk_async.testing._spec import OPERATIONS as SPEC
from clerk_async.testing._state import HANDLERS as STATE_HANDLERS
from tests import _fuzz

EXAMPLES = 100
STATELESS_EXAMPLES = 12
# Users, organizations, sessions...: a hundred routes over a few small state modules, most
# of them keyed by an id the hostile request does not know; benchmarks.fuzz runs more.
STATE_EXAMPLES = 20
_STATE_ROUTES = {(SPEC[o].method, SPEC[o].path) for o in STATE_HANDLERS}

fuzz_settings = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def harness() -> Iterator[_fuzz.Harness]:
    h = _fuzz.Harness()
    yield h
    h.close()


OPERATIONS = sorted(_fuzz.operations(_fuzz.World()))


def test_every_public_operation_is_fuzzed() -> None:
    assert len(OPERATIONS) == 22


@pytest.mark.parametrize("operation", OPERATIONS)
def test_an_operation_raises_only_clerk_errors(harness: _fuzz.Harness, operation: str) -> None:
    calls = _fuzz.operations(harness.world)[operation]

    @fuzz_settings
    @given(calls)
    def check(call: _fuzz.Call) -> None:
        error = harness.call(call)
        if _fuzz.problem(error):
            raise AssertionError(_fuzz.problem(error)) from error

    check()


@fuzz_settings
@given(data=st.data())
def test_a_client_built_from_hostile_config_raises_only_clerk_errors(
    harness: _fuzz.Harness, data: st.DataObject
) -> None:
    config = data.draw(_fuzz.configs(harness.world, harness.fake.url), label="config")
    error = harness.config(config)
    if _fuzz.problem(error):
        raise AssertionError(_fuzz.problem(error)) from error


@pytest.mark.parametrize("route", range(len(ROUTES)), ids=[f"{r.method} {r.path}" for r in ROUTES])
def test_fake_clerk_answers_hostile_requests_with_2xx_or_4xx(
    harness: _fuzz.Harness, route: int
) -> None:
    requests = _fuzz.raw_requests(harness.world, route)
    key = (ROUTES[route].method, ROUTES[route].path)
    # The stateless routes share one generic handler, driven by each route's generated
    # table: a few examples each cover that table; the big count is benchmarks.fuzz's.
    if key in _STATE_ROUTES:
        examples = STATE_EXAMPLES
    else:
        examples = EXAMPLES if key in _HAS_STATE else STATELESS_EXAMPLES

    @settings(fuzz_settings, max_examples=examples)
    @given(requests)
    def check(request: _fuzz.RawRequest) -> None:
        status = harness.raw(request)
        assert 200 <= status < 500, status

    check()
