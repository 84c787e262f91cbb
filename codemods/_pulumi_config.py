"""What Pulumi config namespaces and `pulumi.Config(...)` calls look like (shared by the config
rules `pulumi-yaml-project-name-mismatch` and `config-require-without-default`).

Private helper module (no rule class, so the registry ignores it). A config key is `ns:key`; a
`pulumi.Config()` bag reads the project's namespace (the `name:` of Pulumi.yaml), a
`pulumi.Config("ns")` bag reads `ns`. Provider packages own their namespaces (`aws:region`,
`random:...`), which are never the project's and never a mismatch.
"""

from __future__ import annotations

import re

import libcst as cst

#: Qualified names of the config bag class, however it is imported.
CONFIG_CLASSES = frozenset({"pulumi.Config", "pulumi.config.Config"})

#: Namespaces that belong to Pulumi itself or to a provider package, never to a project. The
#: provider name is the namespace of its config keys (`aws:region`, `kubernetes:context`).
PROVIDER_NAMESPACES = frozenset(
    {
        "pulumi", "aws", "aws-native", "awsx", "eks", "azure", "azure-native", "azuread", "gcp",
        "google-native", "kubernetes", "helm", "random", "tls", "docker", "docker-build",
        "command", "archive", "http", "null", "time", "local", "external", "github", "gitlab",
        "cloudflare", "datadog", "digitalocean", "vault", "postgresql", "mysql", "mongodbatlas",
        "snowflake", "newrelic", "okta", "auth0", "linode", "hcloud", "openstack", "vsphere",
        "alicloud", "oci", "kafka", "rabbitmq", "confluentcloud", "fastly", "ns1", "pagerduty",
        "opsgenie", "splunk", "sumologic", "consul", "nomad", "akamai", "equinix", "rancher2",
        "spotinst", "tailscale", "pulumiservice", "std", "esc", "policy", "kubernetes-cert-manager",
        "aws-apigateway", "aws-static-website", "synced-folder",
    }
)

#: Pulumi's rule for a project name: letters, digits, `-`, `_`, `.`, at most 100 characters.
PROJECT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def is_provider_namespace(namespace: str) -> bool:
    return namespace.lower() in PROVIDER_NAMESPACES


def namespace_of_key(key: object) -> str | None:
    """`ns` of a config key `ns:key` (None for a key without a namespace)."""
    text = str(key)
    return text.split(":", 1)[0] if ":" in text else None


def config_name_argument(call: cst.Call) -> tuple[bool, cst.SimpleString | None]:
    """What a `Config(...)` call names: `(True, None)` for no name (the project's namespace),
    `(True, literal)` for one plain string literal (positional or `name=`), `(False, None)` when
    the name is computed (a variable, an f-string, `get_project()`) and cannot be known."""
    args = list(call.args)
    if not args:
        return True, None
    if len(args) != 1 or args[0].star:
        return False, None
    arg = args[0]
    if arg.keyword is not None and arg.keyword.value != "name":
        return False, None
    if isinstance(arg.value, cst.SimpleString) and isinstance(arg.value.evaluated_value, str):
        return True, arg.value
    return False, None


def literal_namespace(literal: cst.SimpleString | None, project: str | None) -> str | None:
    """The namespace a `Config(literal)` reads: the literal, or the project's for none/empty."""
    if literal is None:
        return project
    value = literal.evaluated_value
    return value if isinstance(value, str) and value else project


def with_value(literal: cst.SimpleString, value: str) -> cst.SimpleString:
    """`literal` holding `value` (a project name: no character needs escaping), same quotes and
    prefix."""
    return literal.with_changes(value=f"{literal.prefix}{literal.quote}{value}{literal.quote}")
