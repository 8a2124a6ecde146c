"""The documents an application asks for, photographed by the webcam one at a time: the frame
is checked (terminal/document_quality.py: too dark, blurred) and refused in plain words, or
shown to the citizen as a preview to keep or take again. A kept document is a JPEG bounded in
size (MAX_DOCUMENT_BYTES, the same bound central applies)."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any

from terminal.application_store import MAX_DOCUMENT_BYTES
from terminal.document_quality import measure

DOCUMENT_SIZE = (1024, 768)  # largest side kept: print stays readable for the office
PREVIEW_SIZE = (240, 180)
QUALITIES = (80, 65, 50, 35)


class DocumentTooBig(ValueError):
    """Even at the lowest JPEG quality the photo is over the bound."""


def _image(frame: Any) -> Any:
    from PIL import Image  # loaded when a document is first taken

    rgb = frame[..., ::-1] if getattr(frame, "ndim", 2) == 3 else frame
    return Image.fromarray(rgb).convert("RGB")


def _jpeg(img: Any, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def document_jpeg(frame: Any) -> bytes:
    """The frame as a JPEG of at most MAX_DOCUMENT_BYTES (lower quality until it fits)."""
    img = _image(frame)
    img.thumbnail(DOCUMENT_SIZE)
    for quality in QUALITIES:
        data = _jpeg(img, quality)
        if len(data) <= MAX_DOCUMENT_BYTES:
            return data
    raise DocumentTooBig(f"document photo over {MAX_DOCUMENT_BYTES} bytes")


def preview_b64(jpeg: bytes) -> str:
    """A small copy for the screen's preview (base64 JPEG, a few KB)."""
    from PIL import Image

    img = Image.open(io.BytesIO(jpeg))
    img.thumbnail(PREVIEW_SIZE)
    return base64.b64encode(_jpeg(img.convert("RGB"), 60)).decode()


def check_and_encode(frame: Any) -> tuple[str | None, bytes | None]:
    """(what is wrong with the photo as a message key, or None and the JPEG to preview)."""
    problem = measure(frame).problem
    if problem is not None:
        return problem, None
    try:
        return None, document_jpeg(frame)
    except DocumentTooBig:
        return "document_too_big", None


@dataclass
class DocumentCapture:
    """Where the citizen is among the form's documents."""

    asked: list[dict[str, Any]]
    kept: dict[str, bytes] = field(default_factory=dict)
    pending: bytes | None = None  # photographed and good, shown, not yet kept
    preview: str | None = None  # the pending photo, small, for the screen
    refused: str | None = None  # why the last photo was not good enough
    skipped: set[str] = field(default_factory=set)

    def current(self) -> dict[str, Any] | None:
        return next((d for d in self.asked
                     if d["code"] not in self.kept and d["code"] not in self.skipped), None)

    def show(self, jpeg: bytes | None, refused: str | None = None) -> None:
        self.pending, self.refused = jpeg, refused
        self.preview = preview_b64(jpeg) if jpeg else None

    def view(self) -> dict[str, Any] | None:
        """What the screen shows of the document step (no JPEG but the small preview)."""
        doc = self.current()
        if doc is None:
            return None
        return {**doc, "index": self.asked.index(doc) + 1, "count": len(self.asked),
                "preview_jpeg_b64": self.preview,
                "refused": self.refused, "kept": list(self.kept)}
