"""Scheme pages (the "Information" service): what central publishes about the government's
schemes, a title and a few paragraphs in Hindi and English with a small picture each, checked
here before any of it is kept or shown. terminal/scheme_cache.py fetches, caches and serves them.

Everything from central is hostile until checked: the number of pages, every code and version,
the length of every text (printable, paragraphs only as line breaks), and the picture: base64 of
at most MAX_IMAGE_BYTES of PNG or JPEG whose header says a bounded size *before* it is decoded
(a small file can claim a huge bitmap), and that then decodes completely.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Mapping
from typing import Any

MAX_PAGES = 24
MAX_TITLE = 80  # characters
MAX_BODY = 1500  # characters: a page is read standing at a kiosk
MAX_IMAGE_BYTES = 200_000
MAX_IMAGE_SIDE = 1600  # pixels
MIN_IMAGE_SIDE = 16
IMAGE_TYPES = {"png": "PNG", "jpeg": "JPEG"}  # the type central names -> Pillow's format
_CODE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
TEXT_FIELDS = ("title_en", "title_hi", "body_en", "body_hi")


class SchemeError(ValueError):
    """Scheme pages that must not be used (the message says where they are wrong)."""


def _code(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise SchemeError(f"{where}: code must be a short lower-case identifier")
    return value


def _version(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _VERSION.fullmatch(value):
        raise SchemeError(f"{where}: version must be a short identifier")
    return value


def _text(obj: Mapping[str, Any], key: str, limit: int, where: str,
          paragraphs: bool = False) -> str:
    value = obj.get(key)
    ok = isinstance(value, str) and value.strip() and len(value) <= limit and all(
        c.isprintable() or (paragraphs and c == "\n") for c in value)
    if not ok:
        raise SchemeError(f"{where}: {key} must be printable text of 1-{limit} characters")
    return str(value).strip()


def validate_index(doc: Any) -> dict[str, Any]:
    """central's list: {"version", "pages": [{"code", "version"}, ...]} (other keys ignored)."""
    if not isinstance(doc, dict):
        raise SchemeError("the scheme list is not an object")
    version = _version(doc.get("version"), "scheme list")
    pages = doc.get("pages")
    if not isinstance(pages, list) or len(pages) > MAX_PAGES \
            or not all(isinstance(p, dict) for p in pages):
        raise SchemeError(f"scheme list: pages must be a list of at most {MAX_PAGES} objects")
    out = []
    for entry in pages:
        code = _code(entry.get("code"), "scheme list")
        out.append({"code": code, "version": _version(entry.get("version"), f"page {code}")})
    codes = [p["code"] for p in out]
    if len(set(codes)) != len(codes):
        raise SchemeError("scheme list: a page code appears twice")
    return {"version": version, "pages": out}


def check_image(data: bytes, kind: str, where: str) -> tuple[int, int]:
    """(width, height) of a PNG or JPEG of `kind` that decodes within the bounds."""
    from PIL import Image, UnidentifiedImageError

    if not 0 < len(data) <= MAX_IMAGE_BYTES:
        raise SchemeError(f"{where}: the picture must be 1-{MAX_IMAGE_BYTES} bytes")
    try:
        with Image.open(io.BytesIO(data)) as img:  # reads the header only
            if img.format != IMAGE_TYPES.get(kind):
                raise SchemeError(f"{where}: the picture is not the {kind} it claims to be")
            width, height = img.size
            if not (MIN_IMAGE_SIDE <= width <= MAX_IMAGE_SIDE
                    and MIN_IMAGE_SIDE <= height <= MAX_IMAGE_SIDE):
                raise SchemeError(f"{where}: the picture's size {width}x{height} is out of "
                                  f"bounds ({MIN_IMAGE_SIDE}-{MAX_IMAGE_SIDE} px a side)")
            img.load()  # the whole bitmap: a truncated or corrupt file fails here
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        if isinstance(exc, SchemeError):
            raise
        raise SchemeError(f"{where}: the picture does not decode") from None
    return width, height


def validate_page(doc: Any, code: str, version: str) -> dict[str, Any]:
    """One page as central sends it, for the list entry (code, version) that named it:
    {"code", "version", "title_en", "title_hi", "body_en", "body_hi", "image_type", "image"
    (bytes), "width", "height"}."""
    where = f"page {code}"
    if not isinstance(doc, dict):
        raise SchemeError(f"{where} is not an object")
    if doc.get("code") != code or doc.get("version") != version:
        raise SchemeError(f"{where}: central sent another page or version than listed")
    out: dict[str, Any] = {"code": code, "version": version}
    for key in TEXT_FIELDS:
        title = key.startswith("title")
        out[key] = _text(doc, key, MAX_TITLE if title else MAX_BODY, where, not title)
    image = doc.get("image")
    if not isinstance(image, dict) or image.get("type") not in IMAGE_TYPES:
        raise SchemeError(f"{where}: image must be {{type: png | jpeg, data_b64}}")
    encoded = image.get("data_b64")
    if not isinstance(encoded, str) or len(encoded) > (MAX_IMAGE_BYTES + 2) // 3 * 4 \
            or not _B64.fullmatch(encoded):
        raise SchemeError(f"{where}: image data must be base64 of at most "
                          f"{MAX_IMAGE_BYTES} bytes")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SchemeError(f"{where}: image data is not base64") from None
    out["image_type"] = image["type"]
    out["image"] = data
    out["width"], out["height"] = check_image(data, image["type"], where)
    return out


def validate_cached(entry: Any) -> dict[str, Any]:
    """A page's words as the cache's index keeps them (the picture is checked from its file)."""
    if not isinstance(entry, dict):
        raise SchemeError("a cached page is not an object")
    code = _code(entry.get("code"), "cached page")
    where = f"cached page {code}"
    out: dict[str, Any] = {"code": code, "version": _version(entry.get("version"), where)}
    for key in TEXT_FIELDS:
        title = key.startswith("title")
        out[key] = _text(entry, key, MAX_TITLE if title else MAX_BODY, where, not title)
    if entry.get("image_type") not in IMAGE_TYPES:
        raise SchemeError(f"{where}: image_type must be png or jpeg")
    out["image_type"] = entry["image_type"]
    sha = entry.get("image_sha256")
    if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise SchemeError(f"{where}: image_sha256 must be 64 hex digits")
    out["image_sha256"] = sha
    return out
