"""Task execution role for the TapStack of the acme service (clean: nothing for iacfix to find)."""
import json
from typing import Optional

import pulumi
import pulumi_aws as aws
from pulumi import ResourceOptions

ASSUME_ECS_TASKS = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }],
})


class IamStack(pulumi.ComponentResource):
    """Roles the ECS tasks run with."""

    def __init__(self, name: str, environment_suffix: str, tags: dict,
                 opts: Optional[ResourceOptions] = None):
        super().__init__("tap:iam:IamStack", name, None, opts)
        self.execution_role = aws.iam.Role(
            f"acme-task-execution-{environment_suffix}",
            assume_role_policy=ASSUME_ECS_TASKS,
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        aws.iam.RolePolicyAttachment(
            f"acme-task-execution-policy-{environment_suffix}",
            role=self.execution_role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
            opts=ResourceOptions(parent=self),
        )
        self.register_outputs({"execution_role_arn": self.execution_role.arn})
