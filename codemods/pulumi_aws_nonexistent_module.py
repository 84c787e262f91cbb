"""Rule `pulumi-aws-nonexistent-module`: a pulumi_aws sub-package that does not exist."""

from __future__ import annotations

import re

import libcst as cst
from libcst.metadata import QualifiedNameProvider

from iacfix.codemods._aws_resources import code
from iacfix.codemods._provider_api import (
    EVIDENCE,
    ProviderImports,
    aws_symbol,
    close_matches,
    did_you_mean,
    module_of,
    versions,
)
from iacfix.codemods._provider_index import ProviderIndex, indexes_for
from iacfix import prefilter
from iacfix.results import Safety
from iacfix.rule import Rule

#: Service names from boto3, CloudFormation and CDK -> the pulumi_aws sub-package holding those
#: resources. A use is renamed only when the target module has the very name used
#: (`aws.logs.LogGroup` -> `aws.cloudwatch.LogGroup`); tests/test_provider_index.py checks that
#: no alias is a real module and every target is one, in every shipped index.
MODULE_ALIASES: dict[str, str] = {
    "logs": "cloudwatch",
    "cloudwatchlogs": "cloudwatch",
    "events": "cloudwatch",
    "eventbridge": "cloudwatch",
    "elbv2": "lb",
    "elasticloadbalancingv2": "lb",
    "stepfunctions": "sfn",
    "certificatemanager": "acm",
    "secretmanager": "secretsmanager",
    "applicationautoscaling": "appautoscaling",
    "systemsmanager": "ssm",
    "dynamo": "dynamodb",
    "firehose": "kinesis",
    "kinesisfirehose": "kinesis",
    "lambda_function": "lambda_",
    "awslambda": "lambda_",
}


class PulumiAwsNonexistentModule(Rule):
    """A pulumi_aws sub-package that does not exist (`aws.logs`, `aws.elbv2`, `aws.stepfunctions`).

    pulumi_aws groups resources by the Terraform provider's service names, which are not boto3's
    or CloudFormation's: log groups live in `cloudwatch` (not `logs`), EventBridge rules in
    `cloudwatch` (not `events`), ALBs in `lb` (not `elbv2`), state machines in `sfn` (not
    `stepfunctions`), Firehose streams in `kinesis`. The rule checks every `pulumi_aws.<module>`
    the code names (`aws.logs.LogGroup`, `from pulumi_aws import logs`, `import pulumi_aws.logs`)
    against the provider signature index for the project's major (every shipped major when it is
    unknown).

    ## Why is this bad?

    ```
    AttributeError: module 'pulumi_aws' has no attribute 'logs'
    ```

    (`ModuleNotFoundError: No module named 'pulumi_aws.logs'` for an import.) The program stops at
    `pulumi preview`.

    ## Fix

    Where a table of boto3/CloudFormation/CDK service names maps the module to the pulumi_aws one
    and that module has the very name used, the attribute chain is rewritten:
    `aws.logs.LogGroup(...)` -> `aws.cloudwatch.LogGroup(...)`, `aws.elbv2.TargetGroup` ->
    `aws.lb.TargetGroup`. Imports of a missing module, uses whose name the target module lacks, and
    modules the table does not know are reported with suggestions (the alias, close matches among
    pulumi_aws's modules, and the modules that have the name used).

    ## Fix safety

    Safe: the code raised before the fix, so nothing was deployed from it, and after it names the
    same resource type in the module where pulumi_aws defines it.

    ## References

    - https://www.pulumi.com/registry/packages/aws/api-docs/
    """

    id = "pulumi-aws-nonexistent-module"
    title = "Use the pulumi_aws sub-package that defines the resource"
    safety = Safety.SAFE
    evidence = EVIDENCE

    METADATA_DEPENDENCIES = (QualifiedNameProvider,)

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """A module name the imports or `<package alias>.<module>.` chains use that no index has."""
        if not super().applies(source, path, project, settings):
            return False
        text = prefilter.text_of(source)
        imports = ProviderImports.of(text)
        used = set(imports.named_modules)
        for package in imports.packages:
            used.update(re.findall(rf"(?<![\w.]){re.escape(package)}\.([a-z_]\w*)\.", text))
        indexes = indexes_for(project.aws_major)
        return any(all(not index.has_module(m) and not index.has_symbol("", m) for index in indexes)
                   for m in used if m.islower()) if indexes else False

    def visit_Module(self, node: cst.Module) -> None:
        self.indexes: tuple[ProviderIndex, ...] = indexes_for(self.project.aws_major)

    def _missing(self, module: str) -> bool:
        return all(not index.has_module(module) and not index.has_symbol("", module) for index in self.indexes)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if not self.indexes or node.relative or node.module is None:
            return False
        parts = code(node.module).split(".")
        if parts[0] != "pulumi_aws":
            return False
        if len(parts) >= 2 and self._missing(parts[1]):
            self.report(node.module, self._message(parts[1], None, None), safety=Safety.DISPLAY_ONLY)
        elif len(parts) == 1 and not isinstance(node.names, cst.ImportStar):
            for alias in node.names:
                name = code(alias.name)
                if name.islower() and self._missing(name):
                    self.report(alias, self._message(name, None, None), safety=Safety.DISPLAY_ONLY)
        return False

    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names if self.indexes else ():
            parts = code(alias.name).split(".")
            if parts[0] == "pulumi_aws" and len(parts) >= 2 and self._missing(parts[1]):
                self.report(alias, self._message(parts[1], None, None), safety=Safety.DISPLAY_ONLY)
        return False

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.BaseExpression:
        """`aws.logs.LogGroup`: the inner `aws.logs` names a module that does not exist."""
        if not self.indexes or not isinstance(original_node.value, cst.Attribute):
            return updated_node
        module = module_of(self, original_node.value)
        if module is None or not module.islower() or not self._missing(module):
            return updated_node
        if aws_symbol(self, original_node) is None:
            return updated_node
        name = original_node.attr.value
        target = MODULE_ALIASES.get(module)
        if target is not None and not all(index.has_symbol(target, name) for index in self.indexes):
            target = None
        message = self._message(module, name, target)
        if not self.report(original_node.value, message, safety=None if target else Safety.DISPLAY_ONLY) \
                or target is None:
            return updated_node
        return updated_node.with_changes(value=updated_node.value.with_changes(attr=cst.Name(target)))

    def _message(self, module: str, name: str | None, target: str | None) -> str:
        head = f"{versions(self.indexes)} has no module `pulumi_aws.{module}`"
        if target is not None:
            return f"{head}; `{name}` is in `pulumi_aws.{target}`, which the fix uses."
        hints = []
        alias = MODULE_ALIASES.get(module)
        modules = sorted({m for index in self.indexes for m in index.module_names()})
        suggestions = [alias] if alias else close_matches(module, modules)
        if suggestions:
            hints.append(did_you_mean([f"pulumi_aws.{s}" for s in suggestions]))
        if name is not None:
            holders = sorted({m for index in self.indexes for m in index.module_names() if index.has_symbol(m, name)})
            if holders:
                hints.append(f"`{name}` is in " + " and ".join(f"`pulumi_aws.{m}`" for m in holders[:3]))
        return head + ("; " + "; ".join(hints) if hints else "") + " (AttributeError at `pulumi preview`)."
