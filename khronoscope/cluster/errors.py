"""What can go wrong talking to an API server, sorted by what a watcher should do about it."""

from __future__ import annotations

from typing import Any

from khronoscope.cluster.scrub import scrub


class TransportError(Exception):
    """The server could not be reached or the connection broke: retry with backoff."""


class ReadTimeout(TransportError):
    """No byte arrived for longer than the read timeout (a half-open or stalled connection)."""


class ApiError(Exception):
    """The server answered with an error status (HTTP, or an ERROR event in a watch)."""

    def __init__(
        self, status: int, reason: str = "", message: str = "", retry_after: float | None = None
    ) -> None:
        self.status = status
        # both come from the server (or a proxy in front of it): never a credential, one line
        self.reason = scrub(reason, limit=60)
        self.message = scrub(message)
        # seconds the server asked us to wait (Retry-After header or Status retryAfterSeconds):
        # a throttling API server (429, or 503 during a restart) is overloaded, so hammering it
        # with our own shorter backoff would make things worse for everyone
        self.retry_after = retry_after
        super().__init__(self.summary)

    @property
    def summary(self) -> str:
        """One line: `403 Forbidden: pods is forbidden: User ... cannot list ...`."""
        head = f"{self.status} {self.reason}".strip()
        return f"{head}: {self.message}" if self.message else head

    @classmethod
    def from_status(cls, status: dict[str, Any], http_status: int = 0) -> ApiError:
        """From a Kubernetes `Status` object (the body of an error or a watch ERROR event)."""
        code = status.get("code") or http_status or 500
        details = status.get("details")
        retry = details.get("retryAfterSeconds") if isinstance(details, dict) else None
        return cls(
            int(code),
            str(status.get("reason") or ""),
            str(status.get("message") or ""),
            float(retry) if isinstance(retry, int | float) and retry > 0 else None,
        )

    @property
    def gone(self) -> bool:
        """410: the resourceVersion is too old; relist."""
        return self.status == 410

    @property
    def unauthorized(self) -> bool:
        """401: credentials expired or revoked."""
        return self.status == 401

    @property
    def forbidden(self) -> bool:
        """403: RBAC does not allow it."""
        return self.status == 403

    @property
    def not_found(self) -> bool:
        """404: the type (or its API group) is no longer served."""
        return self.status == 404
