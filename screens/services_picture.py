"""A picture the core sent as base64 (a grievance's photo preview, a scheme page's image), drawn
inside a thin border, scaled to fit and never stretched. The core has already checked the bytes
(terminal/grievance_service.py, terminal/scheme_pages.py); a picture that still will not decode
shows as an empty frame rather than breaking the screen."""

from __future__ import annotations

import base64
import io
import logging

from kivy.core.image import Image as CoreImage
from kivy.properties import StringProperty
from kivy.uix.image import Image

from screens.widgets import ACCENT, Box

log = logging.getLogger("screens")

EXTENSIONS = {"jpeg": "jpg", "jpg": "jpg", "png": "png"}


class Picture(Image):
    """An Image with a test id (screens/drive.py finds widgets by `tid`)."""

    tid = StringProperty("")


def texture_of(data_b64: str, kind: str):
    """The decoded texture, or None (bad base64, an unknown kind, bytes Kivy cannot read)."""
    ext = EXTENSIONS.get(kind.lower())
    if ext is None:
        return None
    try:
        data = base64.b64decode(data_b64, validate=True)
        return CoreImage(io.BytesIO(data), ext=ext).texture
    except Exception as exc:  # bad base64 or bytes Kivy cannot read: never crash a screen
        log.warning("picture not drawn: %s", type(exc).__name__)
        return None


def framed_picture(app, data_b64: str, kind: str, tid: str, height: float) -> Box:
    """The picture in a white box with the accent border, `height` px (at 1280x800) tall."""
    box = Box(size_hint_y=None, height=height * app.s, bg=[1, 1, 1, 1], border=list(ACCENT),
              padding=6 * app.s)
    picture = Picture(tid=tid, fit_mode="contain")
    texture = texture_of(data_b64, kind)
    if texture is not None:
        picture.texture = texture
    else:
        picture.opacity = 0
    box.add_widget(picture)
    return box
