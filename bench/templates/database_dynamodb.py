"""DynamoDB tables of the acme service: orders with a stream, and idempotency keys with a TTL."""
from typing import Optional, Sequence

import pulumi
import pulumi_aws.dynamodb as ddb
from pulumi import Input, ResourceOptions


class DatabaseStack(pulumi.ComponentResource):
    """Pay-per-request tables with point-in-time recovery."""

    def __init__(self, name: str, environment_suffix: str, vpc_id: Input[str],
                 subnet_ids: Sequence[Input[str]], tags: dict,
                 opts: Optional[ResourceOptions] = None):
        super().__init__("tap:database:DatabaseStack", name, None, opts)
        self.orders = ddb.Table(
            f"acme-orders-{environment_suffix}",
            name=f"acme-orders-{environment_suffix}",
            billing_mode="PAY_PER_REQUEST",
            hash_key="pk",
            range_key="sk",
            attributes=[
                ddb.TableAttributeArgs(name="pk", type="S"),
                ddb.TableAttributeArgs(name="sk", type="S"),
                ddb.TableAttributeArgs(name="gsi1pk", type="S"),
            ],
            global_secondary_indexes=[ddb.TableGlobalSecondaryIndexArgs(
                name="gsi1",
                hash_key="gsi1pk",
                range_key="sk",
                projection_type="ALL",
            )],
            stream_enabled=True,
            stream_view_type="NEW_AND_OLD_IMAGES",
            point_in_time_recovery=ddb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=ddb.TableServerSideEncryptionArgs(enabled=True),
            tags={**tags, "Name": f"acme-orders-{environment_suffix}"},
            opts=ResourceOptions(parent=self),
        )
        self.idempotency = ddb.Table(
            f"acme-idempotency-{environment_suffix}",
            name=f"acme-idempotency-{environment_suffix}",
            billing_mode="PAY_PER_REQUEST",
            hash_key="id",
            attributes=[ddb.TableAttributeArgs(name="id", type="S")],
            ttl=ddb.TableTtlArgs(attribute_name="expires_at", enabled=True),
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        self.connection = self.orders.name
        self.register_outputs({
            "orders_table": self.orders.name,
            "orders_stream_arn": self.orders.stream_arn,
            "idempotency_table": self.idempotency.name,
        })
