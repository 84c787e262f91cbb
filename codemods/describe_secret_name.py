"""Rule `describe-secret-name`: Secrets Manager calls take `SecretId=` (seed 001 §5)."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from iacfix.codemods._boto3_clients import CLIENT_METADATA, Boto3Clients
from iacfix import prefilter
from iacfix.results import Safety
from iacfix.rule import Rule

SERVICE = "secretsmanager"
RIGHT = "SecretId"

#: Client methods whose input shape has a `SecretId` member (botocore's Secrets Manager model;
#: tests/test_real_boto3_calls.py checks this against the installed botocore).
SECRET_ID_OPERATIONS = frozenset(
    {
        "associate_cross_account_replica",
        "cancel_rotate_secret",
        "delete_resource_policy",
        "delete_secret",
        "describe_secret",
        "disassociate_cross_account_replica",
        "get_resource_policy",
        "get_secret_value",
        "list_resource_policies",
        "list_secret_version_ids",
        "put_resource_policy",
        "put_secret_value",
        "remove_regions_from_replication",
        "replicate_secret_to_regions",
        "restore_secret",
        "rotate_secret",
        "stop_replication_to_replica",
        "tag_resource",
        "untag_resource",
        "update_secret",
        "update_secret_version_stage",
        "validate_resource_policy",
    }
)

#: Keywords people write for the secret that no `SecretId` operation accepts (checked against
#: botocore in tests/test_real_boto3_calls.py).
WRONG_SPELLINGS = frozenset(
    {
        "Name",
        "name",
        "SecretName",
        "secret_name",
        "SecretArn",
        "SecretARN",
        "ARN",
        "Arn",
        "SecretID",
        "secretId",
        "secret_id",
    }
)


class DescribeSecretName(Rule):
    """Secrets Manager calls that identify the secret take `SecretId=`, not `Name=`.

    From seed 001 (§5, "Incorrect Secrets Manager API Parameter"): an integration test looked
    up a secret found by `list_secrets()` with
    `cls.secrets_client.describe_secret(Name=secret["Name"])`.
    `list_secrets()` returns each secret's `Name`, but `describe_secret()` and every other
    Secrets Manager operation that works on one existing secret take the secret as `SecretId`
    (its name or ARN). Only `create_secret()` takes `Name`.

    The rule checks calls of those operations on objects it can show to be Secrets Manager
    clients: `boto3.client("secretsmanager")` however `boto3` is imported, `boto3.Session(...)
    .client("secretsmanager")`, names, module globals and `self.x` / `cls.x` attributes bound to
    one (for example in `setUpClass`), and parameters annotated `SecretsManagerClient`
    (mypy_boto3_secretsmanager / types_boto3_secretsmanager). A `.describe_secret(...)` on any
    other object, or on a client of another service, is left alone.

    ## Why is this bad?

    botocore validates keyword arguments against the operation's input shape before sending
    anything, so the call never reaches AWS:

    ```
    botocore.exceptions.ParamValidationError: Parameter validation failed:
    Missing required parameter in input: "SecretId"
    Unknown parameter in input: "Name", must be one of: SecretId
    ```

    The integration test errors out in set-up, so no test of the stack runs.

    ## Fix

    Rename the keyword to `SecretId=` and keep the value: `SecretId` accepts the secret's name as
    well as its ARN, so `describe_secret(Name=secret["Name"])` becomes
    `describe_secret(SecretId=secret["Name"])`. The spellings renamed are `Name`, `name`,
    `SecretName`, `secret_name`, `SecretArn`, `SecretARN`, `ARN`, `Arn`, `SecretID`, `secretId`
    and `secret_id`: each is what a reader of `list_secrets()` output or of another SDK
    (`secret_id` in the Terraform provider and Pulumi, `SecretArn` in RDS) would write for the
    secret, and none of them is a parameter of any Secrets Manager operation that takes `SecretId`,
    so every one of them fails validation today.

    The rule covers every operation whose input shape has a `SecretId` member in botocore's
    Secrets Manager service model (`describe_secret`, `get_secret_value`, `put_secret_value`,
    `update_secret`, `delete_secret`, `restore_secret`, `rotate_secret`, `cancel_rotate_secret`,
    `list_secret_version_ids`, `tag_resource`, `untag_resource`, the resource-policy and
    replication operations, `update_secret_version_stage`, ...); `tests/test_real_boto3_calls.py`
    checks the list against the installed botocore. `create_secret(Name=...)` is correct and never
    touched; `batch_get_secret_value` takes `SecretIdList` and is not covered.

    No fix is offered (the finding says what to do) when the call already passes `SecretId=` as
    well (drop the wrong keyword), passes two wrong spellings (keep the right one), or passes
    `**kwargs` (which may already hold `SecretId`).

    ## Fix safety

    Safe. The call before the fix always raises `ParamValidationError` without contacting AWS;
    after the fix it makes the request the author meant, with the same value. Only test code
    calling AWS changes; no resource is touched. (A secret *name* that ends in a hyphen and six
    characters can be mistaken for a partial ARN by Secrets Manager; pass the ARN in that case.)

    ## References

    - https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html
    - https://boto3.amazonaws.com/v1/documentation/api/latest/reference/services/secretsmanager/client/describe_secret.html
    - seed 001, §5 "Incorrect Secrets Manager API Parameter"    """

    id = "describe-secret-name"
    title = "Pass the secret as `SecretId=` to Secrets Manager calls that take it"
    safety = Safety.SAFE
    evidence = (b"secretsmanager",)

    METADATA_DEPENDENCIES = (*CLIENT_METADATA,)

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """A Secrets Manager operation that takes `SecretId` is called with a wrong keyword."""
        return super().applies(source, path, project, settings) and any(
            argument.callee in SECRET_ID_OPERATIONS
            for argument in prefilter.keyword_arguments(prefilter.text_of(source), WRONG_SPELLINGS))

    def visit_Module(self, node: cst.Module) -> None:
        self.clients = Boto3Clients(self, node)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        func = original_node.func
        if not m.matches(func, m.Attribute(attr=m.Name())):
            return updated_node
        operation = func.attr.value  # type: ignore[attr-defined]
        if operation not in SECRET_ID_OPERATIONS:
            return updated_node
        wrong = [
            index
            for index, arg in enumerate(original_node.args)
            if arg.keyword is not None and arg.keyword.value in WRONG_SPELLINGS
        ]
        if not wrong:
            return updated_node
        if self.clients.service_of(func.value) != SERVICE:  # type: ignore[attr-defined]
            return updated_node

        first = original_node.args[wrong[0]]
        spelled = first.keyword.value  # type: ignore[union-attr]
        keywords = {arg.keyword.value for arg in original_node.args if arg.keyword is not None}
        if RIGHT in keywords:
            self.report(
                first,
                f"`{operation}()` does not take `{spelled}=` and already passes `SecretId=`; "
                f"remove `{spelled}=` (botocore rejects the call as it is).",
                safety=Safety.DISPLAY_ONLY,
            )
            return updated_node
        if len(wrong) > 1:
            spellings = " or ".join(
                f"`{original_node.args[i].keyword.value}=`"  # type: ignore[union-attr]
                for i in wrong
            )
            self.report(
                first,
                f"`{operation}()` takes the secret as `SecretId=`, not {spellings}; "
                "keep the one that names the secret, as `SecretId=`.",
                safety=Safety.DISPLAY_ONLY,
            )
            return updated_node
        if any(arg.star == "**" for arg in original_node.args):
            self.report(
                first,
                f"`{operation}()` takes the secret as `SecretId=`, not `{spelled}=`; the "
                "`**` arguments may already hold `SecretId`, so rename it by hand.",
                safety=Safety.DISPLAY_ONLY,
            )
            return updated_node
        if not self.report(
            first,
            f"`{operation}()` takes the secret as `SecretId=`, not `{spelled}=` (botocore "
            "raises ParamValidationError); the fix renames the keyword to `SecretId=`.",
        ):
            return updated_node
        args = list(updated_node.args)
        args[wrong[0]] = args[wrong[0]].with_changes(keyword=cst.Name(RIGHT))
        return updated_node.with_changes(args=args)
