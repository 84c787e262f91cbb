"""Project context: the pinned pulumi_aws major and the project root."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet

from iacfix.context import context_for_directory, major_of, pinned_aws_major, project_root


@pytest.mark.parametrize(
    ("spec", "major"),
    [(">=6.0.0,<7.0.0", 6), ("==6.83.1", 6), (">=7.0.0,<8.0.0", 7), ("~=6.50", 6), ("<7", 6),
     (">=6", 7), ("==7.*", 7), ("", None)],
)
def test_major_of(spec, major):
    assert major_of(SpecifierSet(spec)) == major


def test_pins_from_requirements_pyproject_pipfile_and_setup_cfg(tmp_path):
    cases = {
        "requirements.txt": "pulumi>=3\npulumi_aws==6.83.1  # pinned\n",
        "pyproject.toml": '[project]\ndependencies = ["Pulumi-AWS>=7,<8"]\n',
        "Pipfile": '[packages]\npulumi-aws = "==6.1.0"\n',
        "setup.cfg": "[options]\ninstall_requires =\n    pulumi-aws>=7.2,<8\n",
    }
    expected = {"requirements.txt": 6, "pyproject.toml": 7, "Pipfile": 6, "setup.cfg": 7}
    for name, text in cases.items():
        directory = tmp_path / name.replace(".", "_")
        directory.mkdir()
        (directory / name).write_text(text)
        assert pinned_aws_major(directory) == expected[name], name


def test_poetry_caret(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.poetry.dependencies]\npulumi-aws = "^6.40"\n')
    assert pinned_aws_major(tmp_path) == 6


def test_context_walks_up_to_the_project_root(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: TapStack\nruntime: python\n")
    (tmp_path / "requirements.txt").write_text("pulumi-aws>=6,<7\n")
    lib = tmp_path / "lib"
    lib.mkdir()
    assert project_root(lib) == tmp_path
    context = context_for_directory(lib, "eu-south-1")
    assert (context.root, context.aws_major, context.region) == (str(tmp_path), 6, "eu-south-1")
