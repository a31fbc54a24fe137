"""Flags: from the laboratory's interpretation code first, else from the range."""

from __future__ import annotations

import pytest

from reviewer_app.labs.flags import Flag, FlagKind, FlagSource, censored_bound, flag_for


@pytest.mark.parametrize(
    ("code", "kind", "label"),
    [
        ("N", FlagKind.NORMAL, ""),
        ("H", FlagKind.HIGH, "\u25b2 H"),
        ("L", FlagKind.LOW, "\u25bc L"),
        ("HH", FlagKind.CRITICAL_HIGH, "\u25b2\u25b2 HH"),
        ("LL", FlagKind.CRITICAL_LOW, "\u25bc\u25bc LL"),
        ("A", FlagKind.ABNORMAL, "\u25c6 A"),
        ("AA", FlagKind.CRITICAL_ABNORMAL, "\u25c6\u25c6 AA"),
        ("IND", FlagKind.OTHER, "? IND"),
    ],
)
def test_the_laboratory_code_decides_and_has_a_symbol(
    code: str, kind: FlagKind, label: str
) -> None:
    # A value inside the range: the lab's code still wins over Reviewer's arithmetic.
    flag = flag_for(code, 13.0, None, 12.0, 15.5)
    assert (flag.kind, flag.source, flag.label) == (kind, FlagSource.LABORATORY, label)
    assert "laboratory" in flag.explain().lower()


def test_critical_and_abnormal_properties() -> None:
    assert FlagKind.CRITICAL_LOW.critical and FlagKind.CRITICAL_LOW.abnormal
    assert not FlagKind.HIGH.critical and FlagKind.HIGH.abnormal
    assert not FlagKind.NORMAL.abnormal and not FlagKind.NONE.abnormal
    # A code Reviewer does not know is looked at, not taken for normal.
    assert FlagKind.OTHER.abnormal


@pytest.mark.parametrize(
    ("value", "kind"),
    [(16.0, FlagKind.HIGH), (11.9, FlagKind.LOW), (12.0, FlagKind.NORMAL), (15.5, FlagKind.NORMAL)],
)
def test_without_a_code_the_range_decides_and_says_so(value: float, kind: FlagKind) -> None:
    flag = flag_for(None, value, None, 12.0, 15.5)
    assert (flag.kind, flag.source) == (kind, FlagSource.RANGE)
    assert "computed by Reviewer from the reference range" in flag.explain()


def test_a_range_never_makes_a_critical_flag() -> None:
    assert flag_for(None, 99.0, None, 12.0, 15.5).kind is FlagKind.HIGH


def test_one_sided_ranges() -> None:
    assert flag_for(None, 6.1, None, None, 5.0).kind is FlagKind.HIGH
    assert flag_for(None, 0.2, None, None, 5.0).kind is FlagKind.NORMAL
    assert flag_for(None, 35.0, None, 40.0, None).kind is FlagKind.LOW


def test_no_code_and_no_range_is_no_flag() -> None:
    flag = flag_for(None, 13.0, None, None, None)
    assert flag == Flag(FlagKind.NONE, FlagSource.NONE)
    assert flag.label == ""
    assert flag.explain().startswith("No flag")


@pytest.mark.parametrize(
    ("text", "low", "high", "kind"),
    [
        ("<0.1", None, 4.0, FlagKind.NORMAL),  # below 0.1, and 0.1 is within "≤ 4"
        (">1000", None, 37.0, FlagKind.HIGH),
        ("<10", 12.0, 15.5, FlagKind.LOW),
        ("<13", 12.0, 15.5, FlagKind.NONE),  # could be 11 or 12.5: not provable
        (">5", 4.0, None, FlagKind.NORMAL),
        ("positive", None, None, FlagKind.NONE),
        ("positive", 1.0, 2.0, FlagKind.NONE),
    ],
)
def test_censored_values_are_flagged_only_as_far_as_they_prove(
    text: str, low: float | None, high: float | None, kind: FlagKind
) -> None:
    assert flag_for(None, None, text, low, high).kind is kind


def test_censored_bound_parses_lab_notation() -> None:
    assert censored_bound("<0.1") == ("<", 0.1)
    assert censored_bound(" > 1000 ") == (">", 1000.0)
    assert censored_bound("\u22645") == ("<=", 5.0)
    assert censored_bound("positive") is None
    assert censored_bound("0.1") is None
    assert censored_bound(None) is None
