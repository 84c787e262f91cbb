"""iacfix: find and fix the failures that break `pulumi up` in Pulumi Python programs."""

__version__ = "0.1.0"
