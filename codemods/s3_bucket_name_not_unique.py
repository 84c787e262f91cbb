"""Rule `s3-bucket-name-not-unique`: explicit S3 bucket names get the account id and region."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.helpers import parse_template_expression
from libcst.metadata import (
    Assignment,
    ParentNodeProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from iacfix.pulumi_names import (
    account_id_expression,
    ensure_module_alias,
    module_alias,
    region_expression,
)
from iacfix.results import Safety
from iacfix.rule import Rule

#: The classes whose `bucket=` is the name of the bucket being created.
_BUCKET_CLASSES = frozenset({
    "pulumi_aws.s3.Bucket",
    "pulumi_aws.s3.BucketV2",
    "pulumi_aws.s3.bucket.Bucket",
    "pulumi_aws.s3.bucket_v2.BucketV2",
})
_OUTPUT_FACTORIES = frozenset({
    "pulumi.Output.concat",
    "pulumi.Output.format",
    "pulumi.Output.all",
    "pulumi.Output.from_input",
    "pulumi.Output.secret",
    "pulumi.Output.unsecret",
    "pulumi.Output.json_dumps",
})
_MAX_NAME = 63  # S3 bucket names: 3 to 63 characters
_MAX_PREFIX = 37  # bucket_prefix: AWS appends a 26-character unique suffix
_ACCOUNT_LEN = 12
_MAX_REGION_LEN = 15  # us-isof-south-1, the longest code in pulumi_aws.Region (7.51)
_MIN_CUT = 3  # the shortest run-time part worth keeping
#: What a name lacking these parts has, and where a bucket of the same name may already exist.
_PROBLEM = {
    ("account", "region"): ("neither the account id nor the region", "another account or region"),
    ("account",): ("the region but no account id", "another account"),
    ("region",): ("the account id but no region", "another region of the same account"),
}
_LINE_LIMIT = 100  # pylint's default max-line-length; longer arguments are split over lines
_RESOLVE_DEPTH = 3

_WORD_TOKENS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_ACCOUNT_TEXT = re.compile(r"(?<!\d)\d{12}(?!\d)")
_REGION_TEXT = re.compile(
    r"(?<![a-z])(?:af|ap|ca|cn|eu|eusc|il|me|mx|sa|us)(?:-[a-z]+){1,2}-\d(?!\d)", re.IGNORECASE
)
_VALID_TEXT = re.compile(r"[a-z0-9.-]*")
#: Calls whose arguments are text of the name; arguments of any other call are lookup keys
#: (`config.require("region")`, `os.getenv("AWS_ACCOUNT_ID")`).
_TEXT_CALLS = frozenset({
    "concat", "format", "all", "join", "apply", "str", "lower", "upper", "replace", "strip",
    "lstrip", "rstrip", "from_input", "secret", "unsecret",
})
_STRING_METHODS = frozenset({"format", "join", "lower", "upper", "replace", "strip", "lstrip",
                             "rstrip"})
_ATOMIC = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.SimpleString,
           cst.FormattedString)


@dataclass
class _Evidence:
    """What a bucket name already refers to."""

    account: bool = False
    region: bool = False
    random: bool = False
    seen: set[int] = field(default_factory=set)

    def missing(self) -> tuple[str, ...]:
        return tuple(p for p, has in (("account", self.account), ("region", self.region))
                     if not has)


@dataclass(frozen=True)
class _Plan:
    """How to fix one name: `build` makes the new value (None: no fix; `note` says why), and
    `note` is a prefix for the fix message (`"cuts the name to 30 characters and "`)."""

    build: Callable[[], cst.BaseExpression] | None
    note: str = ""


@dataclass(frozen=True)
class _Shape:
    """How a name expression is built: `static` (text known now), `fstring` (an f-string of
    plain values), `plain` (a str known at run time), `output` (a pulumi Output)."""

    kind: str
    text: str = ""


class S3BucketNameNotUnique(Rule):
    """Append the account id and the region to an explicit S3 bucket name.

    An `s3.Bucket` / `s3.BucketV2` whose `bucket=` name contains neither the AWS account id nor
    the region (`bucket=f"api-logs-{environment_suffix}"`) clashes with every other account, and
    every other region of the same account, that deploys the same program: all AWS accounts share
    one namespace of bucket names. From seed 004 §1 ("S3 Bucket Naming - Not Globally Unique"),
    whose fix appended `caller_identity.account_id` and the region to the name.

    ## Why is this bad?
    `pulumi up` creates the bucket under exactly the given name. `api-logs-dev` belongs to
    whoever created it first in any account, so the deployment fails with `BucketAlreadyExists`
    in every other account and region (CI accounts, a second region, a colleague's sandbox).
    Account id plus region make the name unique per place the program is deployed to.

    ## Fix
    The name becomes `<name>-<account_id>-<region>`, with the account id from
    `aws.get_caller_identity().account_id` and the region from `aws.get_region()` (`.region` on
    pulumi_aws 7, `.name` on 6 or an unknown major), both read from the provider at run time.
    Both invokes are synchronous in Pulumi Python and return plain strings, so:

    - a string literal becomes an f-string; the length is checked when fixing (S3 allows 63
      characters), and a name too long for the suffix is cut;
    - an f-string keeps its shape and gets the suffix; when placeholders are only known at run
      time (an environment suffix), the part holding them is cut and lowercased at run time:
      `f"api-logs-{environment_suffix}"[:34].lower() + f"-{account_id}-{region}"`;
    - an `Output` (`Output.concat`, `Output.format`, `.apply(...)`) never goes into an f-string:
      it is cut and lowercased in an `apply` (folded into its own `lambda` when it has one) and
      joined to the suffix with `pulumi.Output.concat(...)`.

    When the name already refers to one of the two (a name, attribute, config key or environment
    variable mentioning account or region, `get_caller_identity()`, a 12-digit number or a region
    code in the text), only the other one is appended. Left alone: names built from a
    `pulumi_random` resource or a UUID (already unique), buckets without `bucket=` (Pulumi adds a
    random suffix) or with `bucket_prefix=` (AWS adds one; a literal prefix over 37 characters,
    which AWS rejects, is reported without a fix), names passed in from code the rule cannot
    follow (a parameter, a helper function), and `bucket=` on other resources (`BucketPolicy`,
    `BucketVersioningV2`, `BucketObject`), which names an existing bucket.

    Trade-offs of the run-time bound: the cut keeps the account id and region whole (they make
    the name unique) and shortens the environment part instead. The slice length (34 for both
    parts) assumes the longest region code, `us-isof-south-1` (15), so in shorter regions the
    name may be cut a few characters earlier than needed; in exchange the code reads plainly and
    works on any value, where exact arithmetic (`63 - 14 - len(region)`) is harder to read and
    per-placeholder precision (`{environment_suffix:.25}`) raises on an `int`. Two suffixes that
    differ only after the cut collide in one account and region; a hash of the full name would
    prevent that at the price of unreadable names. `.lower()` is added because the case of
    run-time values is unknown and S3 rejects uppercase. An account or region reference already
    in the name is kept whole when it ends an f-string; inside an `Output`, or between run-time
    parts of an f-string, it can be cut for very long values.

    ## Fix safety
    Unsafe: a new name makes Pulumi replace a deployed bucket. The old bucket is deleted with its
    objects when it has `force_destroy=True`; otherwise deleting the non-empty old bucket fails
    the update and it lingers with the data. Nothing is copied to the new bucket, and anything
    that uses the literal name must follow. Apply it before the first deployment, or migrate
    the data. The region is the default provider's: a bucket created through an explicit
    `provider=` for another region gets the default region in its name (still unique, but
    misleading).

    ## References
    - https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
    - https://www.pulumi.com/registry/packages/aws/api-docs/s3/bucket/
    - https://www.pulumi.com/registry/packages/aws/api-docs/getcalleridentity/
    - https://www.pulumi.com/docs/iac/concepts/inputs-outputs/
    """

    id = "s3-bucket-name-not-unique"
    title = "Append the account id and region to explicit S3 bucket names"
    safety = Safety.UNSAFE
    evidence = (b"Bucket",)

    METADATA_DEPENDENCIES = (
        QualifiedNameProvider,
        ScopeProvider,
        ParentNodeProvider,
    )

    # -- entry point -------------------------------------------------------------------------

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if not self._qualified(original_node.func) & _BUCKET_CLASSES:
            return updated_node
        args = list(updated_node.args)
        for index, arg in enumerate(original_node.args):
            if arg.keyword is None:
                continue
            if arg.keyword.value == "bucket_prefix":
                self._check_prefix(arg)
            elif arg.keyword.value == "bucket":
                new_value = self._fix_name(original_node, index, arg)
                if new_value is not None:
                    args[index] = args[index].with_changes(value=new_value)
        return updated_node.with_changes(args=args)

    # -- bucket_prefix -------------------------------------------------------------------------

    def _check_prefix(self, arg: cst.Arg) -> None:
        value = arg.value
        if isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
            text = value.evaluated_value
            length = len(text) if isinstance(text, str) else 0
        elif isinstance(value, cst.FormattedString):
            length = sum(len(p.value) for p in value.parts
                         if isinstance(p, cst.FormattedStringText))
        else:
            return
        if length > _MAX_PREFIX:
            self.report(
                arg,
                f"`bucket_prefix` is {length} characters but AWS allows at most {_MAX_PREFIX} "
                "(it appends a 26-character unique suffix), so creating the bucket fails; "
                "shorten the prefix by hand.",
                safety=Safety.DISPLAY_ONLY,
            )

    # -- bucket ----------------------------------------------------------------------------------

    def _fix_name(self, call: cst.Call, index: int, arg: cst.Arg) -> cst.BaseExpression | None:
        value = arg.value
        shape = self._shape(value, _RESOLVE_DEPTH)
        if shape is None:
            return None  # built by code the rule cannot follow (a parameter, a helper call)
        evidence = _Evidence()
        self._scan(value, evidence, _RESOLVE_DEPTH, key=False)
        missing = evidence.missing()
        if evidence.random or not missing:
            return None
        has, where = _PROBLEM[missing]
        problem = (
            f"S3 bucket name has {has}, so it can clash with the same name in {where} (bucket "
            "names are global)"
        )
        plan = self._plan(value, shape, missing)
        if plan.build is None:
            self.report(arg, f"{problem}; {plan.note}.", safety=Safety.DISPLAY_ONLY)
            return None
        appended = "-".join("<account_id>" if p == "account" else "<region>" for p in missing)
        if not self.report(
            arg,
            f"{problem}; the fix {plan.note}appends `-{appended}` read from the provider at run "
            "time, which renames the bucket: a deployed bucket is replaced and its objects are "
            "deleted or orphaned.",
        ):
            return None
        return self._layout(call, index, arg, plan.build())

    def _plan(self, value: cst.BaseExpression, shape: _Shape, missing: tuple[str, ...]) -> _Plan:
        budget = _MAX_NAME - _suffix_length(missing)
        quote = _quote_of(value)
        if shape.kind == "fstring":
            assert isinstance(value, cst.FormattedString)
            return self._plan_fstring(value, missing)
        if shape.kind == "plain":
            return _Plan(lambda: self._cut_plus_suffix(value, budget, missing, quote))
        if shape.kind == "output":
            return _Plan(lambda: self._output_plus_suffix(value, budget, missing, quote))

        base = shape.text.lower()
        if not _VALID_TEXT.fullmatch(base):
            return _Plan(None, "it also has characters S3 does not allow (only lowercase letters, "
                               "digits, `.` and `-`), so rename it by hand to "
                               "`<name>-<account_id>-<region>`")
        if isinstance(value, cst.Name):  # a variable holding a literal
            if base == shape.text and len(base) <= budget:
                return _Plan(lambda: self._fstring(
                    [cst.FormattedStringExpression(value), *self._suffix_parts(missing)], quote))
            return _Plan(lambda: self._cut_plus_suffix(value, budget, missing, quote))
        note = "lowercases the name and " if base != shape.text else ""
        if len(base) > budget:
            base = base[:budget].rstrip("-.")
            note = f"cuts the name to {len(base)} characters and "
        return _Plan(lambda: self._fstring(
            [cst.FormattedStringText(base), *self._suffix_parts(missing)], quote), note)

    def _plan_fstring(self, value: cst.FormattedString, missing: tuple[str, ...]) -> _Plan:
        parts = list(value.parts)
        kinds = [self._part_kind(p) for p in parts]
        if "unknown" not in kinds:
            if _known_length(parts, kinds) + _suffix_length(missing) > _MAX_NAME:
                return _Plan(None, f"appending it would exceed {_MAX_NAME} characters, so "
                                   "shorten the name by hand")
            return _Plan(lambda: value.with_changes(
                parts=[*_lowered(parts), *self._suffix_parts(missing)]))
        # The trailing run of parts of known length (text, account id, region) stays whole when
        # it holds an account id or a region; the part before it is cut at run time.
        start = len(parts)
        while start > 0 and kinds[start - 1] != "unknown":
            start -= 1
        if not any(k in ("account", "region") or _names_place(p)
                   for p, k in zip(parts[start:], kinds[start:], strict=True)):
            start = len(parts)
        head, tail = parts[:start], parts[start:]
        budget = _MAX_NAME - _known_length(tail, kinds[start:]) - _suffix_length(missing)
        if budget < _MIN_CUT:
            return _Plan(None, f"appending it would leave no room in {_MAX_NAME} characters, "
                               "so shorten the name by hand")
        return _Plan(lambda: cst.BinaryOperation(
            left=_cut(value.with_changes(parts=head), budget),
            operator=cst.Add(),
            right=value.with_changes(parts=[*_lowered(tail), *self._suffix_parts(missing)]),
        ))

    # -- builders ------------------------------------------------------------------------------

    def _aws(self) -> str:
        return ensure_module_alias(self.context, self.module, "pulumi_aws", "aws")

    def _suffix_parts(self, missing: Sequence[str]) -> list[cst.BaseFormattedStringContent]:
        aws = self._aws()
        code = {
            "account": account_id_expression(aws),
            "region": region_expression(aws, self.project.aws_major),
        }
        parts: list[cst.BaseFormattedStringContent] = []
        for piece in missing:
            parts.append(cst.FormattedStringText("-"))
            parts.append(cst.FormattedStringExpression(cst.parse_expression(code[piece])))
        return parts

    @staticmethod
    def _fstring(parts: list[cst.BaseFormattedStringContent], quote: str) -> cst.FormattedString:
        return cst.FormattedString(parts=_merge_text(parts), start=f"f{quote}", end=quote)

    def _cut_plus_suffix(self, value: cst.BaseExpression, budget: int, missing: Sequence[str],
                         quote: str) -> cst.BaseExpression:
        return cst.BinaryOperation(
            left=_cut(value, budget),
            operator=cst.Add(),
            right=self._fstring(self._suffix_parts(missing), quote),
        )

    def _output_plus_suffix(self, value: cst.BaseExpression, budget: int,
                            missing: Sequence[str], quote: str) -> cst.BaseExpression:
        head = self._fold_into_apply(value, budget)
        if head is None:
            head = parse_template_expression(
                "{value}.apply(lambda name: name[:{budget}].lower())",
                value=_parenthesized(value),
                budget=cst.Integer(str(budget)),
            )
        return parse_template_expression(
            f"{self._output_class(value)}.concat({{head}}, {{suffix}})",
            head=head,
            suffix=self._fstring(self._suffix_parts(missing), quote),
        )

    def _fold_into_apply(self, value: cst.BaseExpression, budget: int) -> cst.Call | None:
        """`x.apply(lambda i: f"...{i}")` -> `x.apply(lambda i: f"...{i}"[:N].lower())`."""
        if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)
                and value.func.attr.value == "apply" and len(value.args) == 1
                and value.args[0].keyword is None
                and isinstance(value.args[0].value, cst.Lambda)):
            return None
        function = value.args[0].value
        body_shape = self._shape(function.body, 0)
        if body_shape is None or body_shape.kind == "output":
            return None
        new_function = function.with_changes(body=_cut(function.body, budget))
        return value.with_changes(args=[value.args[0].with_changes(value=new_function)])

    def _output_class(self, value: cst.BaseExpression) -> str:
        """How this module spells `pulumi.Output`."""
        if (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)
                and self._qualified(value.func) & _OUTPUT_FACTORIES):
            return self.module.code_for_node(value.func.value)  # as the name itself spells it
        pulumi = module_alias(self.module, "pulumi")
        if pulumi is not None:
            return f"{pulumi}.Output"
        imported = _imported_output_name(self.module)
        if imported is not None:
            return imported
        return f"{ensure_module_alias(self.context, self.module, 'pulumi', 'pulumi')}.Output"

    def _layout(self, call: cst.Call, index: int, arg: cst.Arg,
                value: cst.BaseExpression) -> cst.BaseExpression:
        """Split a long new value over lines, black-style, when the argument has its own line."""
        before = (call.args[index - 1].comma.whitespace_after if index
                  else call.whitespace_before_args)
        if not (isinstance(before, cst.ParenthesizedWhitespace)
                and isinstance(value, (cst.BinaryOperation, cst.Call))):
            return value
        column = self.position(arg).start.column
        code = self.module.code_for_node(value)
        if "\n" in code or column + len("bucket=") + len(code) + 1 <= _LINE_LIMIT:
            return value
        unit = self.module.default_indent
        outer = before.last_line.value
        inner = outer + unit

        def line(indent: str) -> cst.ParenthesizedWhitespace:
            return cst.ParenthesizedWhitespace(
                first_line=cst.TrailingWhitespace(), indent=before.indent,
                last_line=cst.SimpleWhitespace(indent))

        if isinstance(value, cst.BinaryOperation):
            return value.with_changes(
                lpar=[cst.LeftParen(whitespace_after=line(inner))],
                rpar=[cst.RightParen(whitespace_before=line(outer))],
                operator=value.operator.with_changes(
                    whitespace_before=line(inner), whitespace_after=cst.SimpleWhitespace(" ")),
            )

        def explode(node: cst.Call, outer: str, trailing_comma: bool) -> cst.Call:
            inner = outer + unit
            args = [a.with_changes(comma=cst.Comma(whitespace_after=line(inner)))
                     for a in node.args[:-1]]
            last = node.args[-1]
            args.append(last.with_changes(
                comma=cst.Comma(whitespace_after=line(outer)) if trailing_comma
                else cst.MaybeSentinel.DEFAULT,
                whitespace_after_arg=cst.SimpleWhitespace("") if trailing_comma else line(outer),
            ))
            return node.with_changes(whitespace_before_args=line(inner), args=args)

        head = value.args[0].value
        head_width = column + len(unit) + len(self.module.code_for_node(head)) + 1
        if head_width > _LINE_LIMIT and isinstance(head, cst.Call) and len(head.args) == 1:
            value = value.with_changes(args=[
                value.args[0].with_changes(value=explode(head, inner, trailing_comma=False)),
                *value.args[1:],
            ])
        return explode(value, outer, trailing_comma=True)

    # -- analysis ------------------------------------------------------------------------------

    def _qualified(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

    def _assigned_values(self, name: cst.Name) -> list[cst.BaseExpression] | None:
        """The value of the one assignment `name` refers to, if it is a plain `name = value`."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return None
        assignments = list(scope[name.value])
        if len(assignments) != 1 or not isinstance(assignments[0], Assignment):
            return None
        target = assignments[0].node
        parent = self.get_metadata(ParentNodeProvider, target, None)
        if isinstance(parent, cst.AnnAssign) and parent.target is target and parent.value:
            return [parent.value]
        if isinstance(parent, cst.AssignTarget) and parent.target is target:
            statement = self.get_metadata(ParentNodeProvider, parent, None)
            if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
                return [statement.value]
        return None

    def _shape(self, value: cst.BaseExpression, depth: int) -> _Shape | None:
        if isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
            text = value.evaluated_value
            if isinstance(text, str):
                return _Shape("static", text)
            if text is None and isinstance(value, cst.ConcatenatedString):
                return _Shape("plain")  # implicit concatenation with an f-string
            return None  # bytes
        if isinstance(value, cst.FormattedString):
            return _Shape("fstring")
        if isinstance(value, cst.Name):
            if depth <= 0:
                return None
            values = self._assigned_values(value)
            if not values:
                return None
            shape = self._shape(values[0], depth - 1)
            if shape is None or shape.kind in ("static", "output"):
                return shape
            return _Shape("plain")
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator,
                                                                 (cst.Add, cst.Modulo)):
            if self._is_text(value.left) or self._is_text(value.right):
                return _Shape("plain")
            return None
        if isinstance(value, cst.Call):
            if self._qualified(value.func) & _OUTPUT_FACTORIES:
                return _Shape("output")
            if isinstance(value.func, cst.Attribute):
                if value.func.attr.value == "apply":
                    return _Shape("output")
                if value.func.attr.value in _STRING_METHODS and self._is_text(value.func.value):
                    return _Shape("plain")
        return None

    def _is_text(self, node: cst.BaseExpression) -> bool:
        shape = self._shape(node, 0)
        return shape is not None and shape.kind != "output"

    def _part_kind(self, part: cst.BaseFormattedStringContent) -> str:
        if isinstance(part, cst.FormattedStringText):
            return "text"
        assert isinstance(part, cst.FormattedStringExpression)
        if part.format_spec or part.conversion:
            return "unknown"
        return self._reference_kind(part.expression, _RESOLVE_DEPTH) or "unknown"

    def _reference_kind(self, node: cst.BaseExpression, depth: int) -> str | None:
        """`account` / `region` when `node` is a plain reference to one (a name, attribute or
        invoke like `caller.account_id`, `aws.get_region().region`), whose length is known."""
        for word in _words_of_reference(node):
            kinds = _word_kinds(word)
            if "account" in kinds or "region" in kinds:
                return "account" if "account" in kinds else "region"
        if isinstance(node, cst.Name) and depth > 0:
            values = self._assigned_values(node)
            if values:
                return self._reference_kind(values[0], depth - 1)
        return None

    def _scan(self, node: cst.CSTNode, evidence: _Evidence, depth: int, *, key: bool) -> None:
        """Record the account, region and random references anywhere in `node`."""
        if id(node) in evidence.seen:
            return
        evidence.seen.add(id(node))
        if isinstance(node, cst.Name):
            self._note_word(node.value, evidence)
            if depth > 0:
                for value in self._assigned_values(node) or ():
                    self._scan(value, evidence, depth - 1, key=False)
            return
        if isinstance(node, cst.Attribute):
            self._note_word(node.attr.value, evidence)
            self._scan(node.value, evidence, depth, key=key)
            return
        if isinstance(node, (cst.SimpleString, cst.FormattedStringText)):
            text = node.evaluated_value if isinstance(node, cst.SimpleString) else node.value
            if isinstance(text, str):
                evidence.account |= bool(_ACCOUNT_TEXT.search(text))
                evidence.region |= bool(_REGION_TEXT.search(text))
                if key:
                    self._note_word(text, evidence)
            return
        if isinstance(node, cst.Call):
            if any(q.startswith(("pulumi_random.", "uuid.")) for q in self._qualified(node.func)):
                evidence.random = True
            self._scan(node.func, evidence, depth, key=False)
            callee = node.func.attr.value if isinstance(node.func, cst.Attribute) else (
                node.func.value if isinstance(node.func, cst.Name) else "")
            for arg in node.args:
                self._scan(arg.value, evidence, depth, key=callee not in _TEXT_CALLS)
            return
        if isinstance(node, cst.Subscript):
            self._scan(node.value, evidence, depth, key=key)
            for element in node.slice:
                self._scan(element, evidence, depth, key=True)
            return
        if isinstance(node, cst.Lambda):
            self._scan(node.body, evidence, depth, key=key)
            return
        for child in node.children:
            self._scan(child, evidence, depth, key=key)

    @staticmethod
    def _note_word(word: str, evidence: _Evidence) -> None:
        kinds = _word_kinds(word)
        evidence.account |= "account" in kinds
        evidence.region |= "region" in kinds
        evidence.random |= "random" in kinds


# -- helpers (pure functions on nodes) ----------------------------------------------------------


def _words_of_reference(node: cst.BaseExpression) -> list[str]:
    """The identifiers of a reference chain (`a.b().c` -> c, b, a), or [] if it is not one."""
    words: list[str] = []
    while True:
        if isinstance(node, cst.Name):
            return words + [node.value]
        if isinstance(node, cst.Attribute):
            words.append(node.attr.value)
            node = node.value
        elif isinstance(node, cst.Call) and not node.args:
            node = node.func
        else:
            return []


def _word_kinds(word: str) -> set[str]:
    """What an identifier or lookup key names, by its words: `aws_account_id`, `accountId`,
    `get_caller_identity`, `AWS_REGION`, `aws:region`, `random_suffix` (not `accounting`)."""
    tokens = [t.lower() for t in _WORD_TOKENS.findall(word)]
    kinds = set()
    if "account" in tokens or "accounts" in tokens or (
        "caller" in tokens and "identity" in tokens
    ):
        kinds.add("account")
    if "region" in tokens:
        kinds.add("region")
    if "random" in tokens or "uuid" in tokens:
        kinds.add("random")
    return kinds


def _names_place(part: cst.BaseFormattedStringContent) -> bool:
    """Whether literal f-string text holds an account id or a region code."""
    return isinstance(part, cst.FormattedStringText) and bool(
        _ACCOUNT_TEXT.search(part.value) or _REGION_TEXT.search(part.value))


def _suffix_length(missing: Sequence[str]) -> int:
    """Characters `-<account_id>` / `-<region>` add at most."""
    return sum(1 + (_ACCOUNT_LEN if piece == "account" else _MAX_REGION_LEN) for piece in missing)


def _known_length(parts: Sequence[cst.BaseFormattedStringContent], kinds: Sequence[str]) -> int:
    length = 0
    for part, kind in zip(parts, kinds, strict=True):
        if kind == "text":
            assert isinstance(part, cst.FormattedStringText)
            length += len(part.value.replace("{{", "{").replace("}}", "}"))
        elif kind == "account":
            length += _ACCOUNT_LEN
        elif kind == "region":
            length += _MAX_REGION_LEN
    return length


def _lowered(
    parts: Sequence[cst.BaseFormattedStringContent],
) -> list[cst.BaseFormattedStringContent]:
    """The parts with their literal text lowercased (S3 names are lowercase)."""
    return [p.with_changes(value=p.value.lower()) if isinstance(p, cst.FormattedStringText) else p
            for p in parts]


def _merge_text(
    parts: Sequence[cst.BaseFormattedStringContent],
) -> list[cst.BaseFormattedStringContent]:
    merged: list[cst.BaseFormattedStringContent] = []
    for part in parts:
        if (merged and isinstance(part, cst.FormattedStringText)
                and isinstance(merged[-1], cst.FormattedStringText)):
            merged[-1] = cst.FormattedStringText(merged[-1].value + part.value)
        else:
            merged.append(part)
    return merged


def _imported_output_name(module: cst.Module) -> str | None:
    """The name `from pulumi import Output [as X]` binds at module level, if any."""
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if not (isinstance(small, cst.ImportFrom) and isinstance(small.module, cst.Name)
                    and small.module.value == "pulumi" and isinstance(small.names, Sequence)):
                continue
            for alias in small.names:
                if isinstance(alias.name, cst.Name) and alias.name.value == "Output":
                    bound = alias.asname.name if alias.asname else alias.name
                    return bound.value if isinstance(bound, cst.Name) else None
    return None


def _parenthesized(node: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(node, _ATOMIC) or node.lpar:
        return node
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _cut(node: cst.BaseExpression, budget: int) -> cst.BaseExpression:
    """`node[:budget].lower()`."""
    return parse_template_expression(
        "{node}[:{budget}].lower()", node=_parenthesized(node), budget=cst.Integer(str(budget))
    )


def _quote_of(node: cst.CSTNode) -> str:
    """The quote character the name's own strings use, so new f-strings match them."""
    class Finder(cst.CSTVisitor):
        quote: str | None = None

        def visit_SimpleString(self, string: cst.SimpleString) -> None:
            if self.quote is None and string.quote in ('"', "'"):
                self.quote = string.quote

        def visit_FormattedString(self, string: cst.FormattedString) -> None:
            if self.quote is None and string.end in ('"', "'"):
                self.quote = string.end

    finder = Finder()
    node.visit(finder)
    return finder.quote or '"'
