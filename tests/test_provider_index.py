"""The shipped pulumi_aws signature index: it is what the builder produces, it is loaded only when a
provider rule runs on a file that can reach pulumi_aws, and the rules' rename tables agree with it.

The v7 index is rebuilt here from the pulumi_aws the test extra pins (the exact release it was built
from), by the builder's `--introspect` path, and must equal the shipped file: the data cannot rot
silently. Rebuilding the v6 index means installing pulumi-aws 6 into a throwaway venv (about 40 s
and a download), too slow for every CI run: CI checks the shipped v6 file against the digest and
release the builder recorded in the manifest, and what the rules rely on in it; set
IACFIX_REBUILD_V6=1 to run the full rebuild (`scripts/build_provider_index.py --version`).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pulumi
import pytest

from iacfix.codemods import _provider_index
from iacfix.codemods._provider_index import SUPPORTED_MAJORS, index_file, indexes_for, provider_index
from iacfix.codemods.pulumi_aws_nonexistent_module import MODULE_ALIASES
from iacfix.codemods.pulumi_aws_nonexistent_symbol import RESOURCE_ATTRIBUTES, SYMBOL_RENAMES
from iacfix.codemods.pulumi_aws_unknown_kwarg import COMPANIONS, LIST, RENAME, RENAMES
from iacfix.context import ProjectContext
from iacfix.engine import fix_source
from iacfix.registry import all_rules, rule_by_id
from iacfix.results import Safety

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import build_provider_index as builder

MANIFEST = json.loads(builder.MANIFEST.read_text())


def shipped(major: int) -> dict:
    return json.loads(gzip.decompress(index_file(major).read_bytes()))


def test_v7_index_is_what_the_builder_makes_from_the_pinned_release():
    installed = importlib.metadata.version("pulumi-aws")
    assert installed == shipped(7)["version"], (
        f"the test extra must pin pulumi-aws=={shipped(7)['version']} (installed {installed}); after bumping "
        "the pin, rebuild with `python scripts/build_provider_index.py --version <release>`")
    assert builder.build_index() == shipped(7)


@pytest.mark.parametrize("major", SUPPORTED_MAJORS)
def test_shipped_files_match_the_manifest(major):
    data = index_file(major).read_bytes()
    entry = MANIFEST[str(major)]
    assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]
    index = shipped(major)
    assert (index["major"], index["version"], index["format"]) == (major, entry["version"], builder.FORMAT)
    assert data == builder.encode(index), "not the builder's deterministic encoding"


def test_v6_index_holds_what_the_rules_rely_on():
    v6 = provider_index(6)
    assert v6.resource("ec2", "Eip")["dep_kw"]["vpc"].startswith("vpc is deprecated")
    assert "stage_name" in v6.resource("apigateway", "Deployment")["dep_kw"]
    assert "replication_group_description" not in v6.resource("elasticache", "ReplicationGroup")["kw"]
    assert "region" not in v6.function("", "get_region")["result"]
    assert "region" not in v6.resource("s3", "Bucket")["kw"]  # per-resource region is new in 7
    assert len(v6.modules) > 200 and sum(len(m["resources"]) for m in v6.modules.values()) > 1500


@pytest.mark.skipif(not os.environ.get("IACFIX_REBUILD_V6"), reason="installs pulumi-aws 6 (set IACFIX_REBUILD_V6=1)")
def test_v6_index_rebuilds_from_a_throwaway_venv(tmp_path):
    version = MANIFEST["6"]["version"]
    data = builder.build_in_throwaway_venv(version)
    assert json.loads(gzip.decompress(data)) == shipped(6)


def test_index_size_and_load_time(capsys):
    sizes = {major: index_file(major).read_bytes() for major in SUPPORTED_MAJORS}
    assert all(len(data) < 1_000_000 for data in sizes.values())  # a few hundred KB each
    provider_index.cache_clear()
    start = time.perf_counter()
    for major in SUPPORTED_MAJORS:
        provider_index(major)
    elapsed = time.perf_counter() - start
    with capsys.disabled():
        print("\nprovider index: " + ", ".join(
            f"v{m} {len(d) / 1000:.0f} KB gz / {len(gzip.decompress(d)) / 1e6:.1f} MB json" for m, d in sizes.items())
            + f"; both loaded in {elapsed * 1000:.0f} ms")
    assert elapsed < 10.0  # ~0.15 s on an idle 2-core machine; a guard against pathological regressions
    start = time.perf_counter()
    provider_index(7)
    assert time.perf_counter() - start < 0.01, "a second use must not read the file again"


# -- the rules' tables agree with every shipped index ------------------------------------------

@pytest.mark.parametrize(("module", "cls", "keyword"), sorted(RENAMES), ids=lambda v: v)
def test_every_confirmed_keyword_fix_is_right_in_the_index(module, cls, keyword):
    """The keyword is rejected or deprecated by the latest major (by every major for a plain
    rename), and wherever the rule acts on it, the replacement exists and is not deprecated."""
    fix = RENAMES[(module, cls, keyword)]
    for index in indexes_for(None):
        entry = index.resource(module, cls)
        assert entry is not None, f"{index.version}: no {module}.{cls}"
        bad = keyword not in entry["kw"] or keyword in entry.get("dep_kw", {})
        if index.major == max(SUPPORTED_MAJORS) or fix.kind in (RENAME, LIST):
            assert bad, f"{index.version} takes {module}.{cls}({keyword}=) without complaint"
        if not bad:
            continue  # the rule does not act on this major
        if fix.resource:
            assert index.resource(module, fix.resource) is not None
        else:
            assert fix.target in entry["kw"] and fix.target not in entry.get("dep_kw", {})


def test_companion_keywords_go_with_a_statement_level_fix():
    for key, companions in COMPANIONS.items():
        assert RENAMES[key].resource
        stage = provider_index(7).resource(key[0], RENAMES[key].resource)
        assert set(companions.values()) <= set(stage["kw"])


@pytest.mark.parametrize(("module", "wrong"), sorted(SYMBOL_RENAMES), ids=lambda v: v)
def test_every_symbol_rename_targets_a_real_class(module, wrong):
    for index in indexes_for(None):
        assert not index.has_symbol(module, wrong)
        assert index.resource(module, SYMBOL_RENAMES[(module, wrong)]) is not None


def test_module_aliases_are_missing_modules_and_targets_real_ones():
    for index in indexes_for(None):
        for alias, target in MODULE_ALIASES.items():
            assert not index.has_module(alias) and index.has_module(target), (index.version, alias)


def test_resource_attributes_are_customresource_api():
    import pulumi_aws

    bucket = pulumi_aws.s3.Bucket
    assert all(hasattr(bucket, name) for name in RESOURCE_ATTRIBUTES)
    assert set(RESOURCE_ATTRIBUTES) - {"get", "pulumi_type"} <= set(dir(pulumi.CustomResource))


# -- loaded lazily, only where it is needed ----------------------------------------------------

PROBE = """
import sys
from typer.testing import CliRunner
from iacfix.cli import app
from iacfix.codemods import _provider_index
result = CliRunner().invoke(app, ["--help"])
assert result.exit_code == 0, result.output
print(_provider_index.provider_index.cache_info().currsize, "pulumi_aws" in sys.modules)
"""


def test_help_does_not_load_the_index():
    completed = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert completed.stdout.split() == ["0", "False"]


def test_index_loads_only_for_files_that_reach_pulumi_aws():
    _provider_index.provider_index.cache_clear()
    rules = all_rules()
    project = ProjectContext(aws_major=7)
    fix_source("a.py", b"import boto3\nboto3.client('s3').list_buckets(Name='x')\n", rules, Safety.SAFE,
               project=project)
    assert _provider_index.provider_index.cache_info().currsize == 0
    fix_source("b.py", b"import pulumi_aws as aws\naws.s3.Bucket('b')\n", rules, Safety.SAFE, project=project)
    assert _provider_index.provider_index.cache_info().currsize == 1


# -- an unknown major: a finding must hold on every shipped major --------------------------------

def findings(source: str, major: int | None, rule: str = "pulumi-aws-unknown-kwarg"):
    result = fix_source("p.py", source.encode(), [rule_by_id(rule)], Safety.SAFE,
                        project=ProjectContext(aws_major=major))
    return result


def test_unknown_major_reports_only_what_every_major_rejects():
    source = ('import pulumi_aws as aws\n'
              'a = aws.cloudwatch.MetricAlarm("a", alarm_name="x")\n'  # no major takes it
              'b = aws.s3.Bucket("b", region="eu-west-1")\n'  # new in 7: fine when the major is unknown
              'c = aws.ec2.Eip("c", vpc=True)\n')  # deprecated in 6, removed in 7
    result = findings(source, None)
    assert sorted((f.line, f.fixed) for f in result.findings) == [(2, True), (4, True)]
    assert b'name="x"' in result.output and b'domain="vpc"' in result.output
    assert [f.line for f in findings(source, 6).findings] == [2, 3, 4]
    assert [f.line for f in findings(source, 7).findings] == [2, 4]


def test_region_attribute_follows_the_major():
    source = "import pulumi_aws as aws\nr = aws.get_region().name\ns = aws.get_region().region\n"
    rule = "pulumi-aws-nonexistent-symbol"
    assert [(f.line, f.fixed) for f in findings(source, 7, rule).findings] == [(2, True)]
    assert [(f.line, f.fixed) for f in findings(source, 6, rule).findings] == [(3, True)]
    assert findings(source, None, rule).findings == ()


def test_a_major_without_an_index_turns_the_rules_off():
    source = 'import pulumi_aws as aws\na = aws.cloudwatch.MetricAlarm("a", alarm_name="x")\n'
    assert findings(source, 5).findings == ()
