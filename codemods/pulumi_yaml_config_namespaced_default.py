"""Rule pulumi-yaml-config-namespaced-default: `default:` on another namespace's key in Pulumi.yaml."""

from __future__ import annotations

from ruamel.yaml.comments import CommentedMap

from iacfix.project import ProjectRule, key_position, rename_key
from iacfix.results import Safety


class PulumiYamlConfigNamespacedDefault(ProjectRule):
    """A `config:` entry in Pulumi.yaml gives `default:` to a key of another namespace.

    Pulumi.yaml's `config:` block declares the project's own configuration; a key of another
    namespace, such as the provider's `aws:region`, can only be given a `value:` there, which every
    stack inherits. Generated projects often write `default:` for it, copied from the project's own
    keys.

    ## Why is this bad?
    Pulumi refuses the project file before the program runs: `pulumi preview` fails with
    "Configuration key 'aws:region' is not namespaced by the project and should not define a
    default value. Did you mean to use the 'value' attribute instead of 'default'?". No stack of
    the project can be previewed or deployed until it is changed.

    ## Fix
    Rename `default:` to `value:` under that key, keeping its value, the key order and every
    comment. Keys of the project's own namespace (`environmentSuffix`, `TapStack:dbName`) keep
    `default:`, which is what Pulumi expects there.

    ## Fix safety
    Safe. The value is the one the author wrote and the one Pulumi would have used had it accepted
    the file; stack files that set the key still override it. Nothing in a deployed stack changes.

    ## References
    - https://www.pulumi.com/docs/iac/concepts/projects/project-file/#config-options
    - https://www.pulumi.com/docs/iac/concepts/config/#project-level-configuration
    """

    id = "pulumi-yaml-config-namespaced-default"
    title = "Give another namespace's config key a `value:`, not a `default:`, in Pulumi.yaml"
    safety = Safety.SAFE

    def check(self) -> None:
        path = self.project.project_file
        document = self.project.mapping(path)
        if document is None or not isinstance(document.get("config"), CommentedMap):
            return
        name = document.get("name")
        changed = False
        for key, declaration in document["config"].items():
            namespace = str(key).split(":", 1)[0] if ":" in str(key) else None
            if namespace is None or namespace == name:
                continue
            if not isinstance(declaration, CommentedMap) or "default" not in declaration:
                continue
            if "value" in declaration:
                line, column = key_position(declaration, "default")
                self.report(
                    path, line, column,
                    f"`{key}` has both `default:` and `value:`; Pulumi rejects `default:` on a key "
                    f"outside the project's namespace: delete it and keep the `value:` you mean.",
                    safety=Safety.DISPLAY_ONLY,
                )
                continue
            line, column = key_position(declaration, "default")
            if self.report(
                path, line, column,
                f"`{key}` belongs to the `{namespace}` namespace, so Pulumi.yaml may only give it a "
                "`value:`; `default:` makes Pulumi reject the project file. The fix renames it.",
            ):
                rename_key(declaration, "default", "value")
                changed = True
        if changed:
            self.project.save_yaml(path, document)
