"""The data files shipped inside the package (provider indexes, the RDS version table, the
replacement table), read in one place so that a damaged file stops the run with one clear message
instead of crashing a rule on every file.

A damaged file means a broken installation (an interrupted upgrade, a bad edit of a data file in
a development checkout): no rule that needs it can give a right answer, so the run stops with
exit 2 and writes nothing.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable
from importlib import resources
from typing import Any, TypeVar

from iacfix.errors import IacfixError

T = TypeVar("T")


class DataFileError(IacfixError):
    """A data file shipped with iacfix is missing or damaged."""


def load_json(package: str, name: str, build: Callable[[Any], T] = lambda document: document,
              *, remedy: str = "reinstall iacfix (pip install --force-reinstall iacfix)") -> T:
    """`build(document)` for the JSON file `name` of `package` (gzip-compressed when it ends in
    `.gz`). `build` checks the layout: any KeyError, TypeError or ValueError it raises means the
    file is damaged too."""
    path = resources.files(package) / "data" / name
    try:
        data = path.read_bytes()
        if name.endswith(".gz"):
            data = gzip.decompress(data)
        return build(json.loads(data))
    except (OSError, EOFError, zlib.error, ValueError, KeyError, TypeError, AttributeError) as error:
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        raise DataFileError(f"{path}: this data file of iacfix is damaged ({reason}); "
                            f"the rules that read it cannot run. To repair it, {remedy}") from None
