"""Rule `pulumi-aws-nonexistent-symbol`: a pulumi_aws class, function or result attribute that
the project's provider major does not have (or deprecates)."""

from __future__ import annotations

import re

import libcst as cst
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider, ScopeProvider

from iacfix.codemods._aws_resources import assigned_values, code
from iacfix.codemods._provider_api import (
    EVIDENCE,
    ProviderImports,
    aws_symbol,
    close_matches,
    did_you_mean,
    short,
    versions,
)
from iacfix.codemods._provider_index import ProviderIndex, indexes_for
from iacfix import prefilter
from iacfix.results import Safety
from iacfix.rule import Rule

#: Names generated code gives classes that pulumi_aws calls otherwise (CDK, CloudFormation and
#: Terraform spellings): (module, wrong) -> right. Each target is checked against every shipped
#: index (tests/test_provider_index.py) and proved under the mock runtime.
SYMBOL_RENAMES: dict[tuple[str, str], str] = {
    ("rds", "DbInstance"): "Instance",
    ("rds", "DBInstance"): "Instance",
    ("rds", "DatabaseInstance"): "Instance",
    ("rds", "DbCluster"): "Cluster",
    ("rds", "DatabaseCluster"): "Cluster",
    ("rds", "DbSubnetGroup"): "SubnetGroup",
    ("ec2", "ElasticIp"): "Eip",
    ("ec2", "EIP"): "Eip",
    ("ec2", "VPC"): "Vpc",
    ("ec2", "SecurityGroupIngress"): "SecurityGroupRule",
    ("lambda_", "LambdaFunction"): "Function",
    ("iam", "IamRole"): "Role",
    ("iam", "RolePolicyAttachments"): "RolePolicyAttachment",
    ("lb", "ApplicationLoadBalancer"): "LoadBalancer",
    ("dynamodb", "DynamoDbTable"): "Table",
    ("cloudwatch", "Alarm"): "MetricAlarm",
    ("s3", "S3Bucket"): "Bucket",
}
#: Attributes every resource has besides its outputs (pulumi.CustomResource's public API;
#: tests/test_provider_index.py checks the list against the installed pulumi).
RESOURCE_ATTRIBUTES = frozenset({
    "id", "urn", "get", "get_provider", "translate_input_property", "translate_output_property",
    "pulumi_type",
})
#: The pulumi_aws sub-package `config` exposes provider settings as module attributes.
SKIPPED_MODULES = frozenset({"config"})
_IN_FAVOR = re.compile(r"in favor of (?:aws\.)?(?P<module>[\w]+)[./](?:\w+\.)?(?P<name>\w+)$")
_USE_INSTEAD = re.compile(r"Use '?(?P<name>\w+)'? instead")
#: The prefilter: dotted names, `name = <call>(` bindings and `name.attribute` reads in the text.
_DOTTED = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_BOUND_CALL = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*(?::[^=\n]*)?=\s*([A-Za-z_][\w.]*)\s*\(")
_CALL = re.compile(r"(?<![\w.])([A-Za-z_][\w.]*)\s*\(")


class PulumiAwsNonexistentSymbol(Rule):
    """A pulumi_aws name the provider major does not have: a class or function of a sub-package,
    or an attribute of an invoke's result or of a resource.

    Generated code borrows class names from CDK and CloudFormation (`aws.rds.DbInstance`,
    `aws.ec2.ElasticIp`), uses names a major removed or deprecated (`aws.s3.BucketV2` in v7),
    and reads result attributes of the wrong major: `aws.get_region().name` is deprecated in v7
    (the attribute is `.region`), and `.region` does not exist in v6. The rule checks each
    `pulumi_aws.<module>.<Name>` the code names (however pulumi_aws is imported, including
    `from pulumi_aws.<module> import <Name>`), each attribute read from a `get_*()` /
    `get_*_output()` result (called in place or through a variable), and each attribute read
    from a variable holding a pulumi_aws resource, against the provider signature index for the
    project's pulumi_aws major (every shipped major when it is unknown: the name must then be
    missing or deprecated in all of them).

    ## Why is this bad?

    ```
    AttributeError: module 'pulumi_aws.rds' has no attribute 'DbInstance'
    ```

    The program stops at `pulumi preview`. A deprecated name still works but warns on every run
    and goes away in the next major.

    ## Fix

    Confirmed renames are applied: the class names of a table of CDK/CloudFormation spellings
    (`rds.DbInstance` -> `rds.Instance`, `ec2.ElasticIp` -> `ec2.Eip`, `lb.ApplicationLoadBalancer`
    -> `lb.LoadBalancer`, ...), and a result attribute the SDK declares deprecated with a named
    successor (`get_region().name` -> `.region` on v7), or that does not exist in the project's major
    where the other major's spelling does (`.region` -> `.name` on v6). Everything else is reported
    with suggestions: close matches among the module's names, and the modules that do have the name.

    A deprecated class (`s3.BucketV2`, `s3.BucketVersioningV2`) is reported with its successor but
    not renamed: the successor has another type token, so renaming changes every URN of a deployed
    stack (v7 aliases the old type, but the change must be reviewed in `pulumi preview`).

    ## Fix safety

    Safe. A name that does not exist raised AttributeError before the fix, so nothing was deployed
    from it; a deprecated result attribute and its successor hold the same value.

    ## References

    - https://www.pulumi.com/registry/packages/aws/how-to-guides/7-0-migration/
    - https://www.pulumi.com/registry/packages/aws/api-docs/getregion/
    """

    id = "pulumi-aws-nonexistent-symbol"
    title = "Replace pulumi_aws names the provider major does not have with the ones it does"
    safety = Safety.SAFE
    evidence = EVIDENCE

    METADATA_DEPENDENCIES = (QualifiedNameProvider, ScopeProvider, ParentNodeProvider)

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """Some pulumi_aws name the text refers to (through its imports) is missing or deprecated
        in an index, or an attribute read off a pulumi_aws call, in place or through a name bound
        to one, is not one the result or resource has in every index."""
        if not super().applies(source, path, project, settings):
            return False
        indexes = indexes_for(project.aws_major)
        if not indexes:
            return False
        text = prefilter.text_of(source)
        imports = ProviderImports.of(text)
        if not (imports.packages or imports.modules or imports.symbols):
            return False
        named = {symbol for dotted in _DOTTED.findall(text) if (symbol := imports.resolve(dotted))}
        named |= set(imports.symbols.values())
        if any(_doubtful_symbol(indexes, module, name) for module, name in named):
            return True
        sources = {name: symbol for name, dotted in _BOUND_CALL.findall(text)
                   if (symbol := imports.resolve(dotted)) is not None}
        for name, (module, symbol) in sources.items():
            reads = re.findall(rf"(?<![\w.]){re.escape(name)}\.([A-Za-z_]\w*)", text)
            if any(_doubtful_attribute(indexes, module, symbol, read) for read in reads):
                return True
        for match in _CALL.finditer(text):  # `aws.get_region().name`, `aws.s3.Bucket(...).arn`
            symbol = imports.resolve(match.group(1))
            if symbol is None:
                continue
            end = prefilter.after_brackets(text, match.end() - 1)
            read = re.match(r"\s*\.([A-Za-z_]\w*)", text[end:end + 100])
            if read is not None and _doubtful_attribute(indexes, *symbol, read.group(1)):
                return True
        return False

    def visit_Module(self, node: cst.Module) -> None:
        self.indexes: tuple[ProviderIndex, ...] = indexes_for(self.project.aws_major)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if not self.indexes or node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
            return False
        parts = code(node.module).split(".")
        if parts[0] != "pulumi_aws" or len(parts) != 2 or parts[1] in SKIPPED_MODULES:
            return False
        module = parts[1]
        if not all(index.has_module(module) for index in self.indexes):
            return False
        for alias in node.names:
            name = code(alias.name)
            if not any(index.has_symbol(module, name) for index in self.indexes):
                self.report(alias, self._missing_message(module, name, fix=None), safety=Safety.DISPLAY_ONLY)
        return False

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.BaseExpression:
        if not self.indexes:
            return updated_node
        symbol = aws_symbol(self, original_node)
        if symbol is not None:
            return self._check_symbol(original_node, updated_node, *symbol)
        return self._check_attribute(original_node, updated_node)

    # -- pulumi_aws.<module>.<Name> -----------------------------------------------------------

    def _check_symbol(self, original, updated, module: str, name: str):
        if module in SKIPPED_MODULES or not all(index.has_module(module) for index in self.indexes):
            return updated  # pulumi-aws-nonexistent-module
        if module == "" and name in {m for index in self.indexes for m in index.module_names()}:
            return updated
        if not name[:1].isupper() and not name.startswith("get_"):
            return updated  # a defining file (`aws.s3.bucket`), not part of the API
        present = [index for index in self.indexes if index.has_symbol(module, name)]
        if present:
            deprecations = [index.resource(module, name).get("dep") for index in present
                            if index.resource(module, name) is not None]
            if deprecations and len(deprecations) == len(self.indexes) and all(deprecations):
                self.report(original, self._deprecated_message(module, name, deprecations[0]),
                            safety=Safety.DISPLAY_ONLY)
            return updated
        target = SYMBOL_RENAMES.get((module, name))
        if target is not None and not all(index.has_symbol(module, target) for index in self.indexes):
            target = None
        message = self._missing_message(module, name, fix=target)
        if not self.report(original, message, safety=None if target else Safety.DISPLAY_ONLY) or target is None:
            return updated
        return updated.with_changes(attr=cst.Name(target))

    def _missing_message(self, module: str, name: str, fix: str | None) -> str:
        head = f"{versions(self.indexes)} has no `{short(module, name)}`"
        if fix is not None:
            return f"{head}; the fix uses `{short(module, fix)}`."
        suggestions = close_matches(name, [s for index in self.indexes for s in index.symbols(module)])
        hints = [did_you_mean([short(module, s) for s in suggestions])] if suggestions else []
        elsewhere = sorted({m for index in self.indexes for m in index.modules
                            if m != module and index.has_symbol(m, name)})[:3]
        if elsewhere:
            hints.append("it exists as " + " and ".join(f"`{short(m, name)}`" for m in elsewhere))
        return head + ("; " + "; ".join(hints) if hints else "") + " (AttributeError at `pulumi preview`)."

    def _deprecated_message(self, module: str, name: str, message: str) -> str:
        successor = _IN_FAVOR.search(message)
        hint = (f"use `{short(successor['module'], successor['name'])}`" if successor else message.rstrip("."))
        return (f"`{short(module, name)}` is deprecated in {versions(self.indexes)}: {hint}; renaming "
                "changes the resource's type token, so the rule does not (review `pulumi preview` after "
                "renaming by hand).")

    # -- <invoke result>.<attr>, <resource variable>.<attr> -----------------------------------

    def _check_attribute(self, original: cst.Attribute, updated: cst.Attribute):
        found = self._source_of(original.value)
        if found is None:
            return updated
        kind, module, name = found
        attribute = original.attr.value
        entries = [(index, index.function(module, name) if kind == "function" else index.resource(module, name))
                   for index in self.indexes]
        if any(entry is None for _, entry in entries):
            return updated
        if kind == "function":
            known = [entry.get("result") for _, entry in entries]
            if any(k is None for k in known):
                return updated
        else:
            if attribute in RESOURCE_ATTRIBUTES or attribute.startswith("_"):
                return updated
            known = [entry["out"] for _, entry in entries]
        missing = [index for (index, _), names in zip(entries, known) if attribute not in names]
        deprecated = [(index, entry.get("dep_result", {}).get(attribute)) for index, entry in entries
                      if kind == "function" and attribute in entry.get("dep_result", {})]
        if len(missing) + len(deprecated) < len(self.indexes):
            return updated
        what = f"the result of `{short(module, name)}()`" if kind == "function" else f"a `{short(module, name)}`"
        target = self._attribute_fix(attribute, known, deprecated, (module, name) == ("", "get_region"))
        if missing:
            head = f"{what} has no attribute `.{attribute}` in {versions(tuple(missing))}"
        else:
            reason = deprecated[0][1].rstrip(".")
            head = f"`.{attribute}` of {what} is deprecated in {versions(self.indexes)} ({reason})"
        if target is not None:
            message = f"{head}; the fix reads `.{target}`."
        else:
            suggestions = close_matches(attribute, [n for names in known for n in names])
            message = head + (f"; {did_you_mean(['.' + s for s in suggestions])}" if suggestions else "") + \
                " (no confirmed replacement)."
        if not self.report(original.attr, message, safety=None if target else Safety.DISPLAY_ONLY) or target is None:
            return updated
        return updated.with_changes(attr=cst.Name(target))

    def _attribute_fix(self, attribute: str, known: list[list[str]], deprecated, region: bool) -> str | None:
        """A deprecated attribute's named successor, or the other major's spelling of
        `get_region()`'s region (`.name` in 6, `.region` in 7)."""
        targets = set()
        for _, message in deprecated:
            match = _USE_INSTEAD.search(message or "")
            if match:
                targets.add(match["name"])
        if not targets and region and attribute in REGION_SPELLINGS:
            targets = {REGION_SPELLINGS[attribute]}
        if len(targets) != 1:
            return None
        target = targets.pop()
        return target if all(target in names for names in known) else None

    def _source_of(self, node: cst.BaseExpression) -> tuple[str, str, str] | None:
        """("function" | "resource", module, name) when `node` is a pulumi_aws invoke or resource
        call, in place or through a name every binding of which is one."""
        values = [node] if isinstance(node, cst.Call) else (
            assigned_values(self, node) if isinstance(node, cst.Name) else [])
        found = set()
        for value in values:
            if not isinstance(value, cst.Call):
                return None
            symbol = aws_symbol(self, value.func)
            if symbol is None:
                return None
            module, name = symbol
            if name.startswith("get_"):
                found.add(("function", module, name))
            elif name[:1].isupper() and all(index.resource(module, name) is not None for index in self.indexes):
                found.add(("resource", module, name))
            else:
                return None
        return found.pop() if len(found) == 1 else None


def _doubtful_symbol(indexes: tuple[ProviderIndex, ...], module: str, name: str) -> bool:
    """For the prefilter: `module.name` is a class or invoke some index lacks or deprecates."""
    if module in SKIPPED_MODULES or not (name[:1].isupper() or name.startswith("get_")):
        return False
    return any(not index.has_symbol(module, name) or (index.resource(module, name) or {}).get("dep")
               for index in indexes)


def _doubtful_attribute(indexes: tuple[ProviderIndex, ...], module: str, name: str, attribute: str) -> bool:
    """For the prefilter: `.attribute` of an invoke's result or a resource, which some index does
    not list (or deprecates) for it."""
    if name.startswith("get_"):
        entries = [index.function(module, name) for index in indexes]
        return any(e is not None and (e.get("result") is not None and attribute not in e["result"]
                                      or attribute in e.get("dep_result", {})) for e in entries)
    if attribute in RESOURCE_ATTRIBUTES or attribute.startswith("_"):
        return False
    entries = [index.resource(module, name) for index in indexes]
    return any(e is not None and attribute not in e["out"] for e in entries)


#: `get_region()` names the region `.name` in pulumi_aws 6 and `.region` in 7.
REGION_SPELLINGS = {"name": "region", "region": "name"}
