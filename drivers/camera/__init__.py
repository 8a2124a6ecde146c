"""Webcam driver: QR decoding from frames, audit photos, presence detection (OpenCV)."""

from drivers.camera.camera import (
    PREFERENCE,
    Camera,
    PresenceChanged,
    available_decoders,
    decode_qr,
    decoder_name,
    haar_face_detector,
    purge_audit_photos,
    write_audit_photo,
)
from drivers.scanner.serial_scanner import Scanned

__all__ = [
    "PREFERENCE",
    "Camera",
    "PresenceChanged",
    "Scanned",
    "available_decoders",
    "decode_qr",
    "decoder_name",
    "haar_face_detector",
    "purge_audit_photos",
    "write_audit_photo",
]
