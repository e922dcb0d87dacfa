"""Login, refresh and logout for local accounts: `POST <prefix>/auth/login|refresh|logout`.

A login answers a short-lived access token (a JWT this service signs, `AUTH_ACCESS_TOKEN_SECONDS`)
and a refresh token. A refresh token is random, kept only as its SHA-256, and works once: using
it answers a new pair and marks it used, atomically. Presenting a used token again means two
parties hold it (a thief, or the client after a thief): the whole family of tokens since that
login is revoked, and both must log in again. Logout revokes the family. Disabling an account
or setting its password revokes all its families; access tokens already issued run out within
their lifetime.

An unknown account, a wrong password and a disabled account get the same answer after the same
work (a dummy hash is checked when there is no account): the answer tells nobody which names
exist.

Two refreshes racing with one token: one gets the next pair, the other finds the token used and
revokes the family, the winner's new token included. That is reuse detection working as meant
(it cannot tell a racing client from a thief): a client refreshes one request at a time.
"""

import hashlib
import logging
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..data.database import SessionDep
from ..http.problems import ProblemError
from ..settings import Settings
from ..state import service_state
from .accounts import (
    PASSWORD_MAX_BYTES,
    USERNAME_MAX_LENGTH,
    AccountError,
    Passwords,
    RefreshToken,
    User,
    normalize_username,
)
from .guard import public
from .login_limit import LoginLimit
from .signing import SigningKeys

logger = logging.getLogger(__name__)

REFRESH_PREFIX = "rt_"
# The login limit's account key for names no account can have (normalised names have no spaces).
INVALID_NAME = " invalid name"
_BAD_CREDENTIALS = "The username or password is not right."
_BAD_REFRESH = "The refresh token is not valid: log in again."


class LogIn(BaseModel):
    username: str = Field(min_length=1, max_length=USERNAME_MAX_LENGTH)
    # Characters here, bytes below: a multi-byte password over the byte cap is refused unhashed.
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_BYTES)


class Refresh(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class Tokens(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 — the scheme's name, no secret
    expires_in: int = Field(description="Seconds the access token is valid for")
    refresh_token: str
    refresh_expires_in: int = Field(description="Seconds the refresh token is valid for")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _locked_account(session: AsyncSession, user_id: int) -> User | None:
    """The account's row, locked until the transaction ends (PostgreSQL; SQLite writes one
    transaction at a time anyway). Every refresh, logout, set-password and disable of an
    account takes it first, so a revocation waits for a refresh in flight and then sees, and
    revokes, the token that refresh issued."""
    return await session.scalar(select(User).where(User.id == user_id).with_for_update())


def _refused(detail: str) -> ProblemError:
    return ProblemError(detail, status=401, headers={"WWW-Authenticate": "Bearer"})


class Sessions:
    def __init__(
        self, settings: Settings, keys: SigningKeys, passwords: Passwords, limit: LoginLimit
    ) -> None:
        self.keys = keys
        self.passwords = passwords
        self.limit = limit
        self.issuer = settings.auth_token_issuer
        self.audience = settings.auth_token_audience
        self.access_seconds = settings.auth_access_token_seconds
        self.refresh_lifetime = timedelta(days=settings.auth_refresh_token_days)

    async def log_in(self, session: AsyncSession, request: Request, form: LogIn) -> Tokens:
        try:
            account: str | None = normalize_username(form.username)
        except AccountError:
            account = None  # no account has such a name: not looked up, still hashed and counted
        await self.limit.admit(request, account or INVALID_NAME)
        user = None
        if account is not None:
            user = await session.scalar(select(User).where(User.username == account))
        stored = user.password_hash if user is not None else None
        usable = len(form.password.encode()) <= PASSWORD_MAX_BYTES
        valid, upgraded = await self.passwords.verify(form.password if usable else "", stored)
        if not (valid and usable) or user is None or user.disabled_at is not None:
            raise _refused(_BAD_CREDENTIALS)
        if upgraded is not None:
            user.password_hash = upgraded
        return await self._issue(session, user, family=secrets.token_hex(16))

    async def refresh(self, session: AsyncSession, presented: str) -> Tokens:
        digest, now = _digest(presented), datetime.now(UTC)
        found = await session.execute(
            select(RefreshToken.id, RefreshToken.user_id).where(RefreshToken.token_hash == digest)
        )
        token = found.first()
        if token is None:
            raise _refused(_BAD_REFRESH)
        user = await _locked_account(session, token.user_id)
        used = await session.execute(
            update(RefreshToken)
            .where(
                RefreshToken.id == token.id,
                RefreshToken.used_at.is_(None),
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(RefreshToken.family)
        )
        family = used.scalar()
        if family is None:
            await self._refused_refresh(session, token.id)
            raise _refused(_BAD_REFRESH)
        if user is None or user.disabled_at is not None:
            await session.rollback()
            raise _refused(_BAD_REFRESH)
        return await self._issue(session, user, family=family)

    async def log_out(self, session: AsyncSession, presented: str) -> None:
        found = await session.execute(
            select(RefreshToken.user_id, RefreshToken.family).where(
                RefreshToken.token_hash == _digest(presented)
            )
        )
        token = found.first()
        if token is not None:
            await _locked_account(session, token.user_id)
            await self._revoke_family(session, token.family)
            await session.commit()

    async def _refused_refresh(self, session: AsyncSession, token_id: int) -> None:
        """Expired and revoked tokens are refused; a used one revokes its family."""
        found = await session.execute(
            select(RefreshToken.used_at, RefreshToken.revoked_at, RefreshToken.family).where(
                RefreshToken.id == token_id
            )
        )
        token = found.one()
        if token.used_at is not None and token.revoked_at is None:
            logger.warning("a used refresh token was presented again: its family is revoked")
            await self._revoke_family(session, token.family)
            await session.commit()

    async def _revoke_family(self, session: AsyncSession, family: str) -> None:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )

    async def _issue(self, session: AsyncSession, user: User, *, family: str) -> Tokens:
        refresh_token = REFRESH_PREFIX + secrets.token_urlsafe(32)
        await session.execute(
            insert(RefreshToken).values(
                user_id=user.id,
                token_hash=_digest(refresh_token),
                family=family,
                expires_at=datetime.now(UTC) + self.refresh_lifetime,
            )
        )
        access_token = self.access_token(user)
        await session.commit()  # last: a failed commit issues nothing
        return Tokens(
            access_token=access_token,
            expires_in=self.access_seconds,
            refresh_token=refresh_token,
            refresh_expires_in=int(self.refresh_lifetime.total_seconds()),
        )

    def access_token(self, user: User) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user.id),
            "iat": now,
            "nbf": now,
            "exp": now + self.access_seconds,
            "jti": secrets.token_hex(8),
            "scope": user.scopes,
        }
        return self.keys.sign(claims)


async def sessions(request: Request) -> Sessions:
    return service_state(request.app).sessions


SessionsDep = Annotated[Sessions, Depends(sessions)]

_REFUSED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Wrong credentials, or a refresh token that is not valid"},
}
_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {"description": "Too many login attempts from this client or on this account"},
}

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", responses={**_REFUSED, **_LIMITED})
@public
async def log_in(
    form: LogIn, request: Request, response: Response, db: SessionDep, service: SessionsDep
) -> Tokens:
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 section 5.1
    return await service.log_in(db, request, form)


@router.post("/refresh", responses=_REFUSED)
@public
async def refresh(
    form: Refresh, response: Response, db: SessionDep, service: SessionsDep
) -> Tokens:
    response.headers["Cache-Control"] = "no-store"
    return await service.refresh(db, form.refresh_token)


@router.post("/logout", status_code=204)
@public
async def log_out(form: Refresh, db: SessionDep, service: SessionsDep) -> None:
    """Revoke the refresh token's family (204 for any token: it tells nothing)."""
    await service.log_out(db, form.refresh_token)
