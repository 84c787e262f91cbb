"""TapStack: the acme service's top-level component, wiring the per-concern stacks together.

Generated code, as iacfix meets it: one ComponentResource per concern, composed here.
"""
from typing import Optional

import pulumi
from pulumi import Output, ResourceOptions

from .compute import ComputeStack
from .database import DatabaseStack
from .monitoring import MonitoringStack
from .networking import NetworkingStack


class TapStackArgs:
    """Arguments for the TapStack component.

    Args:
        environment_suffix: suffix for every physical name (dev, pr1234, ...).
        tags: tags applied to every taggable resource.
    """

    def __init__(self, environment_suffix: Optional[str] = None, tags: Optional[dict] = None):
        self.environment_suffix = environment_suffix or "dev"
        self.tags = tags or {}


class TapStack(pulumi.ComponentResource):
    """Main Pulumi component of the acme service."""

    def __init__(self, name: str, args: TapStackArgs, opts: Optional[ResourceOptions] = None):
        super().__init__("tap:stack:TapStack", name, None, opts)
        self.environment_suffix = args.environment_suffix
        self.tags = {**args.tags, "ManagedBy": "pulumi"}
        child = ResourceOptions(parent=self)

        self.networking = NetworkingStack(
            f"acme-networking-{self.environment_suffix}",
            environment_suffix=self.environment_suffix,
            tags=self.tags,
            opts=child,
        )
        self.database = DatabaseStack(
            f"acme-database-{self.environment_suffix}",
            environment_suffix=self.environment_suffix,
            vpc_id=self.networking.vpc.id,
            subnet_ids=[subnet.id for subnet in self.networking.private_subnets],
            tags=self.tags,
            opts=child,
        )
        self.compute = ComputeStack(
            f"acme-compute-{self.environment_suffix}",
            environment_suffix=self.environment_suffix,
            vpc_id=self.networking.vpc.id,
            public_subnet_ids=[subnet.id for subnet in self.networking.public_subnets],
            private_subnet_ids=[subnet.id for subnet in self.networking.private_subnets],
            tags=self.tags,
            opts=child,
        )
        self.monitoring = MonitoringStack(
            f"acme-monitoring-{self.environment_suffix}",
            environment_suffix=self.environment_suffix,
            cluster_name=self.compute.cluster_name,
            service_name=self.compute.service_name,
            opts=child,
        )

        self.vpc_id = self.networking.vpc.id
        self.service_url = Output.concat("https://", self.compute.endpoint)
        self.register_outputs({
            "vpc_id": self.vpc_id,
            "service_url": self.service_url,
            "alarm_topic_arn": self.monitoring.topic.arn,
        })
