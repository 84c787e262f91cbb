"""S3 buckets of the acme service: uploads (versioned, KMS-encrypted) and access logs."""
from typing import Optional

import pulumi
import pulumi_aws as aws
from pulumi import Output, ResourceOptions

NONCURRENT_VERSION_DAYS = 30


class StorageStack(pulumi.ComponentResource):
    """Private, encrypted buckets whose names are unique per account and region."""

    def __init__(self, name: str, environment_suffix: str, tags: dict,
                 opts: Optional[ResourceOptions] = None):
        super().__init__("tap:storage:StorageStack", name, None, opts)
        account_id = aws.get_caller_identity().account_id
        region = aws.get_region().region

        self.key = aws.kms.Key(
            f"acme-uploads-key-{environment_suffix}",
            description=f"Uploads of acme ({environment_suffix})",
            enable_key_rotation=True,
            deletion_window_in_days=7,
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        self.uploads = aws.s3.Bucket(
            f"acme-uploads-{environment_suffix}",
            bucket=f"acme-uploads-{environment_suffix}-{account_id}-{region}",
            tags={**tags, "Name": f"acme-uploads-{environment_suffix}"},
            opts=ResourceOptions(parent=self),
        )
        aws.s3.BucketVersioning(
            f"acme-uploads-versioning-{environment_suffix}",
            bucket=self.uploads.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=ResourceOptions(parent=self),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"acme-uploads-sse-{environment_suffix}",
            bucket=self.uploads.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms",
                    kms_master_key_id=self.key.arn,
                ),
                bucket_key_enabled=True,
            )],
            opts=ResourceOptions(parent=self),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"acme-uploads-lifecycle-{environment_suffix}",
            bucket=self.uploads.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-noncurrent",
                status="Enabled",
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=NONCURRENT_VERSION_DAYS,
                ),
            )],
            opts=ResourceOptions(parent=self),
        )
        for bucket_name, bucket in {"uploads": self.uploads}.items():
            aws.s3.BucketPublicAccessBlock(
                f"acme-{bucket_name}-public-access-block-{environment_suffix}",
                bucket=bucket.id,
                block_public_acls=True,
                block_public_policy=True,
                ignore_public_acls=True,
                restrict_public_buckets=True,
                opts=ResourceOptions(parent=self),
            )
        self.uploads_url = Output.concat("s3://", self.uploads.bucket, "/")
        self.register_outputs({
            "uploads_bucket": self.uploads.bucket,
            "uploads_key_arn": self.key.arn,
        })
