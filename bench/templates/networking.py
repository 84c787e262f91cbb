"""VPC, subnets and security groups for the TapStack (clean: nothing for iacfix to find)."""
from typing import Optional

import pulumi
import pulumi_aws as aws
from pulumi import ResourceOptions


class NetworkingStack(pulumi.ComponentResource):
    """Three public and three private subnets across the region's availability zones."""

    def __init__(self, name: str, environment_suffix: str, tags: dict,
                 opts: Optional[ResourceOptions] = None):
        super().__init__("tap:networking:NetworkingStack", name, None, opts)
        azs = aws.get_availability_zones(state="available").names[:3]

        self.vpc = aws.ec2.Vpc(
            f"tap-vpc-{environment_suffix}",
            cidr_block="10.0.0.0/16",
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**tags, "Name": f"tap-vpc-{environment_suffix}"},
            opts=ResourceOptions(parent=self),
        )
        self.public_subnets = []
        self.private_subnets = []
        for index, az in enumerate(azs):
            self.public_subnets.append(aws.ec2.Subnet(
                f"tap-public-{index}-{environment_suffix}",
                vpc_id=self.vpc.id,
                cidr_block=f"10.0.{index * 2}.0/24",
                availability_zone=az,
                map_public_ip_on_launch=True,
                tags={**tags, "Name": f"tap-public-{index}-{environment_suffix}"},
                opts=ResourceOptions(parent=self),
            ))
            self.private_subnets.append(aws.ec2.Subnet(
                f"tap-private-{index}-{environment_suffix}",
                vpc_id=self.vpc.id,
                cidr_block=f"10.0.{index * 2 + 1}.0/24",
                availability_zone=az,
                tags={**tags, "Name": f"tap-private-{index}-{environment_suffix}"},
                opts=ResourceOptions(parent=self),
            ))

        self.alb_sg = aws.ec2.SecurityGroup(
            f"tap-alb-sg-{environment_suffix}",
            vpc_id=self.vpc.id,
            description="Load balancer ingress",
            ingress=[aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=443, to_port=443, cidr_blocks=["0.0.0.0/0"],
            )],
            egress=[aws.ec2.SecurityGroupEgressArgs(
                protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"],
            )],
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        self.register_outputs({"vpc_id": self.vpc.id})
