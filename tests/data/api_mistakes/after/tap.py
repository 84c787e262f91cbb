"""Pulumi entry point: creates the TapStack for this environment."""
import os

import pulumi
from pulumi import Config, ResourceOptions

from lib.tap_stack import TapStack, TapStackArgs

config = Config()
environment_suffix = config.get("environmentSuffix") or os.getenv("ENVIRONMENT_SUFFIX", "dev")

stack = TapStack(
    name="pulumi-infra",
    args=TapStackArgs(environment_suffix=environment_suffix, tags={"Project": "orders"}),
    opts=ResourceOptions(),
)

pulumi.export("api_url", stack.api_url)
pulumi.export("queue_url", stack.queue.url)
pulumi.export("region", stack.region)
