"""Rule placeholder-container-image: sample images (nginx) deployed as the application."""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node, parse_template_expression
from libcst.metadata import (
    Assignment,
    ClassScope,
    FunctionScope,
    ParentNodeProvider,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)

from iacfix.codemods._fstrings import imported_modules
from iacfix.pulumi_names import ensure_module_alias, module_alias
from iacfix.results import Safety
from iacfix.rule import Rule

#: Keyword arguments that name the image of a container, by the qualified name of the class
#: taking them (checked against pulumi_aws 7.51: `inspect.signature(...)`; pulumi_awsx is not a
#: dependency, its name is from the awsx registry docs). `True`: an ECS container, whose tag is
#: also checked.
_IMAGE_ARGUMENTS: dict[str, tuple[str, bool]] = {
    "pulumi_aws.ecs.DaemonTaskDefinitionContainerDefinitionArgs": ("image", True),
    "pulumi_aws.ecs.ExpressGatewayServicePrimaryContainerArgs": ("image", True),
    "pulumi_awsx.ecs.TaskDefinitionContainerDefinitionArgs": ("image", True),
    "pulumi_aws.lambda_.Function": ("image_uri", False),
    "pulumi_aws.apprunner.ServiceSourceConfigurationImageRepositoryArgs": (
        "image_identifier", False),
}
#: Keys of an ECS container definition (JSON) or of the `...ArgsDict` forms; a dict with `image`
#: and one of these is a container.
_CONTAINER_KEYS = frozenset({
    "name", "essential", "portMappings", "memory", "memoryReservation", "cpu",
    "logConfiguration", "environment", "command", "entryPoint", "healthCheck", "secrets",
    "mountPoints", "dependsOn", "container_port", "port_mappings", "log_configuration",
})
_TASK_DEFINITIONS = frozenset({
    "pulumi_aws.ecs.TaskDefinition", "pulumi_aws.ecs.DaemonTaskDefinition",
    "pulumi_awsx.ecs.FargateTaskDefinition", "pulumi_awsx.ecs.EC2TaskDefinition",
    "pulumi_awsx.ecs.FargateService", "pulumi_awsx.ecs.EC2Service",
})
_CONFIG_CLASSES = frozenset({"pulumi.Config", "pulumi.config.Config"})
#: Sample images that only prove a container starts, after registry prefixes are removed.
_SAMPLES = frozenset({
    "nginx", "nginx/nginx", "httpd", "hello-world", "amazon/amazon-ecs-sample",
    "ecs-sample-image/amazon-ecs-sample", "nginxdemos/hello", "traefik/whoami",
    "aws-containers/hello-app-runner",
})
_REGISTRY_PREFIXES = ("docker.io/", "index.docker.io/", "registry-1.docker.io/",
                      "public.ecr.aws/", "docker/library/", "library/")
#: Spelled-out stand-ins: `<your-image>`, `your-image:latest`, `IMAGE_URI`, `placeholder`.
_STAND_IN = re.compile(
    r"<[^<>]*>|\b(?:your|my)[-_ ]?(?:app[-_ ]?|container[-_ ]?|docker[-_ ]?)?image"
    r"|\bimage[-_ ]?(?:uri|url|name)\b|placeholder|replace[-_ ]?me|change[-_ ]?me",
    re.IGNORECASE,
)
_FIELD = "\x00"  # an f-string replacement field, when reading an f-string's text
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_CONFIG_READS = frozenset({"get", "require", "get_secret", "require_secret", "get_int",
                           "require_int", "get_bool", "require_bool", "get_object",
                           "require_object", "get_float", "require_float"})


@dataclass
class _Site:
    """One image value: where it is reported and what replaces it."""

    report_node: cst.CSTNode
    literal: cst.BaseExpression | None  # the string literal to replace (None: an f-string)
    image: str  # the text, with _FIELD for f-string fields
    what: str  # `container "api"`, `lambda_.Function "processor"`
    ecs: bool
    name_hint: str | None  # from the container / function name
    variable_hint: str | None  # from the variable the literal was assigned to
    placeholder: bool
    floating: bool
    key: str = ""


class PlaceholderContainerImage(Rule):
    """A sample or placeholder container image (`nginx:latest`) deployed as the application.

    Generated programs fill the image of an ECS container definition, a Lambda `image_uri` or an
    App Runner `image_identifier` with something that starts: `nginx:latest`,
    `public.ecr.aws/docker/library/nginx:latest`, `amazon/amazon-ecs-sample`, or a stand-in such
    as `<your-image>` / `IMAGE_URI`. From seed 000 §1 (`"image":
    "public.ecr.aws/docker/library/nginx:latest"` in the ML API task definition) and seed 002 §5
    (`image="nginx:latest"  # Placeholder`), whose fix read the image from stack config:
    `config.get("containerImage") or ...`; seed 003 §5 deployed with
    `pulumi config set containerImage ...` once the image was real.

    ## Why is this bad?
    The stack deploys and the health checks may even pass, but the service runs a web server
    sample instead of the application, and nothing in the program says how to deploy the real
    image: each release means editing the code. A stand-in (`<your-image>`) is worse: ECS fails
    with `CannotPullContainerError` and the service never reaches steady state. A floating tag
    (`:latest`, or no tag) on any image makes every task start whatever was pushed last, so
    two tasks of one revision can run different code, and Pulumi never sees a change to roll out.

    ## Fix
    The literal becomes a stack config value with the literal as its default:
    `"image": config.get("containerImage") or "nginx:latest"`. An existing `pulumi.Config()`
    object visible at that point (`config = pulumi.Config()` earlier in the function or module)
    is reused; otherwise the fix writes `pulumi.Config().get(...)` inline. The key is camelCase,
    as Pulumi config keys are: `containerImage` for the one ECS container of a module,
    `<containerName>Image` (`apiImage`) when the module has several, the variable's own name
    when the literal was assigned to one (`worker_image = "nginx"` -> `workerImage`), and
    `<functionName>ImageUri` / `<serviceName>Image` for Lambda and App Runner; a key the module
    already reads is never reused. Deploy the real image with
    `pulumi config set containerImage <registry>/<repo>:<version>`.

    A floating tag on an ECS image that is not a placeholder (`my-registry/api:latest`,
    `public.ecr.aws/cloudwatch-agent/cloudwatch-agent:latest`, no tag at all) is reported
    without a fix: pin a version tag or a digest; which one is a human's call. A placeholder with
    a floating tag gets one finding saying both.

    Left alone: pinned images (`repo:1.4.2`, `@sha256:...`, also for `nginx:1.27`: a pinned
    sample is deliberate), images the program builds or reads (`repo.repository_url`,
    `docker.Image(...).image_name`, Output values, f-strings with other fields than the account
    and region, `config.get(...)`), container definitions written as JSON text, and modules that
    do not import Pulumi.

    ## Fix safety
    Unsafe. Without the config key the default is the old literal, so `pulumi up` shows no
    change; but from now on the image comes from stack config, and a stack that already sets
    the key (a CI pipeline or an earlier workaround did `pulumi config set containerImage ...`)
    runs that image at the next `pulumi up`: the task definition gets a new revision and the
    service replaces its tasks. Check `pulumi config` of every stack before applying.

    ## References
    - https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_image
    - https://www.pulumi.com/docs/iac/concepts/config/
    - https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html
    - https://docs.aws.amazon.com/lambda/latest/dg/images-create.html
    """

    id = "placeholder-container-image"
    title = "Read placeholder container images from stack config"
    safety = Safety.UNSAFE
    evidence = (b"image",)

    METADATA_DEPENDENCIES = (QualifiedNameProvider, ParentNodeProvider, ScopeProvider)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._replace: dict[int, cst.BaseExpression] = {}

    # -- find every image, name the config keys, report -----------------------------------------

    def visit_Module(self, node: cst.Module) -> bool:
        pulumi_module = any(
            (get_full_name_for_node(name) or "").split(".")[0].startswith("pulumi")
            for imp in m.findall(node, m.Import() | m.ImportFrom())
            for name in imported_modules(imp)
        )
        if not pulumi_module:
            return False
        sites = [site for found in m.findall(node, m.DictElement() | m.Arg())
                 if (site := self._site(found)) is not None]
        seen: set[int] = set()
        unique_sites = []
        for site in sites:  # one literal may be the image of several containers
            if site.literal is None or id(site.literal) not in seen:
                unique_sites.append(site)
                seen.add(id(site.literal))
        taken = self._keys_read(node)
        several = len([s for s in unique_sites if s.placeholder and s.ecs
                       and s.literal is not None]) > 1
        for site in unique_sites:
            if site.placeholder and site.literal is not None:
                if site.variable_hint:
                    base = site.variable_hint
                elif site.ecs:
                    base = (site.name_hint if several else None) or "containerImage"
                else:
                    base = site.name_hint or ""
                site.key = _unique(base, taken)
                taken.add(site.key)
            self._report(site)
        return bool(self._replace)

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.BaseExpression:
        return self._replace.get(id(original_node), updated_node)

    def leave_ConcatenatedString(
        self, original_node: cst.ConcatenatedString, updated_node: cst.ConcatenatedString
    ) -> cst.BaseExpression:
        return self._replace.get(id(original_node), updated_node)

    def _report(self, site: _Site) -> None:
        shown = site.image.replace(_FIELD, "{...}")
        tag = ("the floating tag :latest" if shown.endswith(":latest")
               else "no tag (so :latest)")
        if not (site.placeholder and site.literal is not None):
            self.report(
                site.report_node,
                f'{site.what} runs image "{shown}" with {tag}, so every task starts whatever was '
                "pushed last and Pulumi never sees a new version to roll out; pin a version tag "
                "or a digest.",
                safety=Safety.DISPLAY_ONLY,
            )
            return
        also = f", with {tag}," if site.floating else ""
        if not self.report(
            site.report_node,
            f'{site.what} runs the placeholder image "{shown}"{also} instead of the '
            f'application; the fix reads it from stack config "{site.key}" with the placeholder '
            f"as default, so deploy the real image with `pulumi config set {site.key} "
            "<registry>/<repo>:<version>`"
            + (" (pin a version tag or digest)." if site.floating else "."),
        ):
            return
        config = self._config_object(site.literal)
        quote = _quote(site.literal)
        self._replace[id(site.literal)] = parse_template_expression(
            "{bag}.get({key}) or {default}",
            bag=config,
            key=cst.SimpleString(f"{quote}{site.key}{quote}"),
            default=site.literal,
        )

    # -- what is an image site --------------------------------------------------------------

    def _site(self, node: cst.CSTNode) -> _Site | None:
        if isinstance(node, cst.DictElement):
            key = _string(node.key)
            if key == "image" and self._is_container(node):
                name = self._container_name(node)
                what = f'container "{name}"' if name else "container"
                return self._classify(node.value, what, ecs=True, hint=_camel(name, "Image"))
            if key == "image_identifier":
                return self._classify(node.value, "App Runner image repository", ecs=False,
                                      hint="appRunnerImage")
            return None
        assert isinstance(node, cst.Arg)
        call = self._parent(node)
        if node.keyword is None or not isinstance(call, cst.Call):
            return None
        for qualified in self._qualified(call.func):
            argument, ecs = _IMAGE_ARGUMENTS.get(qualified, (None, False))
            if argument != node.keyword.value:
                continue
            logical = _logical_name(call)
            short = qualified.split(".", 1)[1] if "." in qualified else qualified
            if argument == "image_uri":
                return self._classify(node.value, f'{short} "{logical}"' if logical else short,
                                      ecs=False,
                                      hint=_camel(logical, "ImageUri") or "lambdaImageUri")
            if argument == "image_identifier":
                return self._classify(node.value, "App Runner image repository", ecs=False,
                                      hint="appRunnerImage")
            name = _string(_keyword_value(call, "name"))
            what = f'container "{name}"' if name else "container"
            return self._classify(node.value, what, ecs=ecs, hint=_camel(name, "Image"))
        return None

    def _classify(self, value: cst.BaseExpression, what: str, *, ecs: bool,
                  hint: str | None) -> _Site | None:
        report_node = value
        variable_hint = None
        if isinstance(value, cst.Name):  # `image=worker_image`, assigned a literal once
            assigned = self._assigned_value(value)
            if assigned is None or not isinstance(
                assigned, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)
            ):
                return None
            if "image" in _words(value.value) or "uri" in _words(value.value):
                variable_hint = _camel(value.value, "")
            value = assigned
        if isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
            text = value.evaluated_value
            if not isinstance(text, str):
                return None
            literal: cst.BaseExpression | None = value
        elif isinstance(value, cst.FormattedString):
            if not all(isinstance(p, cst.FormattedStringText) or self._is_place(p.expression)
                       for p in value.parts):
                return None  # built from values the program computes: its own business
            text = "".join(p.value if isinstance(p, cst.FormattedStringText) else _FIELD
                           for p in value.parts)
            literal = None
        else:
            return None
        placeholder, floating = _judge(text)
        if literal is None:
            placeholder = False
        if not placeholder and not (floating and ecs):
            return None
        return _Site(report_node, literal, text, what, ecs, hint, variable_hint, placeholder,
                     floating)

    def _is_container(self, element: cst.DictElement) -> bool:
        container = self._parent(element)
        if not isinstance(container, cst.Dict):
            return False
        keys = {_string(e.key) for e in container.elements if isinstance(e, cst.DictElement)}
        if keys & _CONTAINER_KEYS:
            return True
        # Otherwise only inside the container argument of a task definition (not its `tags=`).
        node: cst.CSTNode | None = container
        while node is not None:
            if isinstance(node, cst.Arg) and node.keyword is not None and node.keyword.value in (
                "container_definitions", "container", "containers"
            ):
                call = self._parent(node)
                return isinstance(call, cst.Call) and bool(
                    self._qualified(call.func) & _TASK_DEFINITIONS)
            node = self._parent(node)
        return False

    def _container_name(self, element: cst.DictElement) -> str | None:
        container = self._parent(element)
        if isinstance(container, cst.Dict):
            for other in container.elements:
                if isinstance(other, cst.DictElement) and _string(other.key) == "name":
                    return _string(other.value)
        return None

    def _is_place(self, expression: cst.BaseExpression) -> bool:
        """A reference to the account id or the region (`aws.get_caller_identity().account_id`,
        `region`), which only says which registry; anything else is the program's own value."""
        words: list[str] = []
        node = expression
        while True:
            if isinstance(node, cst.Name):
                words += _words(node.value)
                break
            if isinstance(node, cst.Attribute):
                words += _words(node.attr.value)
                node = node.value
            elif isinstance(node, cst.Call) and not node.args:
                node = node.func
            else:
                return False
        return "account" in words or "region" in words or "identity" in words

    # -- config ---------------------------------------------------------------------------------

    def _config_object(self, site: cst.CSTNode) -> cst.BaseExpression:
        """A visible `x = pulumi.Config()` bound before `site`, else `pulumi.Config()`."""
        scope = self.get_metadata(ScopeProvider, site, None)
        line = self.position(site).start.line
        own, deferred = scope, False  # deferred: `site` runs after its enclosing `def` is read
        while scope is not None:
            if not isinstance(scope, ClassScope) or scope is own:
                for assignment in scope.assignments:
                    name = self._config_binding(assignment, scope)
                    if name is not None and (deferred or self._line(assignment) < line):
                        return cst.Name(name)
            if isinstance(scope, FunctionScope) and isinstance(scope.node, cst.FunctionDef):
                deferred = True
            if scope.parent is scope:
                break
            scope = scope.parent
        pulumi = module_alias(self.module, "pulumi")
        if pulumi is None and self._from_pulumi_import():
            # `from pulumi import Output, ResourceOptions`: add Config to what it imports.
            AddImportsVisitor.add_needed_import(self.context, "pulumi", "Config")
            return cst.parse_expression("Config()")
        if pulumi is None:
            pulumi = ensure_module_alias(self.context, self.module, "pulumi", "pulumi")
        return cst.parse_expression(f"{pulumi}.Config()")

    def _from_pulumi_import(self) -> bool:
        """Whether the module has `from pulumi import ...` and `Config` is free to import."""
        names = {n.value for n in m.findall(self.module, m.Name())}
        if "Config" in names:
            return False
        return any(
            isinstance(s, cst.SimpleStatementLine) and any(
                isinstance(small, cst.ImportFrom) and not small.relative
                and get_full_name_for_node(small.module) == "pulumi"
                for small in s.body)
            for s in self.module.body
        )

    def _config_binding(self, assignment: object, scope: Scope) -> str | None:
        """The name `assignment` binds when it is the only `name = pulumi.Config()` for it."""
        if not isinstance(assignment, Assignment) or not isinstance(assignment.node, cst.Name):
            return None
        statement = self._statement(assignment)
        if statement is None:
            return None
        value = statement.value
        if not (isinstance(value, cst.Call) and not value.args
                and self._qualified(value.func) & _CONFIG_CLASSES):
            return None
        if len(scope.assignments[assignment.name]) != 1:
            return None  # rebound somewhere: not obviously the config bag at `site`
        return assignment.name

    def _statement(self, assignment: Assignment) -> cst.Assign | None:
        target = self._parent(assignment.node)
        statement = self._parent(target) if isinstance(target, cst.AssignTarget) else None
        if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
            return statement
        return None

    def _line(self, assignment: Assignment) -> int:
        return self.position(assignment.node).start.line

    def _keys_read(self, module: cst.Module) -> set[str]:
        keys: set[str] = set()
        for call in m.findall(module, m.Call(func=m.Attribute())):
            assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
            if call.func.attr.value in _CONFIG_READS and call.args:
                key = _string(call.args[0].value)
                if key:
                    keys.add(key)
        return keys

    # -- tree helpers ---------------------------------------------------------------------------

    def _qualified(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

    def _parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.get_metadata(ParentNodeProvider, node, None)

    def _assigned_value(self, name: cst.Name) -> cst.BaseExpression | None:
        """The value of the one plain `name = value` that `name` refers to."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return None
        assignments = list(scope[name.value])
        if len(assignments) != 1 or not isinstance(assignments[0], Assignment):
            return None
        target = self._parent(assignments[0].node)
        statement = self._parent(target) if isinstance(target, cst.AssignTarget) else None
        if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
            return statement.value
        if isinstance(target, cst.AnnAssign) and target.value is not None:
            return target.value
        return None


# -- helpers (pure functions) ---------------------------------------------------------------------


def _judge(image: str) -> tuple[bool, bool]:
    """(placeholder, floating tag) for an image reference."""
    reference, _, digest = image.partition("@")
    repository, tag = reference, None
    if ":" in reference.rsplit("/", 1)[-1]:
        repository, tag = reference.rsplit(":", 1)
    if _FIELD in (tag or ""):
        return False, False  # the tag is computed
    floating = not digest and tag in (None, "", "latest")
    if _STAND_IN.search(image.replace(_FIELD, "")):
        return True, False  # a stand-in has no meaningful tag to pin
    name = repository.lower()
    stripped = True
    while stripped:
        stripped = False
        for prefix in _REGISTRY_PREFIXES:
            if name.startswith(prefix):
                name, stripped = name[len(prefix):], True
    return (name in _SAMPLES and floating), floating


def _string(node: cst.CSTNode | None) -> str | None:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _keyword_value(call: cst.Call, keyword: str) -> cst.BaseExpression | None:
    return next((a.value for a in call.args if a.keyword and a.keyword.value == keyword), None)


def _logical_name(call: cst.Call) -> str | None:
    """The resource's logical name when it is a literal (first positional argument)."""
    first = next((a.value for a in call.args if a.keyword is None and not a.star), None)
    return _string(first) or _string(_keyword_value(call, "resource_name"))


def _words(identifier: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(identifier)]


def _camel(name: str | None, suffix: str) -> str | None:
    """`payment-app` + `Image` -> `paymentAppImage` (Pulumi config keys are camelCase)."""
    if not name:
        return None
    words = [w for w in re.split(r"[^0-9A-Za-z]+", name) if w]
    words = [p for w in words for p in (_WORD.findall(w) or [w])]
    if not words or not words[0][0].isalpha():
        return None
    camel = words[0].lower() + "".join(w.capitalize() for w in words[1:])
    if suffix and not camel.lower().endswith(suffix.lower()):
        camel += suffix
    return camel


def _unique(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    number = 2
    while f"{base}{number}" in taken:
        number += 1
    return f"{base}{number}"


def _quote(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.SimpleString) and node.quote in ('"', "'"):
        return node.quote
    return '"'


