"""TapStack: Flask API on ECS Fargate behind an ALB, with Aurora PostgreSQL and an S3 log bucket.

Generated code, as iacfix meets it: every failure below is one the seed write-ups document.
"""
import json
import random
import string
from typing import Optional

import pulumi
import pulumi_aws as aws
from pulumi import Output, ResourceOptions


class TapStackArgs:
    """Arguments for the TapStack component."""

    def __init__(self, environment_suffix: Optional[str] = None, tags: Optional[dict] = None):
        self.environment_suffix = environment_suffix or "dev"
        self.tags = tags or {}


class TapStack(pulumi.ComponentResource):
    """Main Pulumi component for the Flask API."""

    def __init__(self, name: str, args: TapStackArgs, opts: Optional[ResourceOptions] = None):
        super().__init__("tap:stack:TapStack", name, None, opts)
        self.environment_suffix = args.environment_suffix
        tags = args.tags

        # Access logs for the load balancer
        self.logs_bucket = aws.s3.Bucket(
            f"flask-api-logs-{self.environment_suffix}",
            bucket=f"flask-api-logs-{self.environment_suffix}",
            force_destroy=True,
            tags={**tags, "Name": f"flask-api-logs-{self.environment_suffix}"},
            opts=ResourceOptions(parent=self),
        )

        # Database credentials
        db_password = "".join(random.choices(string.ascii_letters + string.digits, k=32))

        db_secret = aws.secretsmanager.Secret(
            f"flask-api-db-secret-{self.environment_suffix}",
            name=f"flask-api-db-secret-{self.environment_suffix}",
            opts=ResourceOptions(parent=self),
        )

        self.db_cluster = aws.rds.Cluster(
            f"flask-api-aurora-{self.environment_suffix}",
            cluster_identifier=f"flask-api-aurora-{self.environment_suffix}",
            engine="aurora-postgresql",
            engine_mode="provisioned",
            engine_version="15.8",
            database_name="flaskapi",
            master_username="flaskadmin",
            master_password=db_password,
            skip_final_snapshot=True,
            deletion_protection=False,
            serverlessv2_scaling_configuration=aws.rds.ClusterServerlessv2ScalingConfigurationArgs(
                min_capacity=0.5,
                max_capacity=2,
            ),
            tags=tags,
            opts=ResourceOptions(parent=self),
        )

        aws.secretsmanager.SecretVersion(
            f"flask-api-db-secret-version-{self.environment_suffix}",
            secret_id=db_secret.id,
            secret_string=Output.all(self.db_cluster.endpoint).apply(
                lambda args: json.dumps(
                    {"username": "flaskadmin", "password": db_password, "host": args[0]}
                )
            ),
            opts=ResourceOptions(parent=self),
        )

        log_group = aws.cloudwatch.LogGroup(
            f"flask-api-logs-{self.environment_suffix}",
            name=f"/ecs/flask-api-{self.environment_suffix}",
            retention_in_days=30,
            opts=ResourceOptions(parent=self),
        )

        repository = aws.ecr.Repository(
            f"flask-api-repo-{self.environment_suffix}",
            name=f"flask-api-repo-{self.environment_suffix}",
            force_delete=True,
            opts=ResourceOptions(parent=self),
        )

        self.task_definition = aws.ecs.TaskDefinition(
            f"flask-api-task-{self.environment_suffix}",
            family=f"flask-api-{self.environment_suffix}",
            cpu="256",
            memory="512",
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            container_definitions=Output.all(repository.repository_url, log_group.name, db_secret.arn).apply(
                lambda args: json.dumps(
                    [
                        {
                            "name": "flask-api",
                            "image": f"{args[0]}:latest",
                            "essential": True,
                            "portMappings": [{"containerPort": 5000, "protocol": "tcp"}],
                            "secrets": [{"name": "DB_SECRET", "valueFrom": args[2]}],
                            "logConfiguration": {
                                "logDriver": "awslogs",
                                "options": {
                                    "awslogs-group": args[1],
                                    "awslogs-region": "us-east-1",
                                    "awslogs-stream-prefix": "flask-api",
                                },
                            },
                        }
                    ]
                )
            ),
            opts=ResourceOptions(parent=self),
        )

        self.alb_dns_name = Output.concat("flask-api-", self.environment_suffix, ".example.internal")

        self.register_outputs(
            {
                "logs_bucket": self.logs_bucket.bucket,
                "db_endpoint": self.db_cluster.endpoint,
                "task_definition_arn": self.task_definition.arn,
            }
        )
