"""boto3-resource-in-tests: its facts checked against the installed boto3 (no network, no AWS).

- the rule's table of services with a resource model is exactly what boto3 ships;
- boto3 marks every resource documentation page with its "feature-freeze" note;
- `boto3.resource(<service without a model>)` raises ResourceNotExistsError, as the message says;
- every client method the rule's hints name exists in botocore's model of that service.
"""

from __future__ import annotations

import inspect
import re

import boto3
import boto3.docs.resource
import pytest
from boto3.exceptions import ResourceNotExistsError
from iacfix.codemods.boto3_resource_in_tests import CLIENT_HINTS, RESOURCE_SERVICES

SESSION = boto3.session.Session(region_name="eu-south-1", aws_access_key_id="x",
                                aws_secret_access_key="x")


def test_resource_services_are_what_boto3_ships() -> None:
    assert set(SESSION.get_available_resources()) == RESOURCE_SERVICES
    assert set(CLIENT_HINTS) == RESOURCE_SERVICES
    assert len(SESSION.get_available_services()) > 40 * len(RESOURCE_SERVICES)


def test_resource_pages_carry_the_feature_freeze_note() -> None:
    source = inspect.getsource(boto3.docs.resource.ResourceDocumenter._add_resource_note)
    assert "feature-freeze" in source and "guide/resources" in source


@pytest.mark.parametrize("service", ["secretsmanager", "lambda", "logs"])
def test_services_without_a_model_raise(service: str) -> None:
    with pytest.raises(ResourceNotExistsError):
        SESSION.resource(service)


@pytest.mark.parametrize("service", sorted(CLIENT_HINTS))
def test_hinted_client_methods_exist(service: str) -> None:
    client = SESSION.client(service)
    methods = set(re.findall(r"client\.(\w+)", CLIENT_HINTS[service]))
    methods |= {m for group in re.findall(r"client\.([\w/]+)\(", CLIENT_HINTS[service])
                for m in group.split("/")}
    assert methods
    for method in methods:
        assert callable(getattr(client, method, None)), f"{service}: no client.{method}"
