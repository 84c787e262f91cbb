"""Rule boto3-resource-in-tests: boto3's frozen resource API in tests and Lambda handlers."""

from __future__ import annotations

import re

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import QualifiedNameProvider

from iacfix.codemods._fstrings import imported_modules
from iacfix.codemods._boto3_clients import CLIENT_METADATA, Boto3Clients
from iacfix.results import Safety
from iacfix.rule import Rule

_RESOURCE_FACTORIES = frozenset({"boto3.resource"})
_RESOURCE_TEXT = re.compile(rb"(?<![\w-])resource(?=\s*[(),\\\r\n]|\s+as\b|\s*$)", re.MULTILINE)
#: The services boto3 has a resource model for: `boto3.session.Session().get_available_resources()`
#: on boto3 1.44.8 (the newest model is ec2's 2016-11-15; boto3 ships 445 client services).
#: tests/test_real_boto3_resource.py keeps this equal to the installed boto3.
RESOURCE_SERVICES = frozenset({
    "cloudformation", "cloudwatch", "dynamodb", "ec2", "glacier", "iam", "s3", "sns", "sqs",
})
#: What the common resource calls become on the client (method names checked against botocore's
#: service models by tests/test_real_boto3_resource.py).
CLIENT_HINTS = {
    "dynamodb": ("Table(name).get_item/put_item/query(...) become client.get_item/put_item/query"
                 "(TableName=name, ...) with typed attribute values ({\"S\": ...}; "
                 "boto3.dynamodb.types.TypeSerializer/TypeDeserializer convert)"),
    "s3": ("Object(bucket, key).get() becomes client.get_object(Bucket=bucket, Key=key) and "
           "Bucket(bucket).objects.filter(Prefix=p) client.get_paginator(\"list_objects_v2\")"),
    "ec2": ("Vpc(id) / Instance(id) become client.describe_vpcs(VpcIds=[id]) / "
            "client.describe_instances(InstanceIds=[id])"),
    "sqs": ("get_queue_by_name(QueueName=n) becomes client.get_queue_url(QueueName=n), and "
            "Queue(url).send_message(...) client.send_message(QueueUrl=url, ...)"),
    "sns": "Topic(arn).publish(...) becomes client.publish(TopicArn=arn, ...)",
    "iam": "Role(name) becomes client.get_role(RoleName=name)",
    "cloudwatch": "Metric(namespace, name).put_data(...) becomes client.put_metric_data(Namespace=namespace, ...)",
    "cloudformation": "Stack(name) becomes client.describe_stacks(StackName=name)",
    "glacier": "Vault(account, name) becomes client.describe_vault(accountId=account, vaultName=name)",
}
_TEST_IMPORTS = {"pytest", "unittest"}
_HANDLER_NAMES = {"handler", "lambda_handler", "main_handler"}
_HANDLER_DIRECTORIES = {"lambda", "lambdas", "lambda_functions", "functions", "handlers"}


class Boto3ResourceInTests(Rule):
    """`boto3.resource(...)` in integration tests or in Lambda handler code shipped with the stack.

    Seed 004 §6: the payment processor Lambda of the stack (`lib/lambda/payment_processor.py`)
    starts with `dynamodb = boto3.resource('dynamodb')`; the seed's fix is `boto3.client`.
    Generated integration tests do the same (`cls.dynamodb = boto3.Session().resource(...)`).
    Every import spelling counts (`import boto3 as b`, `from boto3 import resource`), and so does
    `.resource(...)` on a `boto3.Session` / `boto3.session.Session` (a name, `self.session`,
    `cls.session`, or the call itself).

    ## Why is this bad?
    The resource API is frozen: every resource page of boto3's documentation carries the
    "feature-freeze" note pointing to the resources guide, which says the SDK team does not intend
    to add new features to resources and that newer service features are reached through the
    client. Installed boto3 (1.44.8) has resource models for 9 services (cloudformation,
    cloudwatch, dynamodb, ec2, glacier, iam, s3, sns, sqs), the newest from 2016, against 445
    client services: `boto3.resource("lambda")` (or `"logs"`, `"secretsmanager"`, ...) raises
    `ResourceNotExistsError` at import time of the handler or test. Code written against
    resources also returns different types (DynamoDB `Decimal`s and deserialised items) from the
    client code the rest of the project and AWS's examples use.

    ## Fix
    None automatic: the finding names the client equivalent (`boto3.client("dynamodb")`) and how
    the usual resource calls translate. A mechanical rewrite is not equivalent: resources return
    deserialised values (`table.get_item()["Item"]["amount"]` is a `Decimal`, the client's is
    `{"N": "12.5"}`), lazy-load attributes and paginate collections, so each call site needs a
    human.

    Only test code (files under `tests/`/`test/`, `test_*.py`, `*_test.py`, `conftest.py`, or
    modules importing pytest/unittest) and Lambda handlers (a module-level `handler(event,
    context)`-style function, or a file under a `lambda/`, `lambdas/`, `functions/` or `handlers/`
    directory) are checked: the stack's Pulumi program and other scripts are not this rule's
    business.

    ## Fix safety
    Display only: the client returns differently shaped data, so every use of the resource must be
    rewritten and re-tested by hand.

    ## References
    - Seed 004 §6 (Lambda uses the boto3 resource API)
    - https://boto3.amazonaws.com/v1/documentation/api/latest/guide/resources.html
    - boto3/docs/resource.py `_add_resource_note` (the "feature-freeze" section on every resource page)
    - https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html
    """

    id = "boto3-resource-in-tests"
    title = "Report boto3's frozen resource API in tests and Lambda handlers, with the client equivalent"
    safety = Safety.DISPLAY_ONLY
    evidence = (b"resource",)

    METADATA_DEPENDENCIES = CLIENT_METADATA

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._where: str | None = None
        self._clients: Boto3Clients | None = None

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """`boto3` occurs, and `resource` as a called, imported or aliased name (a factory is
        boto3's `resource` or a boto3 session's `.resource`)."""
        return b"boto3" in source and bool(_RESOURCE_TEXT.search(source))

    def visit_Module(self, node: cst.Module) -> None:
        self._where = _kind_of_module(node, self.file.path)
        if self._where is not None:
            self._clients = Boto3Clients(self, node)

    def visit_Call(self, node: cst.Call) -> None:
        if self._where is None or not self._is_resource_factory(node):
            return
        service = _service(node)
        code = cst.Module(body=()).code_for_node(node.func)
        shown = f'{code}("{service}")' if service else f"{code}(...)"
        if service is None:
            advice = "use boto3.client(...) for the same service and rewrite each use by hand"
        elif service not in RESOURCE_SERVICES:
            self.report(node, f"{shown} in {self._where} raises ResourceNotExistsError: boto3 has no "
                        f'resource for "{service}" (resources are frozen at 9 services); use '
                        f'boto3.client("{service}").')
            return
        else:
            advice = f'use boto3.client("{service}"): {CLIENT_HINTS[service]}'
        self.report(node, f"{shown} in {self._where} uses boto3's resource API, which AWS no longer "
                    f"adds features to; {advice}.")

    def _is_resource_factory(self, call: cst.Call) -> bool:
        names = {q.name for q in self.get_metadata(QualifiedNameProvider, call.func, set())}
        if names & _RESOURCE_FACTORIES:
            return True
        if isinstance(call.func, cst.Attribute) and call.func.attr.value == "resource":
            assert self._clients is not None
            # Boto3Clients' session tracking (names, self./cls. attributes, annotations).
            return self._clients._kind_of(call.func.value, frozenset()) == "session"
        return False


def _service(call: cst.Call) -> str | None:
    value = next((a.value for a in call.args if a.keyword is None and not a.star), None)
    value = next((a.value for a in call.args if a.keyword is not None
                  and a.keyword.value == "service_name"), value)
    if isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
        text = value.evaluated_value
        return text if isinstance(text, str) else None
    return None


def _kind_of_module(module: cst.Module, path: str) -> str | None:
    """"test code" / "a Lambda handler" when the rule applies to the module, else None."""
    parts = path.replace("\\", "/").split("/")
    name = parts[-1]
    if (any(p in ("tests", "test") for p in parts[:-1]) or name.startswith("test_")
            or name.endswith("_test.py") or name == "conftest.py"):
        return "test code"
    imported = set()
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                for imported_name in imported_modules(small):
                    imported.add((get_full_name_for_node(imported_name) or "").split(".")[0])
    if imported & _TEST_IMPORTS:
        return "test code"
    if any(p in _HANDLER_DIRECTORIES for p in parts[:-1]):
        return "a Lambda handler"
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef) and _looks_like_handler(statement):
            return "a Lambda handler"
    return None


def _looks_like_handler(function: cst.FunctionDef) -> bool:
    params = [p.name.value for p in function.params.params]
    return params == ["event", "context"] or (
        function.name.value in _HANDLER_NAMES and len(params) == 2
    )
