"""`POST /uploads`: one file (multipart/form-data), checked, stored, answered with its checksum.

The route is built by `install` because its body cap comes from the settings. It is the
example to copy: a route of your own calls `receive_upload` with its own policy and cap.
"""

import base64

from fastapi import APIRouter, Request, Response, status

from ..edge.body_limit import body_cap
from .receiver import UploadPolicy, receive_upload
from .refusals import RULES
from .schemas import StoredUpload
from .storage import UploadStore

_REQUEST_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
                "additionalProperties": {"type": "string"},
            }
        }
    },
}


def _refusal_responses() -> dict[int | str, dict[str, str]]:
    statuses = sorted({status_code for status_code, _ in RULES.values()} | {408, 413})
    described = {"description": "Refused: a problem document naming the rule"}
    return {code: described for code in statuses}


def build_router(policy: UploadPolicy, store: UploadStore, *, max_bytes: int) -> APIRouter:
    router = APIRouter(prefix="/uploads", tags=["uploads"])

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        openapi_extra={"requestBody": _REQUEST_BODY},
        responses=_refusal_responses(),
    )
    @body_cap(max_bytes)
    async def upload_file(request: Request, response: Response) -> StoredUpload:
        accepted = await receive_upload(request, policy, store)
        # RFC 9530: the checksum the client can compare with its own, in a standard header too.
        digest = base64.b64encode(bytes.fromhex(accepted.sha256)).decode("ascii")
        response.headers["Repr-Digest"] = f"sha-256=:{digest}:"
        return StoredUpload(
            key=accepted.key,
            sha256=accepted.sha256,
            size=accepted.size,
            content_type=accepted.content_type,
            filename=accepted.filename,
            fields=accepted.fields,
        )

    return router
