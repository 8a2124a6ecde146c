"""The documents an application asks for (state.lookup.document, from
terminal/application_service.py), one at a time: which paper and how to hold it, then the
photo the core took shown as a preview with "keep" / "take again" — or, when the core refused
it, why in plain words (blurred: hold the paper still; too dark: hold it in the light) and the
button to take it again. Drawn into the application screen's body (screens/services_form.py)."""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

from kivy.core.image import Image as CoreImage
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.image import Image
from kivy.uix.widget import Widget

from screens.services_views import button, line, title
from screens.widgets import GREEN, LINE, MUTED, RED, Box, KLabel

MAX_PREVIEW_B64 = 40_000  # the core sends a few KB; anything bigger is not drawn


def doc_label(app, doc: dict[str, Any]) -> str:
    return str(doc.get(f"label_{app.lang}") or doc.get("label_en") or doc.get("code") or "")


def kept_summary(app, lookup: dict[str, Any]) -> str:
    """The review row: the documents kept, by their names."""
    kept = set(lookup.get("documents_kept") or [])
    names = [doc_label(app, d) for d in lookup.get("documents") or []
             if isinstance(d, dict) and d.get("code") in kept]
    return ", ".join(names) if names else app.tr("svc_doc_none")


def _preview(app, data: Any) -> Widget:
    """The photo the core took, or a frame saying where the camera is."""
    frame = Box(bg=[1, 1, 1, 1], border=list(LINE), padding=8 * app.s)
    texture = None
    if isinstance(data, str) and len(data) <= MAX_PREVIEW_B64:
        try:
            texture = CoreImage(io.BytesIO(base64.b64decode(data)), ext="jpg").texture
        except (binascii.Error, ValueError, Exception):  # noqa: BLE001 - a bad image: none
            texture = None
    if texture is not None:
        frame.add_widget(Image(texture=texture, fit_mode="contain"))
    else:
        frame.add_widget(KLabel(text=app.tr("svc_doc_camera_here"), tid="doc_no_preview",
                                base=28, color=MUTED, balance=True))
    return frame


def draw_documents(app, body, lookup: dict[str, Any], notice: str | None) -> None:
    doc = lookup.get("document") or {}
    label = doc_label(app, doc)
    body.add_widget(title(label, "svc_title", base=38))
    body.add_widget(line(app.tr("svc_doc_count", n=doc.get("index") or 1,
                                count=doc.get("count") or 1), "svc_doc_count", base=26,
                         color=MUTED))
    split = BoxLayout(spacing=28 * app.s)
    photo = doc.get("preview_jpeg_b64")
    split.add_widget(_preview(app, photo))
    side = BoxLayout(orientation="vertical", spacing=16 * app.s, size_hint_x=0.9)
    refused = doc.get("refused") or notice
    if refused:
        side.add_widget(line(app.tr(refused), "message", base=32, color=RED, bold=True,
                             halign="left"))
    side.add_widget(line(app.tr("svc_doc_check" if photo else "svc_doc_how"), "svc_prompt",
                         base=28, halign="left"))
    kept = set(doc.get("kept") or [])
    for other in lookup.get("documents") or []:
        if isinstance(other, dict) and other.get("code") in kept:
            side.add_widget(line(app.tr("svc_doc_kept", document=doc_label(app, other)),
                                 f"doc_kept_{other.get('code')}", base=26, color=GREEN,
                                 halign="left"))
    side.add_widget(Widget())
    if photo:
        side.add_widget(button(app.tr("svc_doc_keep"), "doc_keep",
                               lambda: app.send_intent("application_document", action="keep"),
                               tall=110))
        side.add_widget(button(app.tr("svc_photo_retake"), "doc_retake",
                               lambda: app.send_intent("application_document", action="retake"),
                               kind="secondary", tall=100))
    else:
        again = "retake" if refused else "take"
        side.add_widget(button(app.tr("svc_photo_retake" if refused else "svc_photo_take"),
                               f"doc_{again}",
                               lambda: app.send_intent("application_document", action=again),
                               tall=110))
    if not doc.get("required", True):
        side.add_widget(button(app.tr("svc_doc_skip"), "doc_skip",
                               lambda: app.send_intent("application_document", action="skip"),
                               kind="secondary", tall=90))
    split.add_widget(side)
    body.add_widget(split)
