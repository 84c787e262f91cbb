"""The rules: one module per failure class, each defining one `iacfix.rule.Rule` subclass.

Installed as `iacfix.codemods`; `iacfix.registry` discovers the rules by walking this package.
"""
