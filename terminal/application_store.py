"""An application being filled in, on disk only as ciphertext: the answers and the documents
kept so far, whether it was sent to central and the number central gave. One file per
application in <state dir>/applications/, mode 0600, AES-GCM under a key derived from the
journal's key (terminal/journal_crypto.py: same file, same handling), written atomically (a
power cut leaves the old draft or the new one, never half of one) and removed once the
application is over: confirmed by central (its fee paid), cancelled, timed out, or withdrawn
after a restart.

Sizes are bounded here, not trusted to the caller: a document is at most MAX_DOCUMENT_BYTES of
JPEG, at most MAX_DOCUMENTS of them, and a file over MAX_FILE_BYTES is not read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from terminal.form_engine import MAX_FORM_DOCUMENTS
from terminal.journal import CrashPoint
from terminal.journal_crypto import create_key, read_key

log = logging.getLogger("kiosk")

MAX_DOCUMENT_BYTES = 150_000  # central takes no bigger (one request each, under its body limit)
MAX_DOCUMENTS = MAX_FORM_DOCUMENTS
MAX_FILE_BYTES = 64_000 + MAX_DOCUMENTS * (MAX_DOCUMENT_BYTES * 4 // 3 + 200)
MAGIC = b"EAD1"
_NONCE = 12
_SESSION = re.compile(r"[A-Za-z0-9-]{1,64}")
FILE_MODE = 0o600


class DraftError(ValueError):
    """A draft that must not be kept (too big, too many documents, a bad id)."""


@dataclass
class Draft:
    session_id: str
    service: str
    answers: dict[str, str] = field(default_factory=dict)
    documents: dict[str, bytes] = field(default_factory=dict)  # code -> JPEG, in order kept
    sent: bool = False  # the submit left for central: central may hold it from now on
    application_no: str | None = None

    def to_json(self) -> bytes:
        return json.dumps({
            "session_id": self.session_id, "service": self.service, "answers": self.answers,
            "documents": {k: base64.b64encode(v).decode() for k, v in self.documents.items()},
            "sent": self.sent, "application_no": self.application_no,
        }, ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Draft:
        data = json.loads(raw)
        return cls(str(data["session_id"]), str(data["service"]), dict(data["answers"]),
                   {k: base64.b64decode(v) for k, v in data["documents"].items()},
                   bool(data["sent"]), data["application_no"])


def check_bounds(draft: Draft) -> None:
    if not _SESSION.fullmatch(draft.session_id):
        raise DraftError("session id not plain")
    if len(draft.documents) > MAX_DOCUMENTS:
        raise DraftError(f"more than {MAX_DOCUMENTS} documents")
    if any(len(d) > MAX_DOCUMENT_BYTES for d in draft.documents.values()):
        raise DraftError(f"a document over {MAX_DOCUMENT_BYTES} bytes")


class ApplicationStore:
    def __init__(self, directory: Path, key_file: Path) -> None:
        self.directory = directory
        self.key_file = key_file
        self._aead: AESGCM | None = None  # the key is read (or made) at the first draft
        self._crash = CrashPoint(os.environ.get("EMITRA_CRASH_AFTER"))

    def _cipher(self) -> AESGCM:
        if self._aead is None:
            master = read_key(self.key_file) if self.key_file.exists() \
                else create_key(self.key_file)
            self._aead = AESGCM(hmac.new(master, b"emitra-application-drafts/v1",
                                         hashlib.sha256).digest())
        return self._aead

    def path(self, session_id: str) -> Path:
        return self.directory / f"{session_id}.draft"

    def save(self, draft: Draft) -> None:
        """Durable before it returns (file and directory fsynced); test hook
        EMITRA_CRASH_AFTER=application_saved:n kills the process right after the n-th save."""
        check_bounds(draft)
        nonce = secrets.token_bytes(_NONCE)
        sealed = MAGIC + nonce + self._cipher().encrypt(
            nonce, draft.to_json(), draft.session_id.encode())
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        final = self.path(draft.session_id)
        temp = final.with_suffix(".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            os.write(fd, sealed)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, final)
        self._sync_directory()
        self._crash.after_append("application_saved")

    def crash_point(self, kind: str) -> None:
        """The same test hook for the steps the service takes between saves."""
        self._crash.after_append(kind)

    def delete(self, session_id: str) -> None:
        for p in (self.path(session_id), self.path(session_id).with_suffix(".tmp")):
            p.unlink(missing_ok=True)
        self._sync_directory()

    def load_all(self) -> list[Draft]:
        """Every draft left on disk (after a restart). One that is too big, does not decrypt or
        does not parse is removed: it can never be sent, and it is personal data."""
        drafts: list[Draft] = []
        if not self.directory.is_dir():
            return drafts
        for temp in self.directory.glob("*.tmp"):
            temp.unlink(missing_ok=True)  # a save cut short: the previous draft still stands
        for p in sorted(self.directory.glob("*.draft")):
            try:
                drafts.append(self._read(p))
            except Exception as exc:  # noqa: BLE001 - hostile or damaged file: never kept
                log.warning("application draft %s unreadable, removed: %s", p.name,
                            type(exc).__name__)
                p.unlink(missing_ok=True)
        return drafts

    def _read(self, p: Path) -> Draft:
        if p.stat().st_size > MAX_FILE_BYTES:
            raise DraftError("draft file too big")
        raw = p.read_bytes()
        if not raw.startswith(MAGIC):
            raise DraftError("not a draft")
        nonce, sealed = raw[len(MAGIC):len(MAGIC) + _NONCE], raw[len(MAGIC) + _NONCE:]
        draft = Draft.from_json(self._cipher().decrypt(nonce, sealed, p.stem.encode()))
        check_bounds(draft)
        if draft.session_id != p.stem:
            raise DraftError("draft under another name")
        return draft

    def _sync_directory(self) -> None:
        if not self.directory.is_dir():
            return
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
