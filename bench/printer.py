"""Printer benchmark: build a full bilingual receipt (PrintDocument + its ESC/POS bytes)."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime

from drivers.printer import JobRenderer
from terminal.receipts import PaymentReceipt, build_payment_slip

RUNS = 21


def sample_receipt(n: int = 0) -> PaymentReceipt:
    """A receipt with every optional part (voucher, provisional, notes, Hindi names)."""
    return PaymentReceipt(
        terminal_id="RJ-JPR-0001",
        location="Jaipur, Collectorate Circle",
        service="electricity",
        provider_code="JVVNL",
        provider_name_en="Jaipur Vidyut Vitran Nigam",
        provider_name_hi="जयपुर विद्युत वितरण निगम",
        consumer_number="210412345678",
        consumer_name="Ramesh Kumar",
        period="2026-10",
        amount_paise=64000 + n * 100,
        tendered_paise=70000 + n * 100,
        notes=[50000, 10000, 10000],
        receipt_no=f"RCPT-{n:06d}",
        txn_id=f"T-20261123-{n:04d}",
        paid_at=datetime(2026, 11, 23, 11, 5, tzinfo=UTC),
        verification_code="0123456789abcdef",
        voucher_id=f"V-20261123-{n:04d}",
        voucher_paise=6000,
        provisional=True,
    )


def main() -> None:
    renderer = JobRenderer(paper_width_dots=576, native_qr=True)
    times = []
    size = 0
    for n in range(RUNS):
        start = time.perf_counter()
        doc = build_payment_slip(sample_receipt(n), width_dots=576)
        size = len(renderer.render(doc))
        times.append((time.perf_counter() - start) * 1000)
    # The first build also loads the font and renders the fixed Hindi labels (cached after).
    print(f"printer.receipt_build_ms: {statistics.median(times):.1f} ms")
    print(f"printer.receipt_build_first_ms: {times[0]:.1f} ms")
    print(f"printer.receipt_bytes: {size} bytes")


if __name__ == "__main__":
    main()
