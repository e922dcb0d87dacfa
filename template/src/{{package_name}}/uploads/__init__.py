"""Safe file uploads (docs/uploads.md in the template's repository; README "Uploads").

Streamed to a staging file under the route's body cap, the type sniffed against an allowlist,
archives inspected, then stored content-addressed. `install` mounts `POST /uploads` (under
`API_PREFIX`) and puts the store on the service state (`state.upload_store`) for routes of your
own.
"""

from fastapi import FastAPI

from ..http.prefix import API_PREFIX
from ..state import Feature, ServiceState
from .receiver import AcceptedUpload, UploadPolicy, receive_upload
from .refusals import UploadRefused
from .routes import build_router
from .storage import LocalDirectoryStore, UploadStore

__all__ = [
    "AcceptedUpload",
    "LocalDirectoryStore",
    "UploadPolicy",
    "UploadRefused",
    "UploadStore",
    "install",
    "receive_upload",
]


def install(app: FastAPI, state: ServiceState) -> Feature:
    settings = state.settings
    store = LocalDirectoryStore(settings.upload_dir, fsync=settings.upload_fsync)
    state.upload_store = store
    policy = UploadPolicy.from_settings(settings)
    uploads = build_router(policy, store, max_bytes=settings.upload_max_bytes)
    app.include_router(uploads, prefix=API_PREFIX)

    async def startup() -> None:
        # Blocking, on purpose: the worker serves nothing yet, and an `await` here would let a
        # SIGTERM be handled before the server listens, which runtime/server.py cannot yet do.
        store.prepare()

    return Feature("uploads", startup)
