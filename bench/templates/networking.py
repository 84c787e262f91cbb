"""VPC, subnets, flow logs and security groups of the acme service (clean: nothing for iacfix to find)."""
import json
from typing import Optional

import pulumi
import pulumi_aws as aws
from pulumi import ResourceOptions
from pulumi_aws import cloudwatch, ec2, iam

VPC_CIDR = "10.0.0.0/16"


class NetworkingStack(pulumi.ComponentResource):
    """Two public and two private subnets across the region's availability zones."""

    def __init__(self, name: str, environment_suffix: str, tags: dict,
                 opts: Optional[ResourceOptions] = None):
        super().__init__("tap:networking:NetworkingStack", name, None, opts)
        azs = aws.get_availability_zones(state="available").names[:2]

        self.vpc = ec2.Vpc(
            f"acme-vpc-{environment_suffix}",
            cidr_block=VPC_CIDR,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**tags, "Name": f"acme-vpc-{environment_suffix}"},
            opts=ResourceOptions(parent=self),
        )
        self.internet_gateway = ec2.InternetGateway(
            f"acme-igw-{environment_suffix}",
            vpc_id=self.vpc.id,
            tags={**tags, "Name": f"acme-igw-{environment_suffix}"},
            opts=ResourceOptions(parent=self),
        )
        self.public_subnets = []
        self.private_subnets = []
        for index, az in enumerate(azs):
            self.public_subnets.append(ec2.Subnet(
                f"acme-public-{index}-{environment_suffix}",
                vpc_id=self.vpc.id,
                cidr_block=f"10.0.{index * 2}.0/24",
                availability_zone=az,
                map_public_ip_on_launch=True,
                tags={**tags, "Name": f"acme-public-{index}-{environment_suffix}", "Tier": "public"},
                opts=ResourceOptions(parent=self),
            ))
            self.private_subnets.append(ec2.Subnet(
                f"acme-private-{index}-{environment_suffix}",
                vpc_id=self.vpc.id,
                cidr_block=f"10.0.{index * 2 + 1}.0/24",
                availability_zone=az,
                tags={**tags, "Name": f"acme-private-{index}-{environment_suffix}", "Tier": "private"},
                opts=ResourceOptions(parent=self),
            ))

        public_routes = ec2.RouteTable(
            f"acme-public-rt-{environment_suffix}",
            vpc_id=self.vpc.id,
            routes=[ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=self.internet_gateway.id)],
            tags={**tags, "Name": f"acme-public-rt-{environment_suffix}"},
            opts=ResourceOptions(parent=self),
        )
        for index, subnet in enumerate(self.public_subnets):
            ec2.RouteTableAssociation(
                f"acme-public-rta-{index}-{environment_suffix}",
                subnet_id=subnet.id,
                route_table_id=public_routes.id,
                opts=ResourceOptions(parent=self),
            )

        flow_log_group = cloudwatch.LogGroup(
            f"acme-vpc-flow-logs-{environment_suffix}",
            name=f"/vpc/acme-{environment_suffix}/flow-logs",
            retention_in_days=14,
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        flow_log_role = iam.Role(
            f"acme-vpc-flow-logs-role-{environment_suffix}",
            assume_role_policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }],
            }),
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        iam.RolePolicy(
            f"acme-vpc-flow-logs-policy-{environment_suffix}",
            role=flow_log_role.id,
            policy=flow_log_group.arn.apply(lambda arn: json.dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    "Resource": f"{arn}:*",
                }],
            })),
            opts=ResourceOptions(parent=self),
        )
        ec2.FlowLog(
            f"acme-vpc-flow-log-{environment_suffix}",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination=flow_log_group.arn,
            iam_role_arn=flow_log_role.arn,
            tags=tags,
            opts=ResourceOptions(parent=self),
        )

        self.alb_sg = ec2.SecurityGroup(
            f"acme-alb-sg-{environment_suffix}",
            vpc_id=self.vpc.id,
            description="Load balancer ingress",
            ingress=[
                ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=443, to_port=443, cidr_blocks=["0.0.0.0/0"]),
                ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=80, to_port=80, cidr_blocks=["0.0.0.0/0"]),
            ],
            egress=[ec2.SecurityGroupEgressArgs(protocol="-1", from_port=0, to_port=0, cidr_blocks=[VPC_CIDR])],
            tags={**tags, "Name": f"acme-alb-sg-{environment_suffix}"},
            opts=ResourceOptions(parent=self),
        )
        self.app_sg = ec2.SecurityGroup(
            f"acme-app-sg-{environment_suffix}",
            vpc_id=self.vpc.id,
            description="Application tasks, reachable from the load balancer only",
            ingress=[ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=8080, to_port=8080, security_groups=[self.alb_sg.id],
            )],
            egress=[ec2.SecurityGroupEgressArgs(protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"])],
            tags={**tags, "Name": f"acme-app-sg-{environment_suffix}"},
            opts=ResourceOptions(parent=self),
        )
        self.register_outputs({
            "vpc_id": self.vpc.id,
            "public_subnet_ids": [subnet.id for subnet in self.public_subnets],
            "private_subnet_ids": [subnet.id for subnet in self.private_subnets],
        })
