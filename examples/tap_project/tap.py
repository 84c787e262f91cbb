"""Pulumi entry point: creates the TapStack for this environment."""
import os

import pulumi
from pulumi import Config, ResourceOptions

from lib.tap_stack import TapStack, TapStackArgs

config = Config()
environment_suffix = config.get("env") or os.getenv("ENVIRONMENT_SUFFIX", "dev")

default_tags = {
    "Environment": environment_suffix,
    "Repository": os.getenv("REPOSITORY", "unknown"),
    "Author": os.getenv("COMMIT_AUTHOR", "unknown"),
}

stack = TapStack(
    name="pulumi-infra",
    args=TapStackArgs(environment_suffix=environment_suffix, tags=default_tags),
)

pulumi.export("alb_dns_name", stack.alb_dns_name)
pulumi.export("logs_bucket", stack.logs_bucket.bucket)
