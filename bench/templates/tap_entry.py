"""Pulumi entry point of the acme service: creates the TapStack for this environment."""
import os

import pulumi
from pulumi import Config, ResourceOptions

from lib.tap_stack import TapStack, TapStackArgs

config = Config()
environment_suffix = config.get("env") or os.getenv("ENVIRONMENT_SUFFIX", "dev")

default_tags = {
    "Environment": environment_suffix,
    "Project": "acme",
    "Repository": os.getenv("REPOSITORY", "unknown"),
    "Author": os.getenv("COMMIT_AUTHOR", "unknown"),
}

stack = TapStack(
    name="acme-infra",
    args=TapStackArgs(environment_suffix=environment_suffix, tags=default_tags),
    opts=ResourceOptions(),
)

pulumi.export("vpc_id", stack.vpc_id)
pulumi.export("service_url", stack.service_url)
pulumi.export("environment_suffix", environment_suffix)
