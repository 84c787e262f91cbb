"""Rule placeholder-account-id: documentation account ids left in ARNs, ECR URIs and principals."""

from __future__ import annotations

import re

import libcst as cst
import libcst.matchers as m
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    Assignment,
    ParentNodeProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from iacfix.codemods._fstrings import fstring_parts, imported_modules
from iacfix.pulumi_names import (
    account_id_expression,
    ensure_module_alias,
    module_alias,
    region_expression,
)
from iacfix.results import Safety
from iacfix.rule import Rule

#: Account ids AWS documentation and generated code use as stand-ins, and the spelled-out
#: placeholders (`ACCOUNT_ID`, `<account-id>`, `YOUR_ACCOUNT_ID`, `{account_id}` left literal).
#: Real AWS-owned ids (ELB log delivery `127311923021`, ...) never match.
_ACCOUNT_WORD = (r"(?:(?:YOUR|[Yy]our)[-_]?)?(?:(?:AWS|[Aa]ws)[-_]?)?"
                 r"(?:ACCOUNT[-_]?ID|[Aa]ccount[-_]?(?:[Ii]d|ID))")
_PLACEHOLDER = (
    r"(?:123456789012|111122223333|444455556666|777788889999|(?P<same>\d)(?P=same){11}"
    rf"|X{{12}}|x{{12}}|<{_ACCOUNT_WORD}>|\{{{_ACCOUNT_WORD}\}}|{_ACCOUNT_WORD})"
)
#: Stands for an f-string replacement field when matching f-string text.
_FIELD = "\x00"
#: A region as written: a code, a field of an f-string, `%s` or a `.format` field.
_REGION_PART = r"(?P<region>[a-z0-9-]*|\x00|%s|\{\w*\})"
#: `arn:<partition>:<service>:<region>:<account>:<resource>`.
_ARN = re.compile(
    rf"(?<![\w-])arn:aws(?:-cn|-us-gov|-iso[a-z-]*)?:[a-z0-9-]+:{_REGION_PART}:"
    rf"(?P<account>{_PLACEHOLDER}):"
)
#: `<account>.dkr.ecr.<region>.amazonaws.com[/repo[:tag]]`.
_ECR = re.compile(
    rf"(?<![\w.-])(?P<account>{_PLACEHOLDER})\.dkr\.ecr(?:-fips)?\.{_REGION_PART}"
    r"\.amazonaws\.com"
)
#: `"AWS": "123456789012"` inside string JSON, quotes optionally backslash-escaped.
_PRINCIPAL_JSON = re.compile(
    rf'(?P<q>\\?")AWS(?P=q)\s*:\s*(?P=q)(?P<account>{_PLACEHOLDER})(?P=q)'
)
_WHOLE = re.compile(rf"{_PLACEHOLDER}\Z")
_KINDS = ((_ARN, "ARN"), (_ECR, "ECR image URI"), (_PRINCIPAL_JSON, "IAM principal"))
#: pulumi_aws.Provider arguments that can make the provider act in another account.
_ACCOUNT_CHANGING = frozenset({
    "assume_role", "assume_roles", "assume_role_with_web_identity", "profile", "access_key",
    "secret_key", "token", "shared_credentials_files", "shared_config_files",
})
_PROVIDER_CLASSES = frozenset({"pulumi_aws.Provider", "pulumi_aws.provider.Provider"})
_TEMPLATE_CALLS = frozenset({"pulumi.Output.format", "pulumi.output.Output.format"})
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


class PlaceholderAccountId(Rule):
    """A placeholder AWS account id (`123456789012`) in an ARN, ECR image URI or IAM principal.

    Generated Pulumi programs copy the account ids of AWS documentation into the resources they
    declare: `123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/api:latest` as an ECS image,
    `arn:aws:iam::123456789012:role/x` as a role, `{"AWS": "arn:aws:iam::123456789012:root"}` as
    a policy principal. From seed 003 §5 ("ECS Tasks Use Placeholder ECR Image"), whose tasks
    never started because account 123456789012 does not exist in the deploying tenant.

    Placeholders matched: `123456789012`, `111122223333` (and the other ids the IAM docs use),
    twelve equal digits (`000000000000`, `111111111111`), `XXXXXXXXXXXX`, and the spelled-out
    `ACCOUNT_ID`, `YOUR_ACCOUNT_ID`, `<account-id>`, `<ACCOUNT_ID>` and `{account_id}` left in a
    plain string that is not a `.format` template. They are fixed where they name an account: the
    account field of an ARN, the registry host of an ECR URI, a principal `"AWS": "<id>"`, and an
    argument named for an account (`source_account=`).

    ## Why is this bad?
    The placeholder is somebody else's account, or none. ECS fails with
    `CannotPullContainerError` pulling from a registry that does not exist, IAM rejects a policy
    whose principal is an unknown account (`MalformedPolicyDocument: Invalid principal`), and a
    permission or trust policy naming the documentation account grants nothing to the account
    the stack deploys to. `pulumi preview` shows none of this: the failures come at `pulumi up`
    or when the service first runs.

    ## Fix
    The account becomes the one the provider deploys to, read at run time:
    `aws.get_caller_identity().account_id`. In pulumi_aws (checked against 7.51)
    `get_caller_identity()` is a synchronous invoke returning a plain result, so `.account_id`
    is a `str`: the string becomes an f-string (other braces doubled, so a later `.format()`
    sees the same template), an f-string gets one more replacement field, and a bare principal
    or account argument becomes the expression itself. This holds inside `json.dumps` policies,
    as an argument of `Output.concat` and inside `Output.all(...).apply(lambda ...)`: the value is
    already known, so there is nothing to thread through the Output. The call is written inline,
    as `s3-bucket-name-not-unique` does, so each fixed value reads on its own;
    `import pulumi_aws as aws` is added when the module only has `from pulumi_aws import ecs`.
    A region in the same ARN or URI stays as written (`awslogs-region-hardcoded` and the region
    rules own regions) unless it is the project's configured region, which then becomes
    `aws.get_region().region` too.

    Reported without a fix: modules that create AWS providers able to act in another account
    (`assume_role=`, `profile=`, credentials) or pass providers the file does not create, since
    which account a resource belongs to cannot be read from the code there.

    Left alone: test code (files under `test`/`tests`, `test_*.py`, `*_test.py`, `conftest.py`:
    Pulumi mocks and moto legitimately answer with `123456789012`), modules that do not import
    Pulumi (boto3 scripts), real AWS-owned accounts (`127311923021`, `arn:aws:iam::aws:policy/...`),
    docstrings, comments, bytes, and twelve-digit numbers that are not in an ARN, a registry host
    or a principal (a tag value `"000000000000"` is just text).

    ## Fix safety
    Safe. A placeholder account never worked: whatever it named failed to deploy, to pull or to
    grant. With the fix the ARN, URI or principal names the deploying account, which is what the
    program meant; in an account whose id happens to be the placeholder nothing changes.

    ## References
    - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns
    - https://docs.aws.amazon.com/AmazonECR/latest/userguide/docker-pull-ecr-image.html
    - https://www.pulumi.com/registry/packages/aws/api-docs/getcalleridentity/
    - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
    """

    id = "placeholder-account-id"
    title = "Use the deploying account instead of a placeholder account id"
    safety = Safety.SAFE
    checks_test_code = False
    evidence = (
        *(str(d).encode() * 12 for d in range(10)),
        b"123456789012", b"111122223333", b"444455556666", b"777788889999",
        b"XXXXXXXXXXXX", b"xxxxxxxxxxxx", b"ACCOUNT_ID", b"ACCOUNT-ID", b"ACCOUNTID",
        *(f"ccount{sep}{word}".encode() for sep in ("", "_", "-") for word in ("id", "Id", "ID")),
    )

    METADATA_DEPENDENCIES = (QualifiedNameProvider, ParentNodeProvider, ScopeProvider)

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """Only in programs that import a Pulumi package (see `visit_Module`)."""
        return b"pulumi" in source and super().applies(source, path, project, settings)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._active = False
        self._account_unknown = False
        self._aws: str | None = None

    # -- module-level facts ------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> bool:
        if self.in_test_code:
            return False
        self._active = any(
            (get_full_name_for_node(name) or "").split(".")[0].startswith("pulumi")
            for imp in m.findall(node, m.Import() | m.ImportFrom())
            for name in imported_modules(imp)
        )
        if not self._active:
            return False
        calls = m.findall(node, m.Call())
        passes_provider = any(
            _keyword(arg) in ("provider", "providers") for call in calls for arg in call.args
        )
        providers = [c for c in calls if self._qualified(c.func) & _PROVIDER_CLASSES]
        other_account = any(_keyword(arg) in _ACCOUNT_CHANGING
                            for call in providers for arg in call.args)
        self._account_unknown = other_account or (passes_provider and not providers)
        return True

    # -- text: ARNs, ECR URIs and principals inside (f-)strings ------------------------------

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.BaseExpression:
        prefix = original_node.prefix.lower()
        if not self._active or "b" in prefix or self._is_docstring(original_node):
            return updated_node
        body = original_node.raw_value
        template = self._is_template(original_node)
        matches = [hit for hit in _find(body) if not (template and hit[1]["account"][0] == "{")]
        if not matches:
            return updated_node
        replacements = self._replacements(original_node, matches)
        if replacements is None:
            return updated_node
        parts = list(fstring_parts(body, replacements, from_plain_string=True, raw="r" in prefix))
        return cst.FormattedString(
            parts=parts,
            start=original_node.prefix.replace("u", "").replace("U", "") + "f"
            + original_node.quote,
            end=original_node.quote,
            lpar=original_node.lpar,
            rpar=original_node.rpar,
        )

    def leave_FormattedString(
        self, original_node: cst.FormattedString, updated_node: cst.FormattedString
    ) -> cst.FormattedString:
        if not self._active or "b" in original_node.prefix.lower() or self._is_docstring(
            original_node
        ):
            return updated_node
        # Match on the text with each replacement field as one _FIELD character, so an ARN whose
        # region is a field (`f"arn:aws:sqs:{region}:ACCOUNT_ID:q"`) is seen whole.
        texts = [p.value if isinstance(p, cst.FormattedStringText) else _FIELD
                 for p in updated_node.parts]
        starts = [sum(len(t) for t in texts[:i]) for i in range(len(texts))]
        # `{{account_id}}` in an f-string is escaped text, not a forgotten field.
        matches = [hit for hit in _find("".join(texts)) if hit[1]["account"][0] != "{"]
        if not matches:
            return updated_node
        replacements = self._replacements(original_node, matches)
        if replacements is None:
            return updated_node
        parts: list[cst.BaseFormattedStringContent] = []
        for index, part in enumerate(updated_node.parts):
            start, end = starts[index], starts[index] + len(texts[index])
            mine = [((a - start, b - start), e) for (a, b), e in replacements
                    if start <= a and b <= end]
            if not mine or not isinstance(part, cst.FormattedStringText):
                parts.append(part)
            else:
                parts.extend(fstring_parts(part.value, mine, from_plain_string=False))
        return updated_node.with_changes(parts=parts)

    # -- whole values: {"AWS": "123456789012"}, source_account="123456789012" ----------------

    def leave_DictElement(
        self, original_node: cst.DictElement, updated_node: cst.DictElement
    ) -> cst.DictElement:
        key = original_node.key
        if not (self._active and isinstance(key, cst.SimpleString)
                and key.evaluated_value == "AWS"):
            return updated_node
        value = self._whole_value(original_node.value, updated_node.value, "IAM principal")
        return updated_node.with_changes(value=value)

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        keyword = _keyword(original_node)
        if not (self._active and keyword and "account" in _words(keyword)):
            return updated_node
        value = self._whole_value(original_node.value, updated_node.value, f"`{keyword}=`")
        return updated_node.with_changes(value=value)

    def _whole_value(
        self, original: cst.BaseExpression, updated: cst.BaseExpression, kind: str
    ) -> cst.BaseExpression:
        if _is_placeholder(original):
            return self._account_for(original, kind, _text(original)) or updated
        if isinstance(original, (cst.List, cst.Tuple)) and isinstance(updated, type(original)):
            elements = list(updated.elements)
            for index, element in enumerate(original.elements):
                if _is_placeholder(element.value):
                    new = self._account_for(element.value, kind, _text(element.value))
                    if new is not None:
                        elements[index] = elements[index].with_changes(value=new)
            return updated.with_changes(elements=elements)
        return updated

    # -- deciding and building the replacement -----------------------------------------------

    def _replacements(
        self, node: cst.CSTNode, matches: list[tuple[str, re.Match[str]]]
    ) -> list[tuple[tuple[int, int], cst.BaseExpression]] | None:
        """The spans of `node`'s text to replace and their expressions (None: no fix)."""
        found: list[tuple[tuple[int, int], cst.BaseExpression]] = []
        for kind, match in matches:
            account = self._account_for(node, kind, match["account"], _token(match))
            if account is None:
                continue
            found.append((match.span("account"), account))
            region = match.groupdict().get("region")
            if region and region == self.project.region:
                found.append((match.span("region"), cst.parse_expression(
                    region_expression(self._alias(), self.project.aws_major))))
        return sorted(found, key=lambda item: item[0]) or None

    def _account_for(
        self, node: cst.CSTNode, kind: str, placeholder: str, shown: str | None = None
    ) -> cst.BaseExpression | None:
        """Report the placeholder at `node`; the expression replacing it when fixing."""
        what = f'{kind} "{shown}"' if shown else kind
        if self._account_unknown:
            self.report(
                node,
                f"{what} uses the placeholder account id {placeholder}, and this module uses "
                "providers that may act in other accounts, so which account is meant cannot be "
                "read from the code; use get_caller_identity() of the resource's provider.",
                safety=Safety.DISPLAY_ONLY,
            )
            return None
        alias = module_alias(self.module, "pulumi_aws") or self._aws or "aws"
        if not self.report(
            node,
            f"{what} uses the placeholder account id {placeholder}, which is not the account "
            f"the stack deploys to; use the provider's account, "
            f"{account_id_expression(alias)}.",
        ):
            return None
        return cst.parse_expression(account_id_expression(self._alias()))

    def _alias(self) -> str:
        if self._aws is None:
            self._aws = ensure_module_alias(self.context, self.module, "pulumi_aws", "aws")
        return self._aws

    # -- tree helpers ---------------------------------------------------------------------------

    def _qualified(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

    def _parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.get_metadata(ParentNodeProvider, node, None)

    def _is_docstring(self, node: cst.CSTNode) -> bool:
        """A bare string statement (docstring or no-op), possibly implicitly concatenated."""
        parent = self._parent(node)
        while isinstance(parent, cst.ConcatenatedString):
            parent = self._parent(parent)
        return isinstance(parent, cst.Expr)

    def _is_template(self, node: cst.SimpleString) -> bool:
        """Whether the string is a `.format` template, whose `{account_id}` is a field."""
        parent = self._parent(node)
        while isinstance(parent, cst.ConcatenatedString):
            node, parent = parent, self._parent(parent)
        if isinstance(parent, cst.Attribute) and parent.attr.value == "format":
            return True
        if isinstance(parent, cst.Arg):
            call = self._parent(parent)
            if isinstance(call, cst.Call) and self._qualified(call.func) & _TEMPLATE_CALLS:
                return True
        if isinstance(parent, cst.AssignTarget) or not isinstance(parent, cst.Assign):
            return False
        # `template = "arn:...:{account_id}:..."` then `template.format(...)` somewhere.
        for target in parent.targets:
            if not isinstance(target.target, cst.Name):
                continue
            scope = self.get_metadata(ScopeProvider, target.target, None)
            if scope is None:
                continue
            for assignment in scope.assignments[target.target.value]:
                if not isinstance(assignment, Assignment):
                    continue
                for access in assignment.references:
                    holder = self._parent(access.node)
                    if isinstance(holder, cst.Attribute) and holder.attr.value == "format":
                        return True
                    if isinstance(holder, cst.Arg):
                        call = self._parent(holder)
                        if isinstance(call, cst.Call) and self._qualified(call.func) & (
                            _TEMPLATE_CALLS
                        ):
                            return True
        return False


# -- helpers (pure functions) ---------------------------------------------------------------------


def _find(text: str) -> list[tuple[str, re.Match[str]]]:
    """Every placeholder account in `text`, with what it is part of, in order, not overlapping."""
    hits = sorted(((kind, match) for regex, kind in _KINDS for match in regex.finditer(text)),
                  key=lambda hit: hit[1].start("account"))
    kept: list[tuple[str, re.Match[str]]] = []
    for hit in hits:
        if not kept or hit[1].start("account") >= kept[-1][1].end("account"):
            kept.append(hit)
    return kept


def _token(match: re.Match[str]) -> str:
    """The ARN or URI around `match`: up to the next quote, space or comma."""
    if match.re is _PRINCIPAL_JSON:
        return ""
    text = match.string
    end = match.end()
    while end < len(text) and text[end] not in "\"' ,\\\n":
        end += 1
    return text[match.start():end].replace(_FIELD, "{...}")


def _text(node: cst.CSTNode) -> str:
    assert isinstance(node, cst.SimpleString)
    value = node.evaluated_value
    return value if isinstance(value, str) else ""


def _is_placeholder(node: cst.CSTNode) -> bool:
    """A plain string literal holding nothing but a placeholder account id."""
    if not isinstance(node, cst.SimpleString):
        return False
    value = node.evaluated_value
    return isinstance(value, str) and bool(_WHOLE.match(value)) and not value.startswith("{")


def _words(identifier: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(identifier)]


def _keyword(arg: cst.Arg) -> str | None:
    return arg.keyword.value if arg.keyword is not None else None


