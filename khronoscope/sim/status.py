"""API errors as kube-apiserver reports them: a `Status` object with code, reason and message."""

from __future__ import annotations

from typing import Any

import orjson


class ApiError(Exception):
    """An error the API answers with a Status object (`code`, `reason`, `message`)."""

    def __init__(
        self, code: int, reason: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        """The Status object of this error."""
        return failure_status(self.code, self.reason, self.message, self.details)

    def body(self) -> bytes:
        """The Status object as JSON bytes."""
        return orjson.dumps(self.status())


def failure_status(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A Failure Status object as kube-apiserver writes it."""
    out: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details:
        out["details"] = details
    out["code"] = code
    return out


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    """404 for one missing object (`pods "x" not found`)."""
    what = f"{resource}.{group}" if group else resource
    return ApiError(
        404,
        "NotFound",
        f'{what} "{name}" not found',
        {"name": name, "group": group, "kind": resource}
        if group
        else {"name": name, "kind": resource},
    )


def already_exists(resource: str, name: str, group: str = "") -> ApiError:
    """409 for a create of an existing name."""
    what = f"{resource}.{group}" if group else resource
    details = {"name": name, "kind": resource}
    if group:
        details["group"] = group
    return ApiError(409, "AlreadyExists", f'{what} "{name}" already exists', details)


def conflict(resource: str, name: str, group: str = "") -> ApiError:
    """409 for a write with a stale resourceVersion."""
    what = f"{resource}.{group}" if group else resource
    details = {"name": name, "kind": resource}
    if group:
        details["group"] = group
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {what} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        details,
    )


def bad_request(message: str) -> ApiError:
    """400 BadRequest."""
    return ApiError(400, "BadRequest", message)


def expired(message: str) -> ApiError:
    """410 Expired (a resourceVersion or continue token older than the retained window)."""
    return ApiError(410, "Expired", message)


def invalid(resource: str, name: str, message: str, group: str = "") -> ApiError:
    """422 Invalid."""
    what = f"{resource}.{group}" if group else resource
    return ApiError(
        422, "Invalid", f'{what} "{name}" is invalid: {message}', {"name": name, "kind": resource}
    )


def success_status(name: str, kind: str, uid: str, group: str = "") -> dict[str, Any]:
    """The Success Status a DELETE answers for most types."""
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    details["uid"] = uid
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }
