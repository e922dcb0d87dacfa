from pydantic import BaseModel, Field


class StoredUpload(BaseModel):
    key: str = Field(description="The stored object's key (its SHA-256 in the local store)")
    sha256: str = Field(description="SHA-256 of the content, lowercase hex")
    size: int = Field(description="Bytes stored")
    content_type: str = Field(description="Media type read from the content's first bytes")
    filename: str | None = Field(
        description="The client's file name, cleaned; metadata only, never a storage path"
    )
    fields: dict[str, str] = Field(description="The text fields sent with the file")
