"""Integration tests of the deployed acme stack: outputs from `pulumi stack output`, checked with boto3."""
import json
import os
import unittest

import boto3
from botocore.exceptions import ClientError

OUTPUTS_FILE = os.path.join(os.path.dirname(__file__), "..", "..", "cfn-outputs", "flat-outputs.json")


def load_outputs() -> dict:
    """The flattened stack outputs CI writes after `pulumi up`; empty when the stack is not deployed."""
    if not os.path.exists(OUTPUTS_FILE):
        return {}
    with open(OUTPUTS_FILE, encoding="utf-8") as handle:
        return json.load(handle)


@unittest.skipUnless(os.getenv("RUN_INTEGRATION_TESTS"), "needs a deployed stack")
class TestDeployedStack(unittest.TestCase):
    """Checks the live resources of one environment."""

    @classmethod
    def setUpClass(cls):
        cls.outputs = load_outputs()
        cls.environment_suffix = os.getenv("ENVIRONMENT_SUFFIX", "dev")
        session = boto3.session.Session()
        cls.ec2 = session.client("ec2")
        cls.logs = session.client("logs")
        cls.secrets = session.client("secretsmanager")

    def test_vpc_has_dns_support(self):
        vpc_id = self.outputs["vpc_id"]
        vpcs = self.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
        self.assertEqual(len(vpcs), 1)
        attribute = self.ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsSupport")
        self.assertTrue(attribute["EnableDnsSupport"]["Value"])

    def test_flow_logs_are_delivered(self):
        vpc_id = self.outputs["vpc_id"]
        flow_logs = self.ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]
        self.assertTrue(flow_logs, f"no flow log for {vpc_id}")
        groups = self.logs.describe_log_groups(logGroupNamePrefix=f"/vpc/acme-{self.environment_suffix}")
        self.assertTrue(groups["logGroups"])

    def test_database_secret_is_managed(self):
        secret_arn = self.outputs.get("master_user_secret_arn")
        if not secret_arn:
            self.skipTest("the stack has no managed database secret")
        try:
            secret = self.secrets.describe_secret(SecretId=secret_arn)
        except ClientError as error:
            self.fail(f"secret {secret_arn} is missing: {error}")
        self.assertIn("rds", secret.get("OwningService", "rds"))


if __name__ == "__main__":
    unittest.main()
