"""Who is acting, and from where: what every audited action and every permission check needs.

The HTTP edge builds an :class:`Actor` from the access token and the request (client address,
request id, device id header); jobs and CLI commands use :func:`system_actor`. Services take
it as an argument; they never read it from a global.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated party (``user_id`` None for anonymous requests such as registration)
    and where the request came from."""

    user_id: str | None
    roles: tuple[str, ...] = ()
    permissions: frozenset[str] = field(default_factory=frozenset)
    client_address: str | None = None
    request_id: str | None = None
    device_id: str | None = None
    session_id: str | None = None  # the sign-in (refresh-token family) the token belongs to

    @property
    def role(self) -> str | None:
        """The primary role, as recorded in the audit trail (the first granted)."""
        return self.roles[0] if self.roles else None

    def may(self, permission: str) -> bool:
        return permission in self.permissions


def system_actor(name: str = "system", *, request_id: str | None = None) -> Actor:
    """The platform itself (close of business, CLI commands, jobs)."""
    return Actor(user_id=f"system:{name}", roles=("system",), request_id=request_id)


ANONYMOUS = Actor(user_id=None)
