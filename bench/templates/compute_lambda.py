"""Lambda functions of the acme API behind an HTTP API Gateway, with access logs."""
import json
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws
from pulumi import Input, ResourceOptions
from pulumi_aws import apigatewayv2 as apigw
from pulumi_aws import lambda_

LAMBDA_RUNTIME = "python3.12"


class ComputeStack(pulumi.ComponentResource):
    """One function per route, fronted by an HTTP API."""

    def __init__(self, name: str, environment_suffix: str, vpc_id: Input[str],
                 public_subnet_ids: Sequence[Input[str]], private_subnet_ids: Sequence[Input[str]],
                 tags: dict, opts: Optional[ResourceOptions] = None):
        super().__init__("tap:compute:ComputeStack", name, None, opts)
        config = pulumi.Config()
        memory_size = config.get_int("lambda_memory") or 256

        role = aws.iam.Role(
            f"acme-lambda-role-{environment_suffix}",
            assume_role_policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }],
            }),
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        for policy in ("AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole"):
            aws.iam.RolePolicyAttachment(
                f"acme-lambda-{policy.lower()}-{environment_suffix}",
                role=role.name,
                policy_arn=f"arn:aws:iam::aws:policy/service-role/{policy}",
                opts=ResourceOptions(parent=self),
            )
        lambda_sg = aws.ec2.SecurityGroup(
            f"acme-lambda-sg-{environment_suffix}",
            vpc_id=vpc_id,
            description="Lambda functions: egress only",
            egress=[aws.ec2.SecurityGroupEgressArgs(protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"])],
            tags=tags,
            opts=ResourceOptions(parent=self),
        )

        self.api = apigw.Api(
            f"acme-http-api-{environment_suffix}",
            name=f"acme-http-api-{environment_suffix}",
            protocol_type="HTTP",
            cors_configuration=apigw.ApiCorsConfigurationArgs(allow_methods=["GET", "POST"], allow_origins=["*"]),
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        access_logs = aws.cloudwatch.LogGroup(
            f"acme-api-access-logs-{environment_suffix}",
            name=f"/aws/apigateway/acme-{environment_suffix}",
            retention_in_days=14,
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        self.functions = {}
        for route, handler in {"GET /orders": "orders.list_orders", "POST /orders": "orders.create_order"}.items():
            slug = handler.split(".")[1].replace("_", "-")
            function = lambda_.Function(
                f"acme-{slug}-{environment_suffix}",
                name=f"acme-{slug}-{environment_suffix}",
                runtime=LAMBDA_RUNTIME,
                handler=handler,
                role=role.arn,
                code=pulumi.FileArchive("./lambda"),
                memory_size=memory_size,
                timeout=15,
                environment=lambda_.FunctionEnvironmentArgs(variables={
                    "ENVIRONMENT": environment_suffix,
                    "LOG_LEVEL": "INFO",
                }),
                vpc_config=lambda_.FunctionVpcConfigArgs(
                    subnet_ids=private_subnet_ids,
                    security_group_ids=[lambda_sg.id],
                ),
                tags=tags,
                opts=ResourceOptions(parent=self),
            )
            integration = apigw.Integration(
                f"acme-{slug}-integration-{environment_suffix}",
                api_id=self.api.id,
                integration_type="AWS_PROXY",
                integration_uri=function.invoke_arn,
                payload_format_version="2.0",
                opts=ResourceOptions(parent=self),
            )
            apigw.Route(
                f"acme-{slug}-route-{environment_suffix}",
                api_id=self.api.id,
                route_key=route,
                target=integration.id.apply(lambda integration_id: f"integrations/{integration_id}"),
                opts=ResourceOptions(parent=self),
            )
            lambda_.Permission(
                f"acme-{slug}-permission-{environment_suffix}",
                action="lambda:InvokeFunction",
                function=function.name,
                principal="apigateway.amazonaws.com",
                source_arn=self.api.execution_arn.apply(lambda arn: f"{arn}/*/*"),
                opts=ResourceOptions(parent=self),
            )
            self.functions[route] = function

        self.stage = apigw.Stage(
            f"acme-stage-{environment_suffix}",
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            access_log_settings=apigw.StageAccessLogSettingsArgs(
                destination_arn=access_logs.arn,
                format=json.dumps({"requestId": "$context.requestId", "status": "$context.status",
                                   "routeKey": "$context.routeKey"}),
            ),
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        self.cluster_name = self.api.name
        self.service_name = self.stage.name
        self.endpoint = self.api.api_endpoint.apply(lambda url: url.removeprefix("https://"))
        self.register_outputs({"api_endpoint": self.api.api_endpoint})
