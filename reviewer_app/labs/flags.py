"""Abnormal-result flags: what a LabResult's flag is, its symbol, and where it came from.

The laboratory's own interpretation code (HL7 v3 ObservationInterpretation: N, H, L, HH,
LL, A, AA…) always wins. Only when the laboratory gave none does Reviewer compare the
value with the stated reference range itself, and it says so: a specialist must know
whether a flag is the lab's judgement or the app's arithmetic. Critical levels are never
derived from a range (the range does not state them). Each flag has a symbol (▲, ▼, ◆)
so its meaning never rests on colour alone (colour-blind safe); colours only reinforce.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class FlagKind(enum.Enum):
    """What a flag says about a value."""

    NONE = "none"  # no interpretation and nothing to compare with
    NORMAL = "normal"
    HIGH = "high"
    LOW = "low"
    CRITICAL_HIGH = "critical-high"
    CRITICAL_LOW = "critical-low"
    ABNORMAL = "abnormal"
    CRITICAL_ABNORMAL = "critical-abnormal"
    OTHER = "other"  # an interpretation code Reviewer does not know: shown verbatim

    @property
    def abnormal(self) -> bool:
        """True for every flag a reviewer should look at (unknown codes included)."""
        return self not in (FlagKind.NONE, FlagKind.NORMAL)

    @property
    def critical(self) -> bool:
        return self in (FlagKind.CRITICAL_HIGH, FlagKind.CRITICAL_LOW, FlagKind.CRITICAL_ABNORMAL)


class FlagSource(enum.Enum):
    """Who decided the flag."""

    NONE = "none"
    LABORATORY = "laboratory"
    RANGE = "reference range"


# kind -> (symbol, short label, words)
_LOOK: dict[FlagKind, tuple[str, str, str]] = {
    FlagKind.NONE: ("", "", "No flag"),
    FlagKind.NORMAL: ("", "N", "Normal"),
    FlagKind.HIGH: ("\u25b2", "H", "High"),
    FlagKind.LOW: ("\u25bc", "L", "Low"),
    FlagKind.CRITICAL_HIGH: ("\u25b2\u25b2", "HH", "Critical high"),
    FlagKind.CRITICAL_LOW: ("\u25bc\u25bc", "LL", "Critical low"),
    FlagKind.ABNORMAL: ("\u25c6", "A", "Abnormal"),
    FlagKind.CRITICAL_ABNORMAL: ("\u25c6\u25c6", "AA", "Critical abnormal"),
    FlagKind.OTHER: ("?", "", "Interpretation"),
}

# HL7 v3 ObservationInterpretation codes (and the plain words some servers send instead).
_CODES: dict[str, FlagKind] = {
    "N": FlagKind.NORMAL,
    "NORMAL": FlagKind.NORMAL,
    "H": FlagKind.HIGH,
    "HU": FlagKind.HIGH,
    "H>": FlagKind.HIGH,
    "HIGH": FlagKind.HIGH,
    "L": FlagKind.LOW,
    "LU": FlagKind.LOW,
    "L<": FlagKind.LOW,
    "LOW": FlagKind.LOW,
    "HH": FlagKind.CRITICAL_HIGH,
    "CRITICAL HIGH": FlagKind.CRITICAL_HIGH,
    "LL": FlagKind.CRITICAL_LOW,
    "CRITICAL LOW": FlagKind.CRITICAL_LOW,
    "A": FlagKind.ABNORMAL,
    "ABNORMAL": FlagKind.ABNORMAL,
    "AA": FlagKind.CRITICAL_ABNORMAL,
    "CRITICAL ABNORMAL": FlagKind.CRITICAL_ABNORMAL,
}

# A censored result as labs write it: "<0.1", "> 1000", "<=5".
_CENSORED = re.compile(r"\s*(<=|>=|<|>|\u2264|\u2265)\s*([0-9]+(?:\.[0-9]+)?)\s*")


@dataclass(frozen=True)
class Flag:
    """A value's flag: kind, the lab's code (if any) and who decided it."""

    kind: FlagKind
    source: FlagSource
    code: str | None = None

    @property
    def symbol(self) -> str:
        """The symbol alone: ▲, ▼▼, ◆…; empty for normal and unflagged values."""
        return _LOOK[self.kind][0]

    @property
    def label(self) -> str:
        """The symbol with the code, e.g. "▲ H", "▼▼ LL"; an unknown code verbatim."""
        if self.kind is FlagKind.OTHER:
            return f"? {self.code}"
        if not self.kind.abnormal:
            return ""
        return f"{self.symbol} {_LOOK[self.kind][1]}"

    @property
    def words(self) -> str:
        """The flag in words: Critical high, Normal…"""
        return _LOOK[self.kind][2]

    def explain(self) -> str:
        """One sentence for a tooltip: what the flag says and where it came from."""
        if self.source is FlagSource.LABORATORY:
            if self.kind is FlagKind.OTHER:
                return f"Laboratory interpretation code {self.code!r} (not one Reviewer knows)"
            return f"{self.words} \u2014 laboratory interpretation ({self.code})"
        if self.source is FlagSource.RANGE:
            return (
                f"{self.words} \u2014 computed by Reviewer from the reference range "
                "(the laboratory gave no interpretation)"
            )
        return "No flag: no laboratory interpretation and no range to compare with"


def censored_bound(text: str | None) -> tuple[str, float] | None:
    """("<", 0.1) for "<0.1"; None when the text is not a censored number."""
    if not text:
        return None
    match = _CENSORED.fullmatch(text)
    if match is None:
        return None
    op = {"\u2264": "<=", "\u2265": ">="}.get(match.group(1), match.group(1))
    return op, float(match.group(2))


def flag_for(
    interpretation: str | None,
    value: float | None,
    value_text: str | None,
    low: float | None,
    high: float | None,
) -> Flag:
    """The flag of one result: the laboratory's interpretation, else from the range."""
    if interpretation and interpretation.strip():
        code = interpretation.strip()
        kind = _CODES.get(code.upper(), FlagKind.OTHER)
        return Flag(kind, FlagSource.LABORATORY, code)
    derived = _from_range(value, value_text, low, high)
    if derived is None:
        return Flag(FlagKind.NONE, FlagSource.NONE)
    return Flag(derived, FlagSource.RANGE)


def _from_range(
    value: float | None, value_text: str | None, low: float | None, high: float | None
) -> FlagKind | None:
    if low is None and high is None:
        return None
    if value is not None:
        if high is not None and value > high:
            return FlagKind.HIGH
        if low is not None and value < low:
            return FlagKind.LOW
        return FlagKind.NORMAL
    bound = censored_bound(value_text)
    if bound is None:
        return None  # "positive", "see comment": nothing to compare
    op, limit = bound
    # Only what the censored value proves: "<0.1" is low if 0.1 is at or under the lower
    # limit, and normal only if there is no lower limit and 0.1 is within the upper one.
    if op in ("<", "<="):
        if low is not None and (limit < low or (limit == low and op == "<")):
            return FlagKind.LOW
        if low is None and high is not None and limit <= high:
            return FlagKind.NORMAL
        return None
    if high is not None and (limit > high or (limit == high and op == ">")):
        return FlagKind.HIGH
    if high is None and low is not None and limit >= low:
        return FlagKind.NORMAL
    return None
