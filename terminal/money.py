"""Money is int paise everywhere; these helpers only format it for people (Indian grouping)."""

from __future__ import annotations


def _check_paise(paise: int) -> int:
    if isinstance(paise, bool) or not isinstance(paise, int):
        raise TypeError(f"money must be int paise, got {type(paise).__name__}")
    if paise < 0:
        raise ValueError(f"money must not be negative: {paise}")
    return paise


def group_indian(n: int) -> str:
    """12345678 -> "1,23,45,678" (last three digits, then groups of two)."""
    digits = str(n)
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    groups = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return ",".join(groups) + "," + tail


def _figures(paise: int) -> str:
    rupees, rest = divmod(_check_paise(paise), 100)
    text = group_indian(rupees)
    if rest:
        text += f".{rest:02d}"
    return text


def format_rupees(paise: int) -> str:
    """64000 -> "₹640"; 10000000 -> "₹1,00,000"; 123550 -> "₹1,235.50"."""
    return "₹" + _figures(paise)


def ascii_rupees(paise: int) -> str:
    """As format_rupees but for the printer's own ASCII font: "Rs. 1,00,000"."""
    return "Rs. " + _figures(paise)
