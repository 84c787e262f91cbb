"""Unit tests of the acme TapStack under Pulumi's mock runtime (no cloud calls)."""
import unittest

import pulumi


class TapMocks(pulumi.runtime.Mocks):
    """Returns each resource's inputs as its outputs, plus the ids and ARNs the stack reads."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = {**args.inputs, "name": args.inputs.get("name", args.name)}
        if args.typ == "aws:ec2/vpc:Vpc":
            outputs["id"] = "vpc-0a1b2c3d"
        if args.typ == "aws:lb/loadBalancer:LoadBalancer":
            outputs["dns_name"] = f"{args.name}.elb.amazonaws.com"
        return [f"{args.name}_id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": ["zone-a", "zone-b"], "zoneIds": ["zone-a-id", "zone-b-id"]}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": "000000000000", "arn": "arn:aws:iam::000000000000:user/test", "userId": "test"}
        return {}


pulumi.runtime.set_mocks(TapMocks(), preview=False)

from lib.tap_stack import TapStack, TapStackArgs  # noqa: E402  (after the mocks are set)


class TestTapStack(unittest.TestCase):
    """The component wires its children and tags together."""

    def setUp(self):
        self.args = TapStackArgs(environment_suffix="unittest", tags={"Project": "acme"})

    @pulumi.runtime.test
    def test_vpc_is_created(self):
        stack = TapStack("acme-test", self.args)

        def check(vpc_id):
            self.assertEqual(vpc_id, "vpc-0a1b2c3d")

        return stack.vpc_id.apply(check)

    @pulumi.runtime.test
    def test_service_url_is_https(self):
        stack = TapStack("acme-test", self.args)
        return stack.service_url.apply(lambda url: self.assertTrue(url.startswith("https://")))

    def test_default_suffix(self):
        self.assertEqual(TapStackArgs().environment_suffix, "dev")
        self.assertEqual(TapStackArgs(tags=None).tags, {})


if __name__ == "__main__":
    unittest.main()
