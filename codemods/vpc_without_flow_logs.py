"""Rule `vpc-without-flow-logs`: a VPC with no flow log anywhere in the project (seed 002 §4)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from iacfix.codemods._network import (
    NETWORK_METADATA,
    Bindings,
    argument,
    describe,
    referenced_call,
    resource_class,
    short_code,
)
from libcst.metadata import PositionProvider

from iacfix import prefilter
from iacfix.project import ProjectRule
from iacfix.results import Safety

_VPC = "ec2.Vpc"
_FLOW_LOG = "ec2.FlowLog"
#: Bytes a Python file must contain to be worth parsing: a VPC or a flow log.
_PREFILTER = (b"Vpc", b"FlowLog")
#: `Vpc` as a word (`ec2.Vpc(`, an import of it), not `VpcConfig` or `vpc_id`: without one in
#: the project there is no VPC to report, and no file is parsed.
_VPC_TEXT = re.compile(rb"\bVpc\b")
#: Reading coverage from the text, to skip parsing when every VPC is certainly covered.
_VPC_CALL = re.compile(r"\bVpc\s*\(")
_VPC_BOUND = re.compile(r"(?<![\w.])((?:self\.)?[A-Za-z_]\w*)\s*(?::[^=\n]*)?=\s*(?:[A-Za-z_][\w.]*\.)?Vpc\s*\(")
_FLOW_LOG_CALL = re.compile(r"FlowLog")
_TRACED = re.compile(r"\s*vpc_id\s*=\s*((?:self\.)?[A-Za-z_]\w*)\.id\s*[,)]")


@dataclass
class _Vpc:
    path: Path
    line: int
    column: int
    label: str  # ec2.Vpc "payment-vpc-{environment_suffix}"
    target: str | None  # `self.vpc` when the call is assigned to one name or attribute
    node_id: int


class _Collector(cst.CSTVisitor):
    """The VPCs and flow logs of one module."""

    METADATA_DEPENDENCIES = (*NETWORK_METADATA, PositionProvider)

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.vpcs: list[_Vpc] = []
        #: ids of the Vpc calls flow logs of this module are traced to
        self.covered: set[int] = set()
        #: a flow log whose `vpc_id=` cannot be traced to a VPC of this module
        self.untraced: bool = False

    def visit_Module(self, node: cst.Module) -> None:
        self.bindings = Bindings(self)

    def visit_Call(self, node: cst.Call) -> None:
        kind = resource_class(self, node)
        if kind == _VPC:
            start = self.get_metadata(PositionProvider, node).start
            self.vpcs.append(_Vpc(self.path, start.line, start.column + 1, describe(kind, node),
                                  self._target(node), id(node)))
        elif kind == _FLOW_LOG:
            vpc_id = argument(node, "vpc_id")
            if vpc_id is None:
                return  # a subnet, ENI or transit gateway flow log: not the whole VPC
            vpc = referenced_call(self.bindings, vpc_id, ("id",))
            if vpc is not None and resource_class(self, vpc) == _VPC:
                self.covered.add(id(vpc))
            else:
                self.untraced = True

    def _target(self, call: cst.Call) -> str | None:
        parent = self.bindings.parent(call)
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            return short_code(parent.targets[0].target)
        if isinstance(parent, cst.AnnAssign):
            return short_code(parent.target)
        return None


class VpcWithoutFlowLogs(ProjectRule):
    """Report a VPC that no flow log in the project records.

    From seed 002 §4: `lib/vpc.py` created the payment VPC without VPC Flow Logs, so no network
    traffic was recorded; the fix added a CloudWatch Logs group, an IAM role and
    `aws.ec2.FlowLog(vpc_id=vpc.id, traffic_type="ALL", ...)`.

    A project rule, because the flow log often lives in another module than the VPC (a
    monitoring or security stack that receives `vpc_id`). It reads every Python file of the
    Pulumi project (tests excluded: a flow log in a unit test deploys nothing) and reports each
    `ec2.Vpc(...)` (however pulumi_aws is imported) unless:
    - an `ec2.FlowLog(vpc_id=...)` in the same module traces to it (`vpc_id=vpc.id`,
      `self.vpc.id`, through plain assignments), or
    - some `ec2.FlowLog(vpc_id=...)` anywhere in the project cannot be traced to a VPC of its
      module (`vpc_id=vpc_id` from a parameter, `vpc_stack.vpc.id`): it may be this VPC's, so
      the rule stays silent for every VPC.
    Flow logs on a subnet, ENI or transit gateway (no `vpc_id=`) do not cover the VPC.

    ## Why is this bad?
    Without flow logs nothing records which addresses talked to which on what port: security
    investigations have no evidence, rejected connections cannot be diagnosed, and audits fail
    (PCI DSS 10.x, CIS AWS Foundations 3.9, Security Hub EC2.6 "VPC flow logging should be
    enabled in all VPCs").

    ## Fix
    Add `aws.ec2.FlowLog(vpc_id=<vpc>.id, traffic_type="ALL", log_destination_type=...,
    log_destination=...)`, delivering to a CloudWatch Logs group (with an IAM role that
    `vpc-flow-logs.amazonaws.com` can assume and a retention period) or to an S3 bucket. Not
    automatic: the destination, retention and cost are choices for the author.

    ## Fix safety
    Display only: a flow log creates billed resources (log ingestion and storage) and an IAM
    role, which a human should choose.

    ## References
    - Seed 002 §4 ("Missing VPC Flow Logs")
    - https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs.html
    - https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html (EC2.6)
    - https://www.pulumi.com/registry/packages/aws/api-docs/ec2/flowlog/
    """

    id = "vpc-without-flow-logs"
    title = "Report VPCs that no flow log in the project records"
    safety = Safety.DISPLAY_ONLY
    evidence = _PREFILTER

    def check(self) -> None:
        vpcs: list[_Vpc] = []
        covered: set[tuple[Path, int]] = set()
        candidates = []
        for path in self.project.own_python_files():
            if _is_test(path.relative_to(self.project.root) if path.is_relative_to(self.project.root) else path):
                continue
            data = self.project.read(path)
            if data and any(token in data for token in _PREFILTER):
                candidates.append((path, data))
        if not any(_VPC_TEXT.search(data) for _, data in candidates):
            return
        if all(_covered_in_text(data) for _, data in candidates):
            return  # every VPC has a flow log in its own module: nothing to parse or report
        for path, _ in candidates:
            wrapper = self.project.python_tree(path)
            if wrapper is None:
                continue  # the Python rules report files that do not parse
            collector = _Collector(path)
            wrapper.visit(collector)
            if collector.untraced:
                return  # that flow log may record any of the project's VPCs
            vpcs += collector.vpcs
            covered |= {(path, node_id) for node_id in collector.covered}
        for vpc in vpcs:
            if (vpc.path, vpc.node_id) in covered:
                continue
            reference = f"{vpc.target}.id" if vpc.target else "<vpc>.id"
            self.report(vpc.path, vpc.line, vpc.column, (
                f"{vpc.label} is not recorded by any ec2.FlowLog(vpc_id=...) in this project, so its "
                "network traffic leaves no trace for audits or incident response; add aws.ec2.FlowLog(vpc_id="
                f'{reference}, traffic_type="ALL", ...) delivering to a CloudWatch Logs group '
                "(with an IAM role and a retention period) or to an S3 bucket."
            ))


def _covered_in_text(data: bytes) -> bool:
    """Whether the text alone shows every `Vpc(...)` of the module bound to a name that a
    `FlowLog(vpc_id=<name>.id, ...)` of the module names (then the rule has nothing to report
    about it). Anything less plain (a bare call, an alias, another vpc_id) says no: parse."""
    text = prefilter.code_only(prefilter.text_of(data))
    if re.search(r"\bVpc\s+as\b", text):
        return False
    names = [name.removeprefix("self.") for name in _VPC_BOUND.findall(text)]
    bound = set(names)
    if len(_VPC_CALL.findall(text)) != len(names) or len(bound) != len(names):
        return False  # a bare or aliased call, or a name bound twice
    traced = set()
    for start, end in prefilter.call_spans(text, _FLOW_LOG_CALL):
        inside = text[start:end]
        for match in re.finditer(r"[(,]" + _TRACED.pattern, inside):
            traced.add(match.group(1).removeprefix("self."))
    return bound <= traced



def _is_test(path: Path) -> bool:
    """Test code (tests/, test_*.py, *_test.py, conftest.py): it deploys nothing."""
    parts = path.parts
    name = parts[-1] if parts else ""
    return (any(part in ("test", "tests") for part in parts[:-1]) or name.startswith("test_")
            or name.endswith("_test.py") or name == "conftest.py")
