"""The template as written, and as the SAM transform turns it into CloudFormation."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


class NoManagedPolicies:
    """Stands in for the IAM lookup SAM makes for policy names (no AWS call in tests)."""

    def load(self) -> dict[str, str]:
        return {}


def read_template() -> dict[str, Any]:
    """template.yaml as plain dicts and lists, its short-form tags expanded (!Ref -> Ref)."""
    decoded, errors = decode(str(TEMPLATE))
    assert not errors, errors
    return dict(json.loads(json.dumps(decoded)))


def _with_uploaded_code(template: dict[str, Any]) -> dict[str, Any]:
    """Local CodeUri and ContentUri as S3 URIs, as `sam deploy` leaves them."""
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://artifacts/{name}.zip"
    return template


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """The SAM template as written."""
    return read_template()


@pytest.fixture(scope="session")
def transformed() -> dict[str, Any]:
    """The CloudFormation template the SAM transform produces (what IAM really gets)."""
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    try:
        loader: Any = NoManagedPolicies()
        return dict(transform(_with_uploaded_code(read_template()), {}, loader))
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous
