"""Every response model and every params class of the spec imports from clerk_async.models."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import attrs
import pytest

import clerk_async.models
from clerk_async.models import spec
from clerk_async.models.common import Model, Params
from clerk_async.services.spec import OPERATIONS


def test_the_contract_names() -> None:
    from clerk_async.models import (  # noqa: F401  # the names DESIGN.md promises
        CreateUserParams,
        Organization,
        OrganizationMembership,
        Session,
        User,
    )

    assert User is spec.User
    assert CreateUserParams.__module__ == "clerk_async.services.spec.users"


def test_every_model_and_params_class() -> None:
    models = [
        cls
        for _, cls in inspect.getmembers(spec, inspect.isclass)
        if attrs.has(cls) and issubclass(cls, Model)  # defined there, or gathered there
    ]
    assert len(models) > 250  # 257 on the 2026-05-12 spec
    for cls in models:
        assert getattr(clerk_async.models, cls.__name__) is cls
    params = {op.params: op.module for op in OPERATIONS.values()}
    assert len(params) > 240  # 245 classes for the 249 operations (a few share one)
    for name, module in params.items():
        cls = getattr(clerk_async.models, name)
        assert cls is getattr(importlib.import_module(module), name)
        assert issubclass(cls, Params)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchModel"):
        clerk_async.models.NoSuchModel  # noqa: B018


def test_importing_the_package_loads_no_models() -> None:
    code = "import sys, clerk_async.models; print('clerk_async.models.spec' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_models_do_not_import_pydantic() -> None:
    code = (
        "import sys, clerk_async; from clerk_async.models import User, CreateUserParams; "
        "User.to_dict; print('pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
