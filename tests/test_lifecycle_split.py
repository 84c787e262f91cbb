"""`pulumi-aws-unknown-kwarg`'s `s3.Bucket(lifecycle_rules=[...])` split beyond the fixture files'
byte checks: each declined case says why in its finding, and the comments around and inside the
moved keyword end up once each, next to what they were about."""

from __future__ import annotations

from pathlib import Path

import libcst as cst

from iacfix.context import ProjectContext
from iacfix.engine import fix_source
from iacfix.registry import rule_by_id
from iacfix.results import Safety
from iacfix.rule import RuleSettings

RULE = "pulumi-aws-unknown-kwarg"
FLAGGED = Path(__file__).resolve().parent.parent / "fixtures" / RULE / "lifecycle_rules_not_literal.flagged.py"


def fix(source: str):
    return fix_source("lib/storage.py", source.encode(), [rule_by_id(RULE)], Safety.UNSAFE,
                      project=ProjectContext(aws_major=7), settings=RuleSettings())


def test_each_declined_case_says_why():
    source = FLAGGED.read_text()
    lines = source.splitlines()
    reasons = {
        "archive": "`lifecycle_rules=` is a variable, not a list literal",
        "logs": "`lifecycle_rules=` is a comprehension, not a list literal",
        "uploads": "rule 1 has no `id`, which `s3.BucketLifecycleConfiguration` requires",
        "reports": "`enabled` of rule 1 is not a literal True or False",
        "exports": "rule 1 has a `**` splat",
        "scratch": "`tags` of rule 1 is not a dict literal",
        "backups": "`expiration` of rule 1 has `after`, which the fix does not map",
        "replica": "the bucket sets `region=`",
    }
    result = fix(source)
    assert result.output == source.encode()
    by_bucket = {}
    for finding in result.findings:
        bucket = next(lines[n].split(" = ")[0] for n in range(finding.line - 1, -1, -1)
                      if " = aws.s3.Bucket(" in lines[n])
        by_bucket[bucket] = finding
    assert by_bucket.keys() == reasons.keys()
    for bucket, reason in reasons.items():
        finding = by_bucket[bucket]
        assert not finding.fixable and reason in finding.message, (bucket, finding.message)
        assert "not moved to a separate `s3.BucketLifecycleConfiguration` resource" in finding.message


def test_comments_go_with_what_they_are_about():
    source = '''import pulumi_aws as aws

b = aws.s3.Bucket(
    "b",
    force_destroy=True,  # stays on its line
    # about the rules
    lifecycle_rules=[
        {  # rule head
            "id": "y",  # the id
            # above enabled
            "enabled": True,
            "expiration": {
                "days": 3,  # three days
            },
        },
        # after the last rule
    ],  # end of the rules
    # about the tags
    tags={"a": "b"}
)
c = aws.s3.Bucket(
    "c",
    force_destroy=True,  # last one left
    lifecycle_rules=[{"id": "z", "enabled": True, "expiration": {"days": 1}}]
)
'''
    result = fix(source)
    output = result.output.decode()
    comments = [token for line in source.splitlines() if "#" in line for token in [line[line.index("#"):]]]
    assert sorted(c for line in output.splitlines() if "#" in line for c in [line[line.index("#"):]]) == sorted(
        comments)
    bucket_b = output[output.index("b = "):output.index("b_lifecycle = ")]
    assert bucket_b == '''b = aws.s3.Bucket(
    "b",
    force_destroy=True,  # stays on its line
    # about the tags
    tags={"a": "b"}
)
'''
    configuration_b = output[output.index("b_lifecycle = "):output.index("c = ")]
    assert configuration_b.index("# about the rules") < configuration_b.index("rules=[")
    assert configuration_b.index("# the id") < configuration_b.index('"id": "y"')
    assert configuration_b.index("# above enabled") < configuration_b.index('"status": "Enabled"')
    assert configuration_b.index("# three days") < configuration_b.index('"days": 3')
    assert output[output.index("c = "):output.index("c_lifecycle = ")] == '''c = aws.s3.Bucket(
    "c",
    force_destroy=True  # last one left
)
'''
    cst.parse_module(output)
    assert fix(output).output == result.output
