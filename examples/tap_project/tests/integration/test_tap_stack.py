"""Integration tests against the deployed stack: discover resources by environment suffix."""
import os
import unittest

import boto3


class TestTapStackIntegration(unittest.TestCase):
    """Checks the live resources of one environment."""

    @classmethod
    def setUpClass(cls):
        cls.region = os.getenv("AWS_REGION", "eu-south-1")
        cls.environment_suffix = os.getenv("ENVIRONMENT_SUFFIX", "dev")
        cls.secrets_client = boto3.client("secretsmanager", region_name=cls.region)
        cls.ec2_client = boto3.client("ec2", region_name=cls.region)

    def test_db_secret_exists(self):
        secrets_response = self.secrets_client.list_secrets()
        for secret in secrets_response.get("SecretList", []):
            if self.environment_suffix in secret["Name"]:
                details = self.secrets_client.describe_secret(Name=secret["Name"])
                self.assertIn("ARN", details)


if __name__ == "__main__":
    unittest.main()
