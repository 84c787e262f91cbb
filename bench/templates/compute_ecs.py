"""ECS Fargate service of the acme API behind an internet-facing ALB with a WAF web ACL."""
import json
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws
from pulumi import Input, Output, ResourceOptions

CONTAINER_PORT = 8080


class ComputeStack(pulumi.ComponentResource):
    """Cluster, task definition, service, load balancer and its listeners."""

    def __init__(self, name: str, environment_suffix: str, vpc_id: Input[str],
                 public_subnet_ids: Sequence[Input[str]], private_subnet_ids: Sequence[Input[str]],
                 tags: dict, opts: Optional[ResourceOptions] = None):
        super().__init__("tap:compute:ComputeStack", name, None, opts)
        config = pulumi.Config()
        image_tag = config.get("image_tag") or "stable"
        desired_count = config.get_int("desired_count") or 2

        self.cluster = aws.ecs.Cluster(
            f"acme-cluster-{environment_suffix}",
            name=f"acme-cluster-{environment_suffix}",
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        repository = aws.ecr.Repository(
            f"acme-repo-{environment_suffix}",
            name=f"acme-repo-{environment_suffix}",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        log_group = aws.cloudwatch.LogGroup(
            f"acme-api-logs-{environment_suffix}",
            name=f"/ecs/acme-api-{environment_suffix}",
            retention_in_days=30,
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        execution_role = aws.iam.Role(
            f"acme-task-execution-{environment_suffix}",
            assume_role_policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }],
            }),
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        aws.iam.RolePolicyAttachment(
            f"acme-task-execution-policy-{environment_suffix}",
            role=execution_role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
            opts=ResourceOptions(parent=self),
        )
        region = aws.get_region()

        self.task_definition = aws.ecs.TaskDefinition(
            f"acme-api-task-{environment_suffix}",
            family=f"acme-api-{environment_suffix}",
            cpu="512",
            memory="1024",
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            execution_role_arn=execution_role.arn,
            container_definitions=Output.all(repository.repository_url, log_group.name).apply(
                lambda args: json.dumps([{
                    "name": "acme-api",
                    "image": f"{args[0]}:{image_tag}",
                    "essential": True,
                    "portMappings": [{"containerPort": CONTAINER_PORT, "protocol": "tcp"}],
                    "environment": [{"name": "ENVIRONMENT", "value": environment_suffix}],
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": args[1],
                            "awslogs-region": region.region,
                            "awslogs-stream-prefix": "acme-api",
                        },
                    },
                }])
            ),
            tags=tags,
            opts=ResourceOptions(parent=self),
        )

        alb_sg = aws.ec2.SecurityGroup(
            f"acme-lb-sg-{environment_suffix}",
            vpc_id=vpc_id,
            description="HTTP and HTTPS from the internet",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=80, to_port=80, cidr_blocks=["0.0.0.0/0"]),
                aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=443, to_port=443,
                                                 cidr_blocks=["0.0.0.0/0"]),
            ],
            egress=[aws.ec2.SecurityGroupEgressArgs(protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"])],
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        self.load_balancer = aws.lb.LoadBalancer(
            f"acme-alb-{environment_suffix}",
            name=f"acme-alb-{environment_suffix}"[:32],
            load_balancer_type="application",
            internal=False,
            security_groups=[alb_sg.id],
            subnets=public_subnet_ids,
            drop_invalid_header_fields=True,
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        web_acl = aws.wafv2.WebAcl(
            f"acme-waf-{environment_suffix}",
            scope="REGIONAL",
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            rules=[aws.wafv2.WebAclRuleArgs(
                name="aws-common",
                priority=1,
                override_action=aws.wafv2.WebAclRuleOverrideActionArgs(none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                        name="AWSManagedRulesCommonRuleSet",
                        vendor_name="AWS",
                    ),
                ),
                visibility_config=aws.wafv2.WebAclRuleVisibilityConfigArgs(
                    cloudwatch_metrics_enabled=True,
                    metric_name=f"acme-common-{environment_suffix}",
                    sampled_requests_enabled=True,
                ),
            )],
            visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True,
                metric_name=f"acme-waf-{environment_suffix}",
                sampled_requests_enabled=True,
            ),
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        aws.wafv2.WebAclAssociation(
            f"acme-waf-association-{environment_suffix}",
            resource_arn=self.load_balancer.arn,
            web_acl_arn=web_acl.arn,
            opts=ResourceOptions(parent=self),
        )
        target_group = aws.lb.TargetGroup(
            f"acme-tg-{environment_suffix}",
            port=CONTAINER_PORT,
            protocol="HTTP",
            target_type="ip",
            vpc_id=vpc_id,
            health_check=aws.lb.TargetGroupHealthCheckArgs(path="/health", matcher="200"),
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        aws.lb.Listener(
            f"acme-https-{environment_suffix}",
            load_balancer_arn=self.load_balancer.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
            certificate_arn=config.require("certificate_arn"),
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)],
            opts=ResourceOptions(parent=self),
        )
        aws.lb.Listener(
            f"acme-http-{environment_suffix}",
            load_balancer_arn=self.load_balancer.arn,
            port=80,
            protocol="HTTP",
            default_actions=[aws.lb.ListenerDefaultActionArgs(
                type="redirect",
                redirect=aws.lb.ListenerDefaultActionRedirectArgs(port="443", protocol="HTTPS",
                                                                  status_code="HTTP_301"),
            )],
            opts=ResourceOptions(parent=self),
        )
        self.service = aws.ecs.Service(
            f"acme-api-service-{environment_suffix}",
            name=f"acme-api-{environment_suffix}",
            cluster=self.cluster.arn,
            task_definition=self.task_definition.arn,
            desired_count=desired_count,
            launch_type="FARGATE",
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=private_subnet_ids,
                assign_public_ip=False,
            ),
            load_balancers=[aws.ecs.ServiceLoadBalancerArgs(
                target_group_arn=target_group.arn,
                container_name="acme-api",
                container_port=CONTAINER_PORT,
            )],
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        self.cluster_name = self.cluster.name
        self.service_name = self.service.name
        self.endpoint = self.load_balancer.dns_name
        self.register_outputs({"alb_dns_name": self.endpoint, "repository_url": repository.repository_url})
