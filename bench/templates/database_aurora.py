"""Aurora PostgreSQL cluster of the acme service, with the master password managed by RDS."""
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws
from pulumi import Input, Output, ResourceOptions

ENGINE = "aurora-postgresql"
ENGINE_VERSION = "16.3"


class DatabaseStack(pulumi.ComponentResource):
    """A two-instance Aurora Serverless v2 cluster in the private subnets."""

    def __init__(self, name: str, environment_suffix: str, vpc_id: Input[str],
                 subnet_ids: Sequence[Input[str]], tags: dict,
                 opts: Optional[ResourceOptions] = None):
        super().__init__("tap:database:DatabaseStack", name, None, opts)

        self.subnet_group = aws.rds.SubnetGroup(
            f"acme-db-subnets-{environment_suffix}",
            name=f"acme-db-subnets-{environment_suffix}",
            subnet_ids=subnet_ids,
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        self.security_group = aws.ec2.SecurityGroup(
            f"acme-db-sg-{environment_suffix}",
            vpc_id=vpc_id,
            description="PostgreSQL from inside the VPC",
            ingress=[aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=5432, to_port=5432, cidr_blocks=["10.0.0.0/16"],
            )],
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        self.cluster = aws.rds.Cluster(
            f"acme-aurora-{environment_suffix}",
            cluster_identifier=f"acme-aurora-{environment_suffix}",
            engine=ENGINE,
            engine_mode="provisioned",
            engine_version=ENGINE_VERSION,
            database_name="acme",
            master_username="acmeadmin",
            manage_master_user_password=True,
            db_subnet_group_name=self.subnet_group.name,
            vpc_security_group_ids=[self.security_group.id],
            storage_encrypted=True,
            backup_retention_period=7,
            serverlessv2_scaling_configuration=aws.rds.ClusterServerlessv2ScalingConfigurationArgs(
                min_capacity=0.5,
                max_capacity=4,
            ),
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        self.instances = [
            aws.rds.ClusterInstance(
                f"acme-aurora-{index}-{environment_suffix}",
                identifier=f"acme-aurora-{index}-{environment_suffix}",
                cluster_identifier=self.cluster.id,
                instance_class="db.serverless",
                engine=ENGINE,
                engine_version=ENGINE_VERSION,
                tags=tags,
                opts=ResourceOptions(parent=self),
            )
            for index in range(2)
        ]
        self.connection = Output.format(
            "postgresql://{0}:{1}/{2}", self.cluster.endpoint, self.cluster.port, self.cluster.database_name
        )
        self.register_outputs({
            "cluster_endpoint": self.cluster.endpoint,
            "master_user_secret_arn": self.cluster.master_user_secrets.apply(
                lambda secrets: secrets[0].secret_arn if secrets else None
            ),
        })
