"""TapStack: the order processing platform (API Gateway, Lambda, SQS, DynamoDB, RDS, Redis, CI)."""
import json
from typing import Optional

import pulumi
import pulumi_aws as aws
from pulumi import Output, ResourceOptions
from pulumi_aws import ec2, elasticache, lambda_, rds


class TapStackArgs:
    """Arguments of the TapStack component."""

    def __init__(self, environment_suffix: Optional[str] = None, tags: Optional[dict] = None):
        self.environment_suffix = environment_suffix or "dev"
        self.tags = tags or {}


class TapStack(pulumi.ComponentResource):
    """All resources of one environment of the order platform."""

    def __init__(self, name: str, args: TapStackArgs, opts: Optional[ResourceOptions] = None):
        super().__init__("tap:stack:TapStack", name, None, opts)
        suffix = args.environment_suffix
        tags = {**args.tags, "Environment": suffix}
        child = ResourceOptions(parent=self)
        config = pulumi.Config()
        self.region = aws.get_region().region

        # --- Network -------------------------------------------------------------------------
        self.vpc = ec2.Vpc(f"orders-vpc-{suffix}", cidr_block="10.0.0.0/16", enable_dns_hostnames=True,
                           tags=tags, opts=child)
        self.igw = ec2.InternetGateway(
            f"orders-igw-{suffix}",
            vpc_id=self.vpc.id,
            tags=tags,
            opts=ResourceOptions(parent=self, depends_on=[self.vpc]),
        )
        self.public_subnet = ec2.Subnet(f"orders-public-{suffix}", vpc_id=self.vpc.id,
                                        cidr_block="10.0.1.0/24", tags=tags, opts=child)
        self.private_subnet = ec2.Subnet(f"orders-private-{suffix}", vpc_id=self.vpc.id,
                                         cidr_block="10.0.2.0/24", tags=tags, opts=child)
        self.nat_eip = ec2.Eip(f"orders-nat-eip-{suffix}", domain="vpc", tags=tags, opts=child)
        self.alb = aws.lb.LoadBalancer(
            f"orders-alb-{suffix}",
            subnets=[self.public_subnet.id, self.private_subnet.id],
            tags=tags,
            opts=child,
        )

        # --- Queue, table, logs --------------------------------------------------------------
        self.queue = aws.sqs.Queue(f"orders-queue-{suffix}", visibility_timeout_seconds=180, tags=tags, opts=child)
        self.table = aws.dynamodb.Table(
            f"orders-table-{suffix}",
            name=f"orders-{suffix}",
            billing_mode="PAY_PER_REQUEST",
            hash_key="orderId",
            attributes=[aws.dynamodb.TableAttributeArgs(name="orderId", type="S")],
            tags=tags,
            opts=child,
        )
        self.api_logs = aws.cloudwatch.LogGroup(f"orders-api-logs-{suffix}", retention_in_days=14, tags=tags, opts=child)
        self.worker_logs = aws.cloudwatch.LogGroup(f"orders-worker-logs-{suffix}", retention_in_days=14,
                                                   tags=tags, opts=child)

        # --- Worker Lambda -------------------------------------------------------------------
        self.worker_role = aws.iam.Role(
            f"orders-worker-role-{suffix}",
            assume_role_policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }],
            }),
            tags=tags,
            opts=child,
        )
        self.worker = lambda_.Function(
            f"orders-worker-{suffix}",
            runtime="python3.12",
            handler="worker.handler",
            role=self.worker_role.arn,
            memory_size=512,
            timeout=60,
            code=pulumi.AssetArchive({"worker.py": pulumi.StringAsset("def handler(event, context):\n    return 'ok'\n")}),
            environment=lambda_.FunctionEnvironmentArgs(variables={
                "TABLE_NAME": self.table.name,
                "QUEUE_URL": self.queue.url,
                "REGION": self.region,
            }),
            tags=tags,
            opts=child,
        )
        self.alerts = aws.sns.Topic(f"orders-alerts-{suffix}", tags=tags, opts=child)
        self.worker_errors = aws.cloudwatch.MetricAlarm(
            f"orders-worker-errors-{suffix}",
            name=f"orders-worker-errors-{suffix}",
            comparison_operator="GreaterThanThreshold",
            evaluation_periods=1,
            metric_name="Errors",
            namespace="AWS/Lambda",
            period=300,
            statistic="Sum",
            threshold=1,
            dimensions={"FunctionName": self.worker.name},
            alarm_actions=[self.alerts.arn],
            tags=tags,
            opts=child,
        )

        # --- Order workflow ------------------------------------------------------------------
        self.workflow_role = aws.iam.Role(
            f"orders-workflow-role-{suffix}",
            assume_role_policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
                               "Action": "sts:AssumeRole"}],
            }),
            tags=tags,
            opts=child,
        )
        self.workflow = aws.sfn.StateMachine(
            f"orders-workflow-{suffix}",
            role_arn=self.workflow_role.arn,
            definition=self.worker.arn.apply(lambda arn: json.dumps({
                "StartAt": "Process",
                "States": {"Process": {"Type": "Task", "Resource": arn, "End": True}},
            })),
            tags=tags,
            opts=child,
        )

        # --- Database and cache --------------------------------------------------------------
        self.db_subnets = rds.SubnetGroup(
            f"orders-db-subnets-{suffix}",
            subnet_ids=[self.public_subnet.id, self.private_subnet.id],
            tags=tags,
            opts=child,
        )
        self.database = rds.Instance(
            f"orders-db-{suffix}",
            engine="postgres",
            engine_version="16.4",
            instance_class="db.t4g.micro",
            allocated_storage=20,
            db_subnet_group_name=self.db_subnets.name,
            username="orders_admin",
            password=config.require_secret("dbPassword"),
            skip_final_snapshot=True,
            deletion_protection=False,
            tags=tags,
            opts=child,
        )
        self.cache = elasticache.ReplicationGroup(
            f"orders-cache-{suffix}",
            description=f"Order sessions ({suffix})",
            node_type="cache.t4g.micro",
            num_cache_clusters=2,
            engine="redis",
            automatic_failover_enabled=True,
            tags=tags,
            opts=child,
        )

        # --- Build artifacts and delivery ----------------------------------------------------
        self.artifacts = aws.s3.Bucket(
            f"orders-artifacts-{suffix}",
            force_destroy=True,
            tags=tags,
            opts=child,
        )
        self.artifacts_versioning = aws.s3.BucketVersioning(
            f"orders-artifacts-{suffix}-versioning",
            bucket=self.artifacts.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled",
            ),
            opts=ResourceOptions(parent=child.parent),
        )
        self.images = aws.ecr.Repository(
            f"orders-images-{suffix}",
            encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
            force_delete=True,
            tags=tags,
            opts=child,
        )
        self.pipeline_role = aws.iam.Role(
            f"orders-pipeline-role-{suffix}",
            assume_role_policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"},
                               "Action": "sts:AssumeRole"}],
            }),
            tags=tags,
            opts=child,
        )
        self.pipeline = aws.codepipeline.Pipeline(
            f"orders-pipeline-{suffix}",
            role_arn=self.pipeline_role.arn,
            artifact_stores=[aws.codepipeline.PipelineArtifactStoreArgs(location=self.artifacts.bucket, type="S3")],
            stages=[
                aws.codepipeline.PipelineStageArgs(
                    name="Source",
                    actions=[aws.codepipeline.PipelineStageActionArgs(
                        name="Source", category="Source", owner="AWS", provider="S3", version="1",
                        output_artifacts=["source"],
                        configuration={"S3Bucket": self.artifacts.bucket, "S3ObjectKey": "source.zip"},
                    )],
                ),
                aws.codepipeline.PipelineStageArgs(
                    name="Approve",
                    actions=[aws.codepipeline.PipelineStageActionArgs(
                        name="Approve", category="Approval", owner="AWS", provider="Manual", version="1",
                    )],
                ),
            ],
            tags=tags,
            opts=child,
        )

        # --- Public API ----------------------------------------------------------------------
        self.api = aws.apigateway.RestApi(f"orders-api-{suffix}", tags=tags, opts=child)
        self.health = aws.apigateway.Resource(
            f"orders-health-{suffix}", rest_api=self.api.id, parent_id=self.api.root_resource_id,
            path_part="health", opts=child,
        )
        self.health_get = aws.apigateway.Method(
            f"orders-health-get-{suffix}", rest_api=self.api.id, resource_id=self.health.id,
            http_method="GET", authorization="NONE", opts=child,
        )
        self.health_mock = aws.apigateway.Integration(
            f"orders-health-mock-{suffix}", rest_api=self.api.id, resource_id=self.health.id,
            http_method="GET", type="MOCK", opts=ResourceOptions(parent=self, depends_on=[self.health_get]),
        )
        self.deployment = aws.apigateway.Deployment(
            f"orders-deployment-{suffix}",
            rest_api=self.api.id,
            opts=ResourceOptions(parent=self, depends_on=[self.health_mock]),
        )
        self.deployment_stage = aws.apigateway.Stage(
            f"orders-deployment-{suffix}-stage",
            rest_api=self.api.id,
            deployment=self.deployment.id,
            stage_name=suffix,
            opts=ResourceOptions(parent=self),
        )
        self.api_url = Output.concat("https://", self.api.id, ".execute-api.", self.region,
                                     ".amazonaws.com/", suffix)

        self.register_outputs({
            "api_url": self.api_url,
            "queue_url": self.queue.url,
            "table_name": self.table.name,
            "database_endpoint": self.database.endpoint,
        })
