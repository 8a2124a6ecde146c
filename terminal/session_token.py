"""The session API's connection token, the core's side: a fresh random token at every start,
written where only the kiosk user (and, with [session_api] token_group, the screen's user) can
read it. Clients find it with terminal.api_messages.find_token."""

from __future__ import annotations

import contextlib
import grp
import hmac
import logging
import os
import secrets
from pathlib import Path

from terminal.api_messages import index_path, private_dir_ok, runtime_dir
from terminal.logs import log_event

log = logging.getLogger("session_api")


def write_private(path: Path, text: str, group: str = "") -> None:
    """Write `text` to `path` atomically: a new file made with O_EXCL|O_NOFOLLOW, mode 0600
    (0640 and chgrp when `group` is set) before any byte is in it, then renamed over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        if group:
            os.fchown(fd, -1, grp.getgrnam(group).gr_gid)
            os.fchmod(fd, 0o640)
        else:
            os.fchmod(fd, 0o600)  # whatever the umask said
        os.write(fd, text.encode())
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)


def _remove_if_ours(path: Path, token: str) -> None:
    try:
        with open(path, "rb") as handle:
            if hmac.compare_digest(handle.read(256).strip(), token.encode()):
                os.unlink(path)
    except OSError:
        pass


class SessionToken:
    """The token of one running core: its file, plus a per-port copy in the user's private
    runtime directory so a client given only the URL (tests, the demo) can find it."""

    def __init__(self, token_file: Path, group: str = "") -> None:
        self.token = secrets.token_urlsafe(32)
        self.file = token_file
        self.group = group
        self.index: Path | None = None

    def publish(self, port: int) -> None:
        write_private(self.file, self.token + "\n", self.group)
        directory = runtime_dir()
        try:
            directory.mkdir(mode=0o700, exist_ok=True)
        except OSError:
            pass
        if private_dir_ok(directory):
            self.index = index_path(port)
            write_private(self.index, self.token + "\n")
        else:
            log_event(log, "token copy skipped: runtime directory not private", logging.WARNING,
                      directory=str(directory))
        log_event(log, "session token written", file=str(self.file))

    def withdraw(self) -> None:
        for path in (self.file, self.index):
            if path is not None:
                _remove_if_ours(path, self.token)

    def matches(self, header: str) -> bool:
        """Constant-time check of an Authorization header."""
        scheme, _, presented = header.partition(" ")
        ok = hmac.compare_digest(presented.strip().encode()[:256], self.token.encode())
        return ok and scheme.lower() == "bearer"
