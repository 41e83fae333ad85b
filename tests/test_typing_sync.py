"""mypy on user code of the sync client: exact sync signatures, from the generator.

Each line ending in ``# error`` must be reported by mypy --strict, and no other line may
be; ``assert_type`` lines prove the precise types.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._mypy_probe import check_probe

PROBE = """\
from typing_extensions import assert_type

from clerk_async.auth import M2MAuth, RequestState, SessionAuth
from clerk_async.batch import BatchResult
from clerk_async.models.spec import Machine, Organization, User
from clerk_async.pagination import Page
from clerk_async.sync import Clerk, SyncBatch, SyncPager


def script(clerk: Clerk, token: str) -> None:
    assert_type(clerk.users.get("u"), User)
    clerk.users.get("u", first_name="Ada")  # error
    clerk.users.get()  # error
    assert_type(clerk.users.update("u", first_name="Ada"), User)
    assert_type(clerk.organizations.create(name="Acme"), Organization)
    clerk.organizations.create()  # error
    for user in clerk.users.list(limit=10):
        assert_type(user, User)
    assert_type(clerk.users.list(), SyncPager[User])
    assert_type(clerk.users.list().page(), Page[User])
    for page in clerk.organizations.list().pages():
        assert_type(page, Page[Organization])
    clerk.users.list(limt=10)  # error
    clerk.users.get("u", timeout=1.5, max_retries=0)
    clerk.users.get("u", timeuot=1.5)  # error
    batch = clerk.machines.update_many([("mch_1", {"name": "a"})])
    assert_type(batch, SyncBatch[Machine])
    for result in batch:
        assert_type(result, BatchResult[Machine])
    assert_type(clerk.batch(clerk.users.get, ["u"]), SyncBatch[User])
    assert_type(clerk.verify_token(token), SessionAuth)
    assert_type(clerk.verify_token(token, accepts_token="m2m_token"), M2MAuth)
    clerk.verify_token(token, accepts_token="sesion_token")  # error
    assert_type(clerk.authenticate_request({}), RequestState[SessionAuth])
    user = clerk.users.get("u")
    print(user.machine_id)  # error


with Clerk("sk_test_x", base_url="http://127.0.0.1:1/v1", max_retries=0) as clerk:
    script(clerk, "t")
Clerk(base_ur="http://127.0.0.1:1/v1")  # error
Clerk(max_retries="3")  # error
"""


@pytest.mark.slow
def test_mypy_reports_exactly_the_marked_lines(tmp_path: Path) -> None:
    check_probe(PROBE, tmp_path, 9)
