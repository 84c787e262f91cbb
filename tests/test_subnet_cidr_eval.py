"""The small evaluator behind subnet-cidr-overlap: CIDR f-strings and loop iterables, computed
from libcst nodes without eval(); anything beyond plain arithmetic is unknown (None)."""

from __future__ import annotations

import ipaddress
import time

import libcst as cst
import pytest

from iacfix.codemods.subnet_cidr_overlap import (
    MAX_INT,
    OPAQUE,
    bind,
    evaluate,
    iterate,
)


def value(code: str, **env):
    return evaluate(cst.parse_expression(code), env)


def items(code: str, **env):
    return iterate(cst.parse_expression(code), env)


def expand(cidr: str, loop: str, target: str = "i") -> list[str]:
    """The CIDRs `cidr` takes over `for <target> in <loop>`."""
    result = []
    for item in items(loop):
        env: dict = {}
        assert bind(cst.parse_expression(target), item, env)
        result.append(evaluate(cst.parse_expression(cidr), env))
    return result


# -- seed 002 §7's expressions ------------------------------------------------------------------

def test_seed_model_layout_leaves_a_gap_without_overlap():
    public = expand('f"10.0.{i}.0/24"', "range(2)")
    private = expand('f"10.0.{i + 10}.0/24"', "range(2)")
    assert public == ["10.0.0.0/24", "10.0.1.0/24"]
    assert private == ["10.0.10.0/24", "10.0.11.0/24"]
    networks = [ipaddress.ip_network(c) for c in public + private]
    assert not any(a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1:])


def test_seed_ideal_layout_interleaves():
    assert expand('f"10.0.{i * 2}.0/24"', "range(3)") == ["10.0.0.0/24", "10.0.2.0/24", "10.0.4.0/24"]
    assert expand('f"10.0.{i * 2 + 1}.0/24"', "range(3)") == ["10.0.1.0/24", "10.0.3.0/24", "10.0.5.0/24"]


def test_offset_by_one_really_overlaps():
    public = expand('f"10.0.{i}.0/24"', "range(3)")
    private = expand('f"10.0.{i + 1}.0/24"', "range(3)")
    assert set(public) & set(private) == {"10.0.1.0/24", "10.0.2.0/24"}


# -- arithmetic ---------------------------------------------------------------------------------

@pytest.mark.parametrize("code, expected", [
    ("i * 2 + 1", 7),
    ("(i + 10) * 16", 208),
    ("i // 2", 1),
    ("i % 2", 1),
    ("-i + 10", 7),
    ("0x10 + i", 19),
    ("1_000 - i", 997),
    ('"10.0." + "1.0/24"', "10.0.1.0/24"),
    ('f"{base}.{i * 16}.0/20"', "10.8.48.0/20"),
    ('f"10.0.{{literal}}.{i}"', "10.0.{literal}.3"),
])
def test_plain_arithmetic(code, expected):
    assert value(code, i=3, base="10.8") == expected


@pytest.mark.parametrize("code", [
    'f"10.0.{j}.0/24"',  # a name no loop binds
    "i / 2",  # true division gives a float
    "i // 0",
    "i % 0",
    '"10." * i',  # string repetition is not CIDR arithmetic
    "i + '1'",
    'f"10.0.{i:03d}.0/24"',  # format specs are not evaluated
    'f"10.0.{i!r}.0/24"',
    "True + i",
    "i << 2",
    "[i][0]",
    "i if i else 0",
])
def test_not_plain_arithmetic_is_unknown(code):
    assert value(code, i=3) is None


# -- hostile expressions must not be evaluated ---------------------------------------------------

@pytest.mark.parametrize("code", [
    '__import__("os").system("touch /tmp/iacfix-pwned")',
    'f"10.0.{__import__(\'os\').getpid()}.0/24"',
    "open('/etc/passwd').read()",
    "(lambda: 1)()",
    "exec('x = 1')",
    "9 ** 9 ** 9 ** 9",
    "10 ** 100000000",
    'f"10.0.{2 ** 10000000}.0/24"',
    "i.__class__",
    "[x for x in range(10**12)]",
])
def test_hostile_expression_is_unknown_and_fast(code):
    started = time.perf_counter()
    assert value(code, i=3) is None
    assert time.perf_counter() - started < 0.5


def test_huge_products_are_cut_off_before_they_grow():
    # Each step is bounded, so repeated multiplication cannot build a huge integer.
    code = " * ".join(["4294967295"] * 50)
    assert value(code) is None
    assert value(str(MAX_INT)) == MAX_INT
    assert value(str(MAX_INT + 1)) is None


# -- loop iterables -----------------------------------------------------------------------------

def test_range_forms():
    assert items("range(3)") == [0, 1, 2]
    assert items("range(1, 4)") == [1, 2, 3]
    assert items("range(0, 10, 4)") == [0, 4, 8]
    assert items("range(n)", n=2) == [0, 1]
    assert items("range(0, 10, 0)") is None
    assert items("range(10**9)") is None  # `**` is unknown
    assert items("range(100000)") is None  # more iterations than the rule expands


def test_enumerate_forms():
    assert items('enumerate(["a", "b"])') == [(0, "a"), (1, "b")]
    assert items('enumerate(("a", "b"), start=1)') == [(1, "a"), (2, "b")]
    # a list the rule cannot see, sliced: n opaque items
    assert items("enumerate(azs[:2])") == [(0, OPAQUE), (1, OPAQUE)]
    assert items("enumerate(azs.names[:3])") == [(0, OPAQUE), (1, OPAQUE), (2, OPAQUE)]
    assert items('["a", "b", "c"][:2]') == ["a", "b"]
    assert items("enumerate(azs)") is None  # unknown length
    assert items("[make(x) for x in range(3)]") == [OPAQUE] * 3
    assert items("[make(x) for x in range(3) if x]") is None
    assert items("zip(a, b)") is None


def test_opaque_items_are_unknown_when_used():
    env: dict = {}
    assert bind(cst.parse_expression("i, az"), (1, OPAQUE), env)
    assert evaluate(cst.parse_expression('f"10.0.{i}.0/24"'), env) == "10.0.1.0/24"
    assert evaluate(cst.parse_expression('f"10.0.{az}.0/24"'), env) is None


def test_bind_rejects_mismatched_shapes():
    assert not bind(cst.parse_expression("i, az"), 1, {})
    assert not bind(cst.parse_expression("a, b"), (1, 2, 3), {})
    assert not bind(cst.parse_expression("x.y"), 1, {})
