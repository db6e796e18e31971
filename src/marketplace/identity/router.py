"""Sign-in, tokens and the signed-in user's sessions (`/me` itself and company API
keys are served by companies/router.py: they show and manage companies)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, BackgroundTasks, Request, Response, status

from marketplace.core.client_ip import client_ip
from marketplace.core.deps import NO_STORE, CacheDep, PlatformDep, SessionDep
from marketplace.core.errors import DomainError, problem_response
from marketplace.core.i18n import negotiate_language
from marketplace.core.notifier import NotifierDep
from marketplace.identity import service
from marketplace.identity.contacts import Channel
from marketplace.identity.deps import CurrentPrincipal, CurrentUser
from marketplace.identity.ports import OffenceRecorderDep, SignInHookDep
from marketplace.identity.schemas import (
    BrowserSession,
    OtpChallengeRead,
    OtpRequest,
    OtpVerify,
    RefreshRequest,
    SessionRead,
    TokenPair,
)

auth_router = APIRouter(prefix="/auth", tags=["auth"])
me_router = APIRouter(prefix="/me", tags=["me"])


def _client(request: Request) -> service.ClientInfo:
    return service.ClientInfo(
        ip=client_ip(request.scope), user_agent=request.headers.get("user-agent", "")
    )


@auth_router.post(
    "/otp/request", status_code=status.HTTP_202_ACCEPTED, response_model=OtpChallengeRead
)
async def request_otp(
    body: OtpRequest,
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    notifier: NotifierDep,
    background: BackgroundTasks,
) -> OtpChallengeRead:
    """Send a one-time sign-in code to an e-mail address or phone number (E.164)."""
    channel: Channel = "email" if body.email is not None else "phone"
    destination = body.email or body.phone
    assert destination is not None
    await service.throttle_otp_request(platform, destination, client_ip(request.scope))
    issued = await service.request_otp(
        session,
        platform,
        channel,
        destination,
        _client(request),
        negotiate_language(request.headers.get("accept-language")),
    )
    # Sent after the response, so after the challenge is committed.
    background.add_task(notifier.send, issued.message)
    return OtpChallengeRead(challenge_id=issued.challenge_id, expires_in=issued.expires_in)


@auth_router.post(
    "/otp/verify",
    response_model=TokenPair | BrowserSession,
    responses={401: {"description": "Wrong, expired or used code"}},
    dependencies=NO_STORE,
)
async def verify_otp(
    body: OtpVerify,
    request: Request,
    response: Response,
    session: SessionDep,
    platform: PlatformDep,
    on_sign_in: SignInHookDep,
    record_offence: OffenceRecorderDep,
) -> TokenPair | BrowserSession | Response:
    """Exchange the code for a token pair, or (mode=cookie) open a browser session."""
    outcome = await service.verify_otp(session, platform, body.challenge_id, body.code, on_sign_in)
    if isinstance(outcome, DomainError):
        await record_offence(platform, client_ip(request.scope), "auth_failure")
        return problem_response(request, outcome)
    if body.mode == "cookie":
        browser = await service.start_browser_session(session, platform, outcome, _client(request))
        set_session_cookies(
            response, platform, browser.cookie_secret, browser.csrf_token, browser.max_age
        )
        return BrowserSession(csrf_token=browser.csrf_token, expires_in=browser.max_age)
    tokens = await service.start_token_session(session, platform, outcome, _client(request))
    return TokenPair(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


def set_session_cookies(
    response: Response, platform: PlatformDep, secret: str, csrf_token: str, max_age: int
) -> None:
    settings = platform.settings
    response.set_cookie(
        settings.session_cookie_name,
        secret,
        max_age=max_age,
        httponly=True,
        secure=True,
        samesite="lax",
        path="/",
    )
    # Readable by the page's script, which echoes it in X-CSRF-Token (double submit).
    response.set_cookie(
        settings.csrf_cookie_name,
        csrf_token,
        max_age=max_age,
        httponly=False,
        secure=True,
        samesite="lax",
        path="/",
    )


@auth_router.post("/refresh", response_model=TokenPair, dependencies=NO_STORE)
async def refresh(
    body: RefreshRequest,
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    record_offence: OffenceRecorderDep,
) -> TokenPair | Response:
    """Rotate a refresh token. Replaying a used one revokes its whole session."""
    outcome = await service.refresh(session, platform, body.refresh_token)
    if isinstance(outcome, DomainError):
        await record_offence(platform, client_ip(request.scope), "auth_failure")
        return problem_response(request, outcome)
    return TokenPair(
        access_token=outcome.access_token,
        refresh_token=outcome.refresh_token,
        expires_in=outcome.expires_in,
    )


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    current: CurrentUser, response: Response, session: SessionDep, platform: PlatformDep
) -> Response:
    """End this session: its refresh tokens, access tokens and cookie stop working."""
    await service.revoke_session(session, platform.cache, current.session_id, "logout")
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(
        platform.settings.session_cookie_name, path="/", secure=True, httponly=True
    )
    response.delete_cookie(platform.settings.csrf_cookie_name, path="/", secure=True)
    return response


@me_router.get("/sessions", response_model=list[SessionRead])
async def sessions(current: CurrentUser, session: SessionDep) -> list[SessionRead]:
    """Your active sessions (signed-in devices and browsers)."""
    return [
        SessionRead(
            id=item.id,
            kind=item.kind,
            user_agent=item.user_agent,
            ip=str(item.ip) if item.ip is not None else None,
            created_at=item.created_at,
            last_used_at=item.last_used_at,
            expires_at=item.expires_at,
            is_current=item.id == current.session_id,
        )
        for item in await service.list_sessions(session, current.user.id)
    ]


@me_router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_session(
    session_id: uuid.UUID, current: CurrentUser, session: SessionDep, cache: CacheDep
) -> None:
    """Sign out one of your sessions."""
    await service.revoke_own_session(session, cache, current.user.id, session_id)


__all__ = ["CurrentPrincipal", "auth_router", "me_router"]
