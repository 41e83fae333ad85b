"""``prepare`` works out each operation once (``_Recipe``): what it keeps must never leak
from one operation into another that shares a params class or a template."""

from __future__ import annotations

import attrs

from clerk_async import _validate as v
from clerk_async._convert import param
from clerk_async._prepare import prepare
from clerk_async.models.common import Params


@attrs.frozen(kw_only=True)
class _Membership(Params):
    # Declared in the other order than the template names them.
    user_id: str = param("path", v.identifier(), required=True)
    organization_id: str = param("path", v.identifier(), required=True)
    role: str | None = param("body", v.string(), required=False)


def test_path_values_fill_the_template_by_name_not_by_field_order() -> None:
    params = _Membership(user_id="user/1", organization_id="org_2", role="admin")
    template = "/organizations/{organization_id}/memberships/{user_id}"
    prepared = prepare("PATCH", template, None, params)
    assert prepared.path == "/organizations/org_2/memberships/user%2F1"
    assert prepared.path == template.format_map(prepared.path_values)
    assert prepared.bucket == "membership:org_2/user%2F1"  # a per-object limit
    assert prepared.route == "PATCH " + template
    assert prepared.body == b'{"role":"admin"}'


def test_one_params_class_on_two_operations_keeps_each_ones_route_and_safety() -> None:
    params = _Membership(user_id="user_1", organization_id="org_2")
    template = "/organizations/{organization_id}/memberships/{user_id}"
    patch = prepare("PATCH", template, None, params)
    delete = prepare("DELETE", template, None, params)
    post = prepare("POST", template + "/x", None, params)
    again = prepare("POST", template + "/x", None, params, idempotent=True)
    assert (patch.route, patch.bucket) == ("PATCH " + template, "membership:org_2/user_1")
    assert (delete.route, delete.bucket, delete.idempotent) == ("DELETE " + template, None, True)
    assert (post.path, post.idempotent, again.idempotent) == (
        "/organizations/org_2/memberships/user_1/x",
        False,
        True,
    )
    assert patch.refused is not None  # a PATCH that changes nothing
    assert post.body == b"{}"


def test_no_params() -> None:
    prepared = prepare("DELETE", "/webhooks/svix", type(None))
    assert (prepared.path, prepared.route, prepared.idempotent, prepared.body) == (
        "/webhooks/svix",
        "DELETE /webhooks/svix",
        True,
        None,
    )
