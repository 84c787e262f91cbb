"""The RDS engine-version table shipped with iacfix, and the script that refreshes it.

moto 5 does not implement `describe_db_engine_versions` (it raises NotImplementedError), so the
script runs against real botocore RDS clients with botocore's Stubber: the responses are checked
against the RDS service model, boto3's own paginator follows `Marker` from page to page, and the
test reads the file the script writes.
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "codemods" / "data" / "rds_engine_versions.json"
SCRIPT = ROOT / "scripts" / "refresh_rds_engine_versions.py"
refresh = runpy.run_path(str(SCRIPT))
REQUIRED_REGIONS = {"us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "eu-south-1",
                    "ap-southeast-1", "ap-northeast-1"}
ENGINES = {"aurora-postgresql", "aurora-mysql", "postgres", "mysql"}


# -- the shipped table ---------------------------------------------------------------------------

def test_table_has_provenance_and_covers_every_engine_and_region() -> None:
    document = json.loads(DATA.read_text(encoding="utf-8"))
    assert set(document) == {"generated", "source", "engines"}
    assert len(document["generated"]) == 10 and document["generated"][4] == "-"
    assert "by hand" in document["source"] and "refresh_rds_engine_versions.py" in document["source"]
    assert set(document["engines"]) == ENGINES
    for engine, by_region in document["engines"].items():
        assert REQUIRED_REGIONS <= set(by_region), engine
        for region, versions in by_region.items():
            assert versions, (engine, region)
            assert versions == sorted(set(versions), key=refresh["version_key"]), (engine, region)


def test_table_layout_is_the_scripts_layout() -> None:
    """A refresh rewrites the file in the same layout, so its diff shows only what AWS changed."""
    text = DATA.read_text(encoding="utf-8")
    assert refresh["render"](json.loads(text)) == text


def test_eu_south_1_aurora_postgresql_is_what_seed_001_states() -> None:
    offered = json.loads(DATA.read_text())["engines"]["aurora-postgresql"]["eu-south-1"]
    majors = {v.split(".")[0] for v in offered}
    assert majors == {"11", "12", "13", "14", "15", "16"}
    assert {"11.9", "11.21", "12.9", "12.22", "13.9", "13.21", "14.6", "14.18", "15.6", "15.8", "15.13",
            "16.1", "16.3"} <= set(offered)
    assert "15.4" not in offered and "15.3" not in offered  # seeds 001 and 002
    assert [v for v in offered if v.startswith("16.")] == ["16.1", "16.2", "16.3"]


def test_version_order_is_numeric() -> None:
    key = refresh["version_key"]
    assert sorted(["15.10", "15.9", "15.13"], key=key) == ["15.9", "15.10", "15.13"]
    assert min(["8.0.mysql_aurora.3.10.0", "8.0.mysql_aurora.3.04.4"], key=key).endswith("3.04.4")
    assert sorted(["5.7.44-rds.20240408", "5.7.44"], key=key) == ["5.7.44", "5.7.44-rds.20240408"]


# -- the refresh script against stubbed RDS clients -------------------------------------------------

def entry(engine: str, version: str) -> dict[str, Any]:
    family = f"{engine}{version.split('.')[0] if 'postgres' in engine else version[:3]}"
    return {"Engine": engine, "EngineVersion": version, "DBParameterGroupFamily": family,
            "Status": "available"}


class StubbedSession:
    """A boto3-like session whose RDS clients are real botocore clients behind a Stubber."""

    def __init__(self) -> None:
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                aws_session_token="testing")
        self._session = session
        self.clients: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}

    def get_credentials(self) -> Any:
        return self._session.get_credentials()

    def stub(self, region: str) -> Stubber:
        client = self._session.client("rds", region_name=region)
        self.clients[region] = client
        self.stubbers[region] = Stubber(client)
        self.stubbers[region].activate()
        return self.stubbers[region]

    def client(self, service: str, region_name: str) -> Any:
        assert service == "rds"
        return self.clients[region_name]


def pages(stubber: Stubber, engine: str, *pages_: list[str]) -> None:
    """Stub `describe_db_engine_versions(Engine=engine)` answering in the pages given, each but
    the last with a Marker the next request must send back."""
    for index, versions in enumerate(pages_):
        response: dict[str, Any] = {"DBEngineVersions": [entry(engine, v) for v in versions]}
        expected: dict[str, Any] = {"Engine": engine}
        if index:
            expected["Marker"] = f"{engine}-page-{index}"
        if index < len(pages_) - 1:
            response["Marker"] = f"{engine}-page-{index + 1}"
        stubber.add_response("describe_db_engine_versions", response, expected)


def test_refresh_follows_every_page_and_writes_the_stable_layout(tmp_path: Path) -> None:
    session = StubbedSession()
    # regions are visited in sorted order, engines in the script's order
    milan = session.stub("eu-south-1")
    pages(milan, "aurora-mysql", ["8.0.mysql_aurora.3.10.0"], ["8.0.mysql_aurora.3.04.4"])
    pages(milan, "aurora-postgresql", ["15.13", "15.8"], ["15.10", "16.3"], ["15.6", "15.8"])
    pages(milan, "mysql", [])
    pages(milan, "postgres", ["16.9"])
    virginia = session.stub("us-east-1")
    pages(virginia, "aurora-mysql", ["5.7.mysql_aurora.2.12.5"])
    pages(virginia, "aurora-postgresql", ["17.5", "16.9"], ["15.13"])
    pages(virginia, "mysql", ["8.4.5", "8.0.42"])
    pages(virginia, "postgres", ["17.5"])

    output = tmp_path / "data" / "rds_engine_versions.json"
    code = refresh["main"](["--output", str(output), "--region", "us-east-1", "--region", "eu-south-1"],
                           session=session)

    assert code == 0
    for stubber in session.stubbers.values():
        stubber.assert_no_pending_responses()  # every page was asked for, Marker included
    text = output.read_text(encoding="utf-8")
    document = json.loads(text)
    assert document["source"].startswith("AWS RDS DescribeDBEngineVersions")
    generated = document["generated"]
    assert text == (
        "{\n"
        f'  "generated": "{generated}",\n'
        f'  "source": {json.dumps(document["source"])},\n'
        '  "engines": {\n'
        '    "aurora-mysql": {\n'
        '      "eu-south-1": ["8.0.mysql_aurora.3.04.4", "8.0.mysql_aurora.3.10.0"],\n'
        '      "us-east-1": ["5.7.mysql_aurora.2.12.5"]\n'
        "    },\n"
        '    "aurora-postgresql": {\n'
        '      "eu-south-1": ["15.6", "15.8", "15.10", "15.13", "16.3"],\n'
        '      "us-east-1": ["15.13", "16.9", "17.5"]\n'
        "    },\n"
        '    "mysql": {\n'
        '      "eu-south-1": [],\n'
        '      "us-east-1": ["8.0.42", "8.4.5"]\n'
        "    },\n"
        '    "postgres": {\n'
        '      "eu-south-1": ["16.9"],\n'
        '      "us-east-1": ["17.5"]\n'
        "    }\n"
        "  }\n"
        "}\n"
    )
    assert [p.name for p in output.parent.iterdir()] == [output.name]  # no temporary file left


def test_refresh_defaults_to_the_regions_already_in_the_file(tmp_path: Path) -> None:
    output = tmp_path / "versions.json"
    output.write_text(json.dumps({"generated": "x", "source": "x",
                                  "engines": {"postgres": {"ap-northeast-1": ["16.3"]}}}))
    session = StubbedSession()
    tokyo = session.stub("ap-northeast-1")
    for engine in ("aurora-mysql", "aurora-postgresql", "mysql"):
        pages(tokyo, engine, [])
    pages(tokyo, "postgres", ["16.3"], ["16.9"])

    assert refresh["main"](["--output", str(output)], session=session) == 0
    tokyo.assert_no_pending_responses()
    assert json.loads(output.read_text())["engines"]["postgres"] == {"ap-northeast-1": ["16.3", "16.9"]}


def test_an_api_error_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "versions.json"
    output.write_text("previous\n")
    session = StubbedSession()
    stubber = session.stub("eu-south-1")
    stubber.add_client_error("describe_db_engine_versions", service_error_code="AccessDenied",
                             service_message="not authorized to perform rds:DescribeDBEngineVersions")

    code = refresh["main"](["--output", str(output), "--region", "eu-south-1"], session=session)

    assert code == 1
    assert output.read_text() == "previous\n"
    assert "AccessDenied" in capsys.readouterr().err


def test_without_credentials_it_says_so_and_exits_2(tmp_path: Path) -> None:
    output = tmp_path / "versions.json"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment.update({
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_EC2_METADATA_DISABLED": "true",  # never ask an instance metadata service
    })
    run = subprocess.run([sys.executable, str(SCRIPT), "--output", str(output)], env=environment,
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 2, run.stderr
    assert "no AWS credentials found" in run.stderr and "nothing was written" in run.stderr
    assert not output.exists()
