"""A sync server (AnkiWeb or self-hosted): login, collection sync (normal or full) and media
sync of dlcards' mirror collection, with clear errors that never carry the password or token."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from dlcards.anki.sync.collection import AnkiSyncError


def server_login(col: Any, server: str, user: str, password: str) -> tuple[str, str]:
    """(hkey, endpoint) for this user on this server. Wrong credentials or an unreachable
    server raise AnkiSyncError (the password is never in a message)."""
    try:
        auth = col.sync_login(user, password, server)
    except Exception as exc:
        raise _server_error(server, exc, login=True) from None
    return str(auth.hkey), str(auth.endpoint or server)


def _server_error(server: str, exc: Exception, *, login: bool = False) -> AnkiSyncError:
    """A clear message for a failed login or sync (never the password or the token)."""
    from anki.errors import NetworkError, SyncError, SyncErrorKind

    kind = getattr(exc, "kind", None)
    if isinstance(exc, SyncError) and kind == SyncErrorKind.AUTH:
        return AnkiSyncError(
            f"{server}: the server refused the user name or password",
            hint="check them and run `dlcards sync login` again; nothing was changed",
        )
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, NetworkError) or "connect" in text.lower():
        return AnkiSyncError(
            f"{server}: cannot reach the sync server ({text})",
            hint="check the address and that the server is running; nothing was changed",
        )
    return AnkiSyncError(
        f"{server}: the sync failed: {text}",
        hint="nothing was changed; run `dlcards sync` again later",
    )


def server_media(col: Any, hkey: str, endpoint: str, timeout: float = 120.0) -> bool:
    """Sync the mirror's media folder (images and sounds of the cards) with the server, when
    it has any. Returns whether a media sync ran."""
    from anki.sync import SyncAuth

    folder = Path(col.media.dir())
    if not folder.is_dir() or not any(folder.iterdir()):
        return False
    try:
        col.sync_media(SyncAuth(hkey=hkey, endpoint=endpoint))
        deadline = time.monotonic() + timeout
        while col.media_sync_status().active and time.monotonic() < deadline:
            time.sleep(0.05)
    except Exception as exc:
        raise _server_error(endpoint, exc) from None
    return True


def server_sync(col: Any, hkey: str, endpoint: str, *, phase: str) -> tuple[str, str | None]:
    """Sync the mirror with the server: (what happened, a new endpoint if the server moved).

    A full sync is needed when the mirror is new (download the server's collection, or upload
    when the server is empty) or after a change of note types (upload)."""
    from anki.sync import SyncAuth
    from anki.sync_pb2 import SyncCollectionResponse as Resp

    auth = SyncAuth(hkey=hkey, endpoint=endpoint)
    try:
        out = col.sync_collection(auth, False)
        new_endpoint = str(out.new_endpoint) if out.new_endpoint else None
        if new_endpoint:
            auth = SyncAuth(hkey=hkey, endpoint=new_endpoint)
        required = out.required
        if required in (Resp.NO_CHANGES, Resp.NORMAL_SYNC):
            return "synced", new_endpoint  # sync_collection did the normal sync itself
        # FULL_SYNC (both sides changed beyond a normal sync): before our changes the server
        # wins (the mirror holds nothing of its own), after them ours does
        upload = phase == "push" if required == Resp.FULL_SYNC else required == Resp.FULL_UPLOAD
        col.close_for_full_sync()
        try:
            col.full_upload_or_download(auth=auth, server_usn=out.server_media_usn, upload=upload)
        finally:
            col.reopen(after_full_sync=True)
        return ("full upload" if upload else "full download"), new_endpoint
    except AnkiSyncError:
        raise
    except Exception as exc:
        raise _server_error(endpoint, exc) from None
