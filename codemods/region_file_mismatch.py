"""Rule region-file-mismatch: lib/AWS_REGION, the stacks' aws:region and region literals disagree."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from libcst.metadata import PositionProvider, QualifiedNameProvider
from ruamel.yaml.comments import CommentedMap

from iacfix.context import REGION_FILE, stack_files
from iacfix.project import ProjectRule, value_position
from iacfix.results import Safety

#: An AWS region name: `us-east-1`, `eu-south-1`, `us-gov-west-1`, `cn-northwest-1`.
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
#: The region field of an ARN: `arn:aws:rds:eu-south-1:...` (aws-cn, aws-us-gov partitions too).
_ARN = re.compile(r"arn:aws(?:-[a-z-]+)?:(?P<service>[a-z0-9-]+):(?P<region>[a-z]{2}(?:-[a-z]+)+-\d{1,2}):")
#: Bytes a Python file must contain to be worth parsing: a region name, or CloudFront evidence.
_PREFILTER = re.compile(rb"[a-z]{2}-[a-z]+-\d|cloudfront|CLOUDFRONT|ecrpublic|acm_certificate_arn|acmCertificateArn")

_PROVIDERS = {"pulumi_aws.Provider", "pulumi_aws.provider.Provider"}
_OPTIONS = {"pulumi.ResourceOptions", "pulumi.resource.ResourceOptions", "pulumi.InvokeOptions",
            "pulumi.invoke.InvokeOptions"}
_GETENV = {"os.getenv", "os.environ.get", "os.environ.setdefault"}
_REGION_VARIABLES = {"AWS_REGION", "AWS_DEFAULT_REGION"}
#: pulumi_aws modules whose resources a CloudFront set-up creates in us-east-1: certificates,
#: web ACLs, Lambda@Edge functions with their alarms, and the global services.
_EDGE_MODULES = {"cloudfront", "acm", "wafv2", "waf", "shield", "lambda", "cloudwatch", "route53",
                 "iam", "ecrpublic"}
#: boto3 services that are global (their endpoint is us-east-1 whatever the stack's region).
_GLOBAL_CLIENTS = {"iam", "route53", "cloudfront", "organizations", "budgets", "ce", "pricing",
                   "shield", "waf", "ecr-public", "sts"}
#: boto3 services and ARN services a CloudFront set-up uses in us-east-1.
_EDGE_CLIENTS = {"acm", "wafv2", "lambda", "cloudwatch", "logs"}
_EDGE_ARNS = {"acm", "wafv2", "lambda"}
US_EAST_1 = "us-east-1"


@dataclass
class _Module:
    """What one Python file says about the providers around its literals."""

    #: A pulumi_aws resource deploys through the default provider (no provider=, no region=).
    default_region_resources: bool = False
    #: Code of a provider expression given as provider=/providers= -> pulumi_aws modules it serves.
    served: dict[str, list[str]] = field(default_factory=dict)
    #: The file uses CloudFront (or ECR Public), whose companions AWS only accepts in us-east-1.
    edge: bool = False


@dataclass
class _Literal:
    path: Path
    line: int
    column: int
    region: str
    kind: str  # provider, resource, invoke, boto3, env, arn
    module: _Module
    service: str | None = None
    target: str | None = None  # the code a provider is bound to (`us_east_1`, `self.provider`)


@dataclass
class _Truth:
    region: str
    clause: str  # "Pulumi.dev.yaml aws:region is us-east-1"
    policy: str  # "iacfix takes aws:region of the selected stack as the source of truth"
    #: The place the truth comes from, never reported against itself.
    path: Path | None = None


class RegionFileMismatch(ProjectRule):
    """lib/AWS_REGION, the stacks' `aws:region` and the region literals of the program disagree.

    A project states its region in several places: `aws:region` in each `Pulumi.<stack>.yaml`
    (or a `value:` in Pulumi.yaml that stacks inherit), `lib/AWS_REGION` (which CI scripts and
    integration tests read), and literals in the code: `aws.Provider(region=...)`, `region=` on
    pulumi_aws resources and invokes, boto3 `region_name=`, `os.getenv("AWS_REGION", "...")`
    fallbacks, and ARNs (`arn:aws:rds:us-east-1:...`). Generated projects write `us-east-1` into
    some of them and the real region into others (seed 001 §3, §9, §11).

    ## Why is this bad?
    The stack deploys to one region and the rest of the project looks in another: integration
    tests query an empty region and fail, a provider pinned to `us-east-1` puts half the stack
    beside the other half, ARNs and AZ lookups name resources that do not exist where the stack
    runs, and `pulumi up` fails or, worse, succeeds in the wrong region.

    ## Fix
    None automatic: which place is right is the author's call. Every place that disagrees with
    the source of truth is reported, with the file (and key) to change. The source of truth is the
    one iacfix's context uses: `--region`, then `aws:region` of the selected stack (`--stack`, or
    the only stack; a stack without its own takes Pulumi.yaml's), then `lib/AWS_REGION`. With
    several stacks, no `--stack` and stacks in different regions, `lib/AWS_REGION` is compared with
    each stack, the finding naming the stack. The environment (`$AWS_REGION`) is not a project
    fact and never a source of truth here.

    Only literals that state the stack's own region count. Deliberate multi-region code is left
    alone, by two rules:
    - a literal whose scope is a provider (`aws.Provider(region=...)`, or `region=` on a resource)
      in a file that also deploys pulumi_aws resources through the default provider is an
      additional region on purpose (a replica bucket's provider beside the stack's resources);
      it counts when it is the file's only way to deploy (the seed's pattern: every resource given
      one provider pinned to a literal region);
    - `us-east-1` in a project that uses CloudFront (or ECR Public) is where AWS requires the
      certificates, web ACLs and Lambda@Edge functions of a distribution: a provider serving only
      such resources, `region=` on them, `arn:aws:acm:us-east-1:...` ARNs and boto3 clients of
      those services are left alone. boto3 clients of global services (IAM, Route 53, STS, ...)
      in `us-east-1` are always left alone.
    Docstrings and comments are not read; `"awslogs-region"` literals belong to
    awslogs-region-hardcoded, which fixes them. A `# iacfix: ignore[region-file-mismatch]` comment on
    the line (Python or YAML) silences one place.

    ## Fix safety
    Display only: changing a deployed stack's region replaces every resource in it, and changing
    a literal may move resources on purpose elsewhere; a human decides which side is right.

    ## References
    - Seed 001 §3 (lib/AWS_REGION), §9 (hard-coded log region), §11 (us-east-1 in test mocks)
    - https://www.pulumi.com/registry/packages/aws/installation-configuration/#configuration
    - https://www.pulumi.com/docs/iac/concepts/resources/providers/#explicit-provider-configuration
    - https://docs.aws.amazon.com/acm/latest/userguide/acm-services.html (CloudFront: us-east-1)
    """

    id = "region-file-mismatch"
    title = "Report region settings and literals that disagree with the project's region"
    safety = Safety.DISPLAY_ONLY

    def check(self) -> None:
        root = self.project.root
        stacks = self._stack_regions()
        inherited = self._project_region()
        region_file = self._region_file()
        truth, compared_stacks = self._truth(stacks, inherited, region_file)
        if truth is None:
            return
        if region_file is not None and region_file[0] != truth.region and truth.path != root / REGION_FILE:
            self._report(root / REGION_FILE, region_file[1], 1,
                         f"{REGION_FILE.as_posix()} says {region_file[0]}", truth)
        inherited_by = []
        for name in compared_stacks:
            entry = stacks[name]
            if entry is None:
                if inherited is not None:
                    inherited_by.append(name)
                continue
            value, path, line, column = entry
            if value != truth.region and path != truth.path:
                if truth.path == root / REGION_FILE and len(stacks) > 1:
                    self._report(path, line, column, f"stack {name} ({path.name}) has aws:region {value}",
                                 truth, f"make them agree, or select the stack with --stack {name} if "
                                 "it deploys elsewhere on purpose")
                else:
                    self._report(path, line, column, f"{path.name} aws:region is {value}", truth)
        project_file = self.project.project_file
        if inherited is not None and inherited[0] != truth.region and truth.path != project_file:
            value, line, column = inherited
            if inherited_by:
                self._report(project_file, line, column, f"Pulumi.yaml aws:region is {value} (stack "
                             f"{', '.join(inherited_by)} inherits it)", truth)
            elif not stacks:
                self._report(project_file, line, column, f"Pulumi.yaml aws:region is {value}", truth)
        for literal in self._literals():
            if literal.region != truth.region:
                clause, advice = _describe(literal, truth.region)
                self._report(literal.path, literal.line, literal.column, clause, truth, advice)

    # -- the places that state a region ----------------------------------------------------------

    def _stack_regions(self) -> dict[str, tuple[str, Path, int, int] | None]:
        """aws:region of each stack file with its position; None when it sets none."""
        found: dict[str, tuple[str, Path, int, int] | None] = {}
        for name, path in stack_files(self.project.root).items():
            found[name] = None
            document = self.project.mapping(path)
            config = document.get("config") if document is not None else None
            value = config.get("aws:region") if isinstance(config, CommentedMap) else None
            if isinstance(value, str) and value.strip():
                found[name] = (value.strip(), path, *value_position(config, "aws:region"))
        return found

    def _project_region(self) -> tuple[str, int, int] | None:
        """Pulumi.yaml's aws:region (plain, `value:` or `default:`) with its position."""
        document = self.project.mapping(self.project.project_file)
        config = document.get("config") if document is not None else None
        if not isinstance(config, CommentedMap) or "aws:region" not in config:
            return None
        declaration = config["aws:region"]
        if isinstance(declaration, CommentedMap):
            key = "value" if "value" in declaration else "default"
            value, position = declaration.get(key), value_position(declaration, key)
        else:
            value, position = declaration, value_position(config, "aws:region")
        if isinstance(value, str) and value.strip():
            return value.strip(), *position
        return None

    def _region_file(self) -> tuple[str, int] | None:
        """The region lib/AWS_REGION names, with its line."""
        data = self.project.read(self.project.root / REGION_FILE)
        if not data:
            return None
        text = data.decode("utf-8-sig", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                return line.strip(), number
        return None

    def _truth(self, stacks, inherited, region_file) -> tuple[_Truth | None, list[str]]:
        """The source of truth, in iacfix's context order, and the stacks to compare with it."""
        context = self.project.context
        root = self.project.root
        selected = context.stack if context.stack in stacks else None

        def stack_truth(name: str) -> _Truth | None:
            entry = stacks[name]
            policy = "iacfix takes aws:region of the selected stack as the source of truth"
            if entry is not None:
                return _Truth(entry[0], f"{entry[1].name} aws:region is {entry[0]}", policy, entry[1])
            if inherited is not None:
                return _Truth(inherited[0], f"Pulumi.yaml aws:region (which stack {name} inherits) is "
                              f"{inherited[0]}", policy, self.project.project_file)
            return None

        def effective(name: str) -> str | None:
            entry = stacks[name]
            return entry[0] if entry is not None else (inherited[0] if inherited else None)

        file_truth = None
        if region_file is not None:
            file_truth = _Truth(region_file[0], f"{REGION_FILE.as_posix()} says {region_file[0]}",
                                "", root / REGION_FILE)

        if context.region_source == "--region" and context.region:
            truth = _Truth(context.region, f"--region is {context.region}",
                           "iacfix takes --region as the source of truth")
            return truth, ([selected] if selected else list(stacks))
        if selected is not None and (truth := stack_truth(selected)) is not None:
            return truth, []
        if selected is None and stacks:
            regions = {effective(name) for name in stacks}
            if len(regions) == 1 and None not in regions:
                region = regions.pop()
                return _Truth(region, f"aws:region is {region} in every stack",
                              "iacfix takes the stacks' aws:region as the source of truth"), []
            if file_truth is not None:
                file_truth.policy = ("with several stacks and no --stack, iacfix takes "
                                     f"{REGION_FILE.as_posix()} as the source of truth")
                return file_truth, list(stacks)
            return None, []
        if not stacks and inherited is not None:
            return _Truth(inherited[0], f"Pulumi.yaml aws:region is {inherited[0]}",
                          "iacfix takes aws:region as the source of truth", self.project.project_file), []
        if file_truth is not None:
            file_truth.policy = (f"with no stack region, iacfix takes {REGION_FILE.as_posix()} as the "
                                 "source of truth")
            return file_truth, []
        return None, []

    def _report(self, path: Path, line: int, column: int, clause: str, truth: _Truth,
                advice: str = "make them agree") -> None:
        self.report(path, line, column, f"{clause} but {truth.clause}; {truth.policy}: {advice}.")

    # -- region literals in the program --------------------------------------------------------

    def _literals(self) -> list[_Literal]:
        literals: list[_Literal] = []
        edge = False
        for path in self.project.own_python_files():
            data = self.project.read(path)
            if not data or not _PREFILTER.search(data):
                continue
            wrapper = self.project.python_tree(path)
            if wrapper is None:
                continue  # the Python rules report files that do not parse
            collector = _Collector(path)
            wrapper.visit(collector)
            literals += collector.literals
            edge |= collector.facts.edge
        return [literal for literal in literals if not _additional_region(literal, edge)]


def _additional_region(literal: _Literal, project_edge: bool) -> bool:
    """Whether the literal is a deliberate second region rather than a claim about the stack's."""
    if literal.kind in ("provider", "resource") and literal.module.default_region_resources:
        return True
    if literal.region != US_EAST_1:
        return False
    if literal.kind == "boto3" and literal.service in _GLOBAL_CLIENTS:
        return True
    if not project_edge:
        return False
    if literal.kind == "provider":
        served = literal.module.served.get(literal.target, []) if literal.target else []
        return all(service in _EDGE_MODULES for service in served)
    if literal.kind in ("resource", "invoke"):
        return literal.service in _EDGE_MODULES
    if literal.kind == "boto3":
        return literal.service in _EDGE_CLIENTS
    if literal.kind == "arn":
        return literal.service in _EDGE_ARNS
    return False


def _describe(literal: _Literal, truth: str) -> tuple[str, str]:
    """The clause naming the literal, and what to do about it."""
    region = literal.region
    if literal.kind == "provider":
        return (f'this aws.Provider has region="{region}"',
                "make them agree, e.g. region=aws.config.region (the stack's aws:region)")
    if literal.kind in ("resource", "invoke"):
        what = "resource" if literal.kind == "resource" else "invoke"
        return (f'region="{region}" on this {what}',
                "drop it so the provider's region applies, or make them agree")
    if literal.kind == "boto3":
        return (f'region_name="{region}"',
                "read the region from AWS_REGION or lib/AWS_REGION instead of the literal")
    if literal.kind == "env":
        return (f'the AWS_REGION fallback is "{region}"', f'make the fallback "{truth}"')
    return (f"this ARN names region {region}",
            "build it from aws.get_region() (or correct the region), or make them agree")


class _Collector(cst.CSTVisitor):
    """Region literals of one module, and what the module says about its providers."""

    METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider)

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.facts = _Module()
        self.literals: list[_Literal] = []
        self._targets: dict[cst.Call, str] = {}

    # -- helpers ---------------------------------------------------------------------------------

    def _names(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

    def _add(self, node: cst.CSTNode, region: str, kind: str, service: str | None = None,
             target: str | None = None, line_offset: int = 0, column: int | None = None) -> None:
        start = self.get_metadata(PositionProvider, node).start
        self.literals.append(_Literal(
            self.path, start.line + line_offset,
            column if column is not None else start.column + 1,
            region, kind, self.facts, service, target,
        ))

    @staticmethod
    def _region_value(node: cst.BaseExpression | None) -> str | None:
        if isinstance(node, cst.SimpleString) and "b" not in node.prefix.lower():
            value = node.evaluated_value
            if isinstance(value, str) and _REGION.fullmatch(value):
                return value
        return None

    @staticmethod
    def _code(node: cst.CSTNode) -> str:
        return cst.Module(body=()).code_for_node(node)

    # -- bindings and docstrings -----------------------------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.value, cst.Call):
            self._targets[node.value] = self._code(node.targets[0].target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if isinstance(node.value, cst.Call):
            self._targets[node.value] = self._code(node.target)

    def visit_Expr(self, node: cst.Expr) -> bool:
        # A bare string statement (docstring): examples there are documentation, not code.
        return not isinstance(node.value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString))

    # -- calls -----------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        names = self._names(node.func)
        keywords = {arg.keyword.value: arg.value for arg in node.args if arg.keyword is not None}
        if "acm_certificate_arn" in keywords:
            self.facts.edge = True
        if names & _PROVIDERS:
            region = self._region_value(keywords.get("region"))
            if region:
                self._add(keywords["region"], region, "provider", target=self._targets.get(node))
            return
        aws = sorted(name for name in names if name.startswith("pulumi_aws."))
        if aws:
            self._aws_call(node, aws[0], keywords)
            return
        if names & _GETENV:
            self._getenv(node, keywords)
            return
        region = self._region_value(keywords.get("region_name"))
        if region:
            self._add(keywords["region_name"], region, "boto3", service=_client_service(node))

    def _aws_call(self, node: cst.Call, name: str, keywords: dict[str, cst.BaseExpression]) -> None:
        parts = name.split(".")
        last = parts[-1]
        service = parts[1].rstrip("_") if len(parts) > 2 else None
        if service in ("cloudfront", "ecrpublic"):
            self.facts.edge = True
        scope = keywords.get("scope")
        if service == "wafv2" and isinstance(scope, cst.SimpleString) and scope.evaluated_value == "CLOUDFRONT":
            self.facts.edge = True
        resource = last[:1].isupper() and not last.endswith("Args") and last not in ("Provider",)
        invoke = last.startswith("get_")
        if not (resource or invoke):
            return
        providers = self._providers(keywords.get("opts"))
        for provider in providers or ():
            self.facts.served.setdefault(provider, []).append(service or "")
        region = self._region_value(keywords.get("region"))
        if resource and providers == [] and "region" not in keywords:
            self.facts.default_region_resources = True
        if region:
            self._add(keywords["region"], region, "resource" if resource else "invoke", service=service)

    def _providers(self, opts: cst.BaseExpression | None) -> list[str] | None:
        """Code of the providers `opts` names: [] for none (the default provider), None when the
        options cannot be read (a variable, `**kwargs`, a merge)."""
        if opts is None:
            return []
        if not isinstance(opts, cst.Call) or not (self._names(opts.func) & _OPTIONS):
            return None
        found: list[str] = []
        for arg in opts.args:
            if arg.star:
                return None
            keyword = arg.keyword.value if arg.keyword is not None else None
            if keyword == "provider":
                found.append(self._code(arg.value))
            elif keyword == "providers":
                if isinstance(arg.value, (cst.List, cst.Tuple)):
                    found += [self._code(e.value) for e in arg.value.elements]
                elif isinstance(arg.value, cst.Dict):
                    found += [self._code(e.value) for e in arg.value.elements if isinstance(e, cst.DictElement)]
                else:
                    return None
        return found

    def _getenv(self, node: cst.Call, keywords: dict[str, cst.BaseExpression]) -> None:
        positional = [arg.value for arg in node.args if arg.keyword is None and not arg.star]
        if not positional or not _is_region_variable(positional[0]):
            return
        default = positional[1] if len(positional) > 1 else keywords.get("default")
        region = self._region_value(default)
        if region:
            self._add(default, region, "env")

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        # os.getenv("AWS_REGION") or "us-east-1"
        if not isinstance(node.operator, cst.Or):
            return
        left, right = node.left, node.right
        region = self._region_value(right)
        if region and isinstance(left, cst.Call) and self._names(left.func) & _GETENV:
            positional = [arg.value for arg in left.args if arg.keyword is None]
            if len(positional) == 1 and _is_region_variable(positional[0]):
                self._add(right, region, "env")

    # -- strings: ARNs and CloudFront evidence -------------------------------------------------

    def visit_DictElement(self, node: cst.DictElement) -> None:
        key = node.key
        if isinstance(key, cst.SimpleString) and key.evaluated_value in ("acm_certificate_arn", "acmCertificateArn"):
            self.facts.edge = True

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if "b" in node.prefix.lower():
            return
        self._arns(node, node.value)

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
        self._arns(node, node.value)

    def _arns(self, node: cst.CSTNode, raw: str) -> None:
        for match in _ARN.finditer(raw):
            before = raw[: match.start()]
            offset = before.count("\n")
            column = None
            if offset:
                column = len(before) - before.rfind("\n")
            else:
                column = self.get_metadata(PositionProvider, node).start.column + len(before) + 1
            self._add(node, match["region"], "arn", service=match["service"], line_offset=offset,
                      column=column)


def _is_region_variable(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.SimpleString) and node.evaluated_value in _REGION_VARIABLES


def _client_service(call: cst.Call) -> str | None:
    """The service of `boto3.client("acm", ...)` / `session.resource("s3", ...)`, if literal."""
    for arg in call.args:
        if arg.keyword is None or arg.keyword.value == "service_name":
            if isinstance(arg.value, cst.SimpleString):
                value = arg.value.evaluated_value
                return value if isinstance(value, str) else None
            return None
    return None
