"""crlf-line-endings and region-file-mismatch beyond their fixtures: git's own settings, import
styles, providers traced through the code, nested projects."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from iacfix.codemods.crlf_line_endings import CrlfLineEndings, _matches
from iacfix.codemods.region_file_mismatch import RegionFileMismatch

from iacfix.engine import run

PROJECT = "name: TapStack\nruntime: python\nmain: tap.py\n"


def project(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, text in {"Pulumi.yaml": PROJECT, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return root


def findings(root: Path, rule, **options) -> list[tuple[str, int, str]]:
    report = run([root], [rule], **options)
    return [(Path(f.path).name, f.line, f.message) for f in report.findings]


# -- crlf-line-endings -----------------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    ("*.py", "lib/tap_stack.py", True),
    ("*.py", "tap.py", True),
    ("lib/*.py", "lib/tap_stack.py", True),
    ("lib/*.py", "lib/sub/x.py", False),
    ("/tap.py", "tap.py", True),
    ("**/tests/*.py", "a/tests/t.py", True),
    ("**/tests/*.py", "tests/t.py", True),
    ("lib/**", "lib/sub/x.py", True),
    ("Pulumi.*.yaml", "Pulumi.dev.yaml", True),
    ("lib/", "lib", False),
])
def test_gitattributes_patterns(pattern, path, expected):
    assert _matches(pattern, path) is expected


def test_a_bare_cr_is_a_line_break_for_python_so_the_fix_keeps_every_value(tmp_path, monkeypatch):
    source = b'X = """a\rb"""\rY = "\\r"\r'
    project(tmp_path / "p", {"tap.py": source})
    monkeypatch.chdir(tmp_path)
    [result] = [r for r in run([tmp_path / "p"], [CrlfLineEndings]).files if r.changed]
    assert result.output == b'X = """a\nb"""\nY = "\\r"\n'
    before, after = {}, {}
    exec(compile(source, "before", "exec"), before)  # noqa: S102 - the fixture's own code
    exec(compile(result.output, "after", "exec"), after)  # noqa: S102
    assert (before["X"], before["Y"]) == (after["X"], after["Y"]) == ("a\nb", "\r")


def test_finding_is_on_the_first_cr_line(tmp_path, monkeypatch):
    project(tmp_path / "p", {"tap.py": b"\xef\xbb\xbfimport os\nx = 1\r\ny = 2\n"})
    monkeypatch.chdir(tmp_path)
    [finding] = run([tmp_path / "p"], [CrlfLineEndings]).findings
    assert (finding.line, finding.column) == (2, 6)
    assert "mixes CRLF and LF" in finding.message


def test_a_nested_project_owns_its_files(tmp_path, monkeypatch):
    project(tmp_path / "outer", {"tap.py": "import pulumi\n", "inner/Pulumi.yaml": PROJECT,
                                 "inner/tap.py": b"import pulumi\r\n"})
    monkeypatch.chdir(tmp_path)
    report = run([tmp_path / "outer"], [CrlfLineEndings])
    assert [f.path for f in report.findings] == ["outer/inner/tap.py"]


git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


@git
def test_core_autocrlf_true_leaves_crlf_working_trees_alone(tmp_path, monkeypatch):
    root = project(tmp_path / "repo", {"tap.py": b"import pulumi\r\n", "lib/m.py": b"x = 1\r\n",
                                       "lib/.gitattributes": "m.py -text\n"})
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "config", "core.autocrlf", "true"], check=True)
    monkeypatch.chdir(tmp_path)
    # tap.py is git's CRLF checkout; m.py is -text, so its CRLF is its content.
    assert [f.path for f in run([root], [CrlfLineEndings]).findings] == ["repo/lib/m.py"]


@git
def test_gitattributes_of_the_repository_above_the_project_count(tmp_path, monkeypatch):
    (tmp_path / "repo").mkdir()
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    (tmp_path / "repo" / ".gitattributes").write_text("infra/**/*.py text eol=crlf\n")
    root = project(tmp_path / "repo" / "infra", {"tap.py": b"import pulumi\r\n",
                                                  "Pulumi.dev.yaml": b"config: {}\r\n"})
    monkeypatch.chdir(tmp_path)
    assert [f.path for f in run([root], [CrlfLineEndings]).findings] == ["repo/infra/Pulumi.dev.yaml"]


def test_a_project_gitattributes_asking_for_crlf_is_an_explicit_choice(tmp_path, monkeypatch):
    # (Not a fixture case: a .gitattributes inside iacfix's own fixtures would rewrite their bytes.)
    root = project(tmp_path / "proj", {"Pulumi.yaml": PROJECT.replace("\n", "\r\n").encode(),
                                       "tap.py": b"import pulumi\r\n",
                                       ".gitattributes": "*.py text eol=crlf\n*.yaml text eol=crlf\n"})
    monkeypatch.chdir(tmp_path)
    report = run([root], [CrlfLineEndings])
    assert report.findings == () and not report.changed


def test_a_project_gitattributes_asking_for_lf_does_not_hide_crlf(tmp_path, monkeypatch):
    root = project(tmp_path / "proj", {"tap.py": b"import pulumi\r\nx = 1\r\n",
                                       ".gitattributes": "* text=auto eol=lf\n"})
    monkeypatch.chdir(tmp_path)
    [result] = run([root], [CrlfLineEndings]).changed
    assert result.path == "proj/tap.py" and result.output == b"import pulumi\nx = 1\n"


# -- region-file-mismatch --------------------------------------------------------------------

STACK = "config:\n  aws:region: eu-south-1\n"


@pytest.mark.parametrize("imports, provider", [
    ("import pulumi_aws as aws", "aws.Provider"),
    ("import pulumi_aws", "pulumi_aws.Provider"),
    ("from pulumi_aws import Provider", "Provider"),
    ("from pulumi_aws.provider import Provider as AwsProvider", "AwsProvider"),
])
def test_provider_literal_in_every_import_style(tmp_path, monkeypatch, imports, provider):
    code = f'{imports}\nimport pulumi\n\np = {provider}("aws", region="us-east-1")\n'
    project(tmp_path / "p", {"Pulumi.dev.yaml": STACK, "tap.py": code})
    monkeypatch.chdir(tmp_path)
    [(name, line, message)] = findings(tmp_path / "p", RegionFileMismatch)
    assert (name, line) == ("tap.py", 4)
    assert message.startswith('this aws.Provider has region="us-east-1" but Pulumi.dev.yaml aws:region is eu-south-1')


CDN = '''import pulumi
import pulumi_aws as aws

edge = aws.Provider("edge", region="us-east-1")
cert = aws.acm.Certificate("c", domain_name="x.example.com", validation_method="DNS",
                           opts=pulumi.ResourceOptions(provider=edge))
{extra}
'''


def test_a_us_east_1_provider_serving_only_certificates_beside_cloudfront_is_left_alone(tmp_path, monkeypatch):
    project(tmp_path / "p", {"Pulumi.dev.yaml": STACK, "tap.py": CDN.format(extra=""),
                             "lib/cdn.py": "import pulumi_aws as aws\n\naws.cloudfront.Distribution('d')\n"})
    monkeypatch.chdir(tmp_path)
    assert findings(tmp_path / "p", RegionFileMismatch) == []


def test_the_same_provider_also_serving_a_vpc_is_the_stack_region_and_reported(tmp_path, monkeypatch):
    extra = 'vpc = aws.ec2.Vpc("v", cidr_block="10.0.0.0/16", opts=pulumi.ResourceOptions(provider=edge))\n'
    project(tmp_path / "p", {"Pulumi.dev.yaml": STACK, "tap.py": CDN.format(extra=extra),
                             "lib/cdn.py": "import pulumi_aws as aws\n\naws.cloudfront.Distribution('d')\n"})
    monkeypatch.chdir(tmp_path)
    assert [line for _, line, _ in findings(tmp_path / "p", RegionFileMismatch)] == [4]


def test_without_cloudfront_a_us_east_1_certificate_provider_is_reported(tmp_path, monkeypatch):
    # An ALB certificate must live in the ALB's region: us-east-1 is only right for CloudFront.
    project(tmp_path / "p", {"Pulumi.dev.yaml": STACK, "tap.py": CDN.format(extra="")})
    monkeypatch.chdir(tmp_path)
    assert [line for _, line, _ in findings(tmp_path / "p", RegionFileMismatch)] == [4]


def test_stack_option_selects_the_source_of_truth(tmp_path, monkeypatch):
    project(tmp_path / "p", {"Pulumi.dev.yaml": STACK, "Pulumi.prod.yaml": "config:\n  aws:region: eu-west-1\n",
                             "lib/AWS_REGION": "eu-south-1\n"})
    monkeypatch.chdir(tmp_path)
    [(name, _, message)] = findings(tmp_path / "p", RegionFileMismatch, stack="prod")
    assert name == "AWS_REGION"
    assert message == ("lib/AWS_REGION says eu-south-1 but Pulumi.prod.yaml aws:region is eu-west-1; iacfix "
                       "takes aws:region of the selected stack as the source of truth: make them agree.")
    assert findings(tmp_path / "p", RegionFileMismatch, stack="dev") == []


def test_environment_is_never_a_source_of_truth(tmp_path, monkeypatch):
    project(tmp_path / "p", {"tap.py": 'import boto3\n\nboto3.client("s3", region_name="us-east-1")\n'})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_REGION", "eu-south-1")
    assert findings(tmp_path / "p", RegionFileMismatch) == []


def test_suppression_comment_in_a_stack_file(tmp_path, monkeypatch):
    stack = "config:\n  aws:region: us-east-1  # iacfix: ignore[region-file-mismatch]\n"
    project(tmp_path / "p", {"Pulumi.dev.yaml": stack,
                             "lib/AWS_REGION": "us-east-1\n"})
    monkeypatch.chdir(tmp_path)
    assert findings(tmp_path / "p", RegionFileMismatch, region="eu-south-1") == [
        ("AWS_REGION", 1, ("lib/AWS_REGION says us-east-1 but --region is eu-south-1; iacfix takes --region "
                           "as the source of truth: make them agree.")),
    ]
