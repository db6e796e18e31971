"""Typed dependencies shared by every router.

All `async def`, even those that only read an attribute: FastAPI runs a plain `def`
dependency in the thread pool, a thread hop per dependency per request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.cache import Cache
from marketplace.core.platform import Platform
from marketplace.settings import Settings


async def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


async def get_settings(platform: PlatformDep) -> Settings:
    return platform.settings


async def get_cache(platform: PlatformDep) -> Cache:
    return platform.cache


async def get_session(platform: PlatformDep) -> AsyncIterator[AsyncSession]:
    """The request's one transaction: committed when the handler returns, else rolled back."""
    async for session in platform.database.session():
        yield session


async def get_read_only_session(
    platform: PlatformDep, session: Annotated[AsyncSession, Depends(get_session, scope="function")]
) -> AsyncSession:
    """For a route that only reads, on the primary (so it sees the caller's own writes):
    the request's session, its statements sent outside a transaction when nothing has
    begun one (an anonymous caller; the credential is resolved before the route's
    dependencies, app.py), so no BEGIN and COMMIT around them. Each statement then
    reads its own snapshot: for reads of one statement, or of several that need no
    common one and no transaction-local setting (`Database.read_outside_transaction`)."""
    platform.database.read_outside_transaction(session)
    return session


async def get_read_session(
    platform: PlatformDep, session: Annotated[AsyncSession, Depends(get_session, scope="function")]
) -> AsyncIterator[AsyncSession]:
    """For reads that need not see the caller's own writes: a read-only transaction on a
    usable replica, else the request's own transaction (core/replicas.py)."""
    async for read in platform.replicas.session(session):
        yield read


async def get_read_statements_session(
    platform: PlatformDep, session: Annotated[AsyncSession, Depends(get_session, scope="function")]
) -> AsyncIterator[AsyncSession]:
    """`get_read_session` for reads whose statements need no common snapshot: on the
    primary, sent outside a transaction when nothing has begun one (as
    `get_read_only_session`). Searches: the words' corrections and the page, or the
    facets and the category tree, read what is independent of each other; BEGIN and
    COMMIT were two of an uncached text search's five statements."""
    async for read in platform.replicas.session(session):
        if read is session:
            platform.database.read_outside_transaction(session)
        yield read


SettingsDep = Annotated[Settings, Depends(get_settings)]
CacheDep = Annotated[Cache, Depends(get_cache)]
# scope="function": commit before the response is sent, so a failed commit is a 500
# and never a success reported for data that was not saved.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
ReadStatementsSessionDep = Annotated[
    AsyncSession, Depends(get_read_statements_session, scope="function")
]
ReadOnlySessionDep = Annotated[AsyncSession, Depends(get_read_only_session, scope="function")]


async def no_store(response: Response) -> None:
    """For responses that carry a credential (tokens, a secret shown once): no cache, no
    proxy and no browser history may keep a copy (RFC 6749 section 5.1)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"


# A route dependency: `dependencies=NO_STORE` on each route whose answer is a credential.
NO_STORE = [Depends(no_store)]
