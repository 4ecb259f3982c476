"""Times in and out: parsing what users type, printing ages and moments.

Inside khronoscope a time is an int of nanoseconds since the epoch (UTC).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal

NS = 1_000_000_000
_UNITS_NS = {
    "ms": 1_000_000,
    "s": NS,
    "m": 60 * NS,
    "h": 3600 * NS,
    "d": 86400 * NS,
    "w": 7 * 86400 * NS,
}
_RELATIVE = re.compile(r"^([+-])\s*((?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+)$")
_REL_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$")
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$")

# Moments are int64 nanoseconds in recordings and indexes: 1677-09-21 .. 2262-04-11. A time typed
# outside that is a typo (`-99999999999999999999w`), refused before anything stores or prints it.
MIN_T = -(2**63) + 1
MAX_T = 2**63 - 1
MAX_DURATION = 36500 * 86400 * NS
"""The longest duration a user may type (100 years): longer ones are typos."""


class TimeParseError(ValueError):
    """A time the user typed that khronoscope cannot read; the message says what is accepted."""


def now_ns() -> int:
    """The current time in ns since the epoch."""
    import time

    return time.time_ns()


def parse_time(text: str, now: int | None = None, tz: tzinfo | None = None) -> int:
    """Read a moment: ISO 8601, a clock time of today (`14:32`), relative (`-15m`), or `now`.

    Naive ISO times and clock times are in `tz` (default: the machine's local zone).
    """
    now = now_ns() if now is None else now
    s = text.strip()
    if not s:
        raise TimeParseError("empty time: use ISO 8601, a clock time like 14:32, or -15m")
    if s.lower() in ("now", "live"):
        return now
    rel = _RELATIVE.match(s.replace(" ", ""))
    if rel:
        total = _duration_ns(rel.group(2), text)
        return _in_range(now + total if rel.group(1) == "+" else now - total, text)
    zone = tz or _local_zone()
    clock = _CLOCK.match(s)
    if clock:
        hh, mm, ss, frac = clock.groups()
        h, m, sec = int(hh), int(mm), int(ss or 0)
        if h > 23 or m > 59 or sec > 59:
            raise TimeParseError(
                f"bad clock time {_shown(text)}: hours 0-23, minutes and seconds 0-59"
            )
        today = datetime.fromtimestamp(now / NS, zone)
        moment = today.replace(hour=h, minute=m, second=sec, microsecond=0)
        extra = int((frac or "0").ljust(9, "0")) if frac else 0
        return _in_range(_to_ns(moment) + extra, text)
    iso = s.replace(" ", "T", 1) if re.match(r"^\d{4}-\d{2}-\d{2} \d", s) else s
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise TimeParseError(
            f"cannot read time {_shown(text)}: use ISO 8601 (2026-11-23T14:32:05Z), "
            "a clock time of today (14:32, 14:32:05) or relative (-15m, -2h30m, +30s)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    try:
        t = _to_ns(moment) + _sub_micro_ns(iso)
    except OverflowError:  # a naive year-1 time in a zone east of UTC
        t = MIN_T - 1
    return _in_range(t, text)


def parse_duration(text: str) -> int:
    """A positive duration: `7d`, `12h`, `1h30m`, `90s`, `500ms` as ns (up to MAX_DURATION).

    Raises TimeParseError (one line) for anything else, 0, or a duration too long to be meant.
    """
    s = text.strip().lower().replace(" ", "")
    if not _DURATION.match(s):
        raise TimeParseError(f"{_shown(text)}: use a duration like 7d, 12h, 1h30m, 90s or 500ms")
    total = _duration_ns(s, text)
    if total <= 0:
        raise TimeParseError(f"{_shown(text)}: the duration must be longer than 0")
    return total


def _duration_ns(units: str, text: str) -> int:
    # exact decimal arithmetic: float("9" * 400) is inf, and round(inf) raises OverflowError
    total = Decimal(0)
    for amount, unit in _REL_PART.findall(units):
        total += Decimal(amount) * _UNITS_NS[unit]
        if total > MAX_DURATION:
            raise TimeParseError(
                f"{_shown(text)} is too long a duration: at most {MAX_DURATION // (86400 * NS)}d"
            )
    return int(total.to_integral_value())


def _in_range(t: int, text: str) -> int:
    if not MIN_T <= t <= MAX_T:
        raise TimeParseError(
            f"{_shown(text)} is out of range: khronoscope reads years 1678 to 2261"
        )
    return t


def _shown(text: str) -> str:
    # the user's text in a one-line message, cut when a typo made it huge
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _sub_micro_ns(iso: str) -> int:
    # datetime keeps microseconds only; keep the nanoseconds a user typed (9 fraction digits).
    m = re.search(r"\.(\d{7,9})", iso)
    return int(m.group(1).ljust(9, "0")[6:9]) if m else 0


def _to_ns(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * NS + delta.microseconds * 1000


def _local_zone() -> tzinfo:
    tz = datetime.now().astimezone().tzinfo
    assert tz is not None
    return tz


def parse_k8s_time(value: str | None) -> int | None:
    """Read an RFC 3339 timestamp as the API server writes it; None when absent or unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _to_ns(moment) + _sub_micro_ns(value)


def to_datetime(t: int, tz: tzinfo | None = None) -> datetime:
    """A ns time as an aware datetime in `tz` (default UTC)."""
    base = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=t // 1000)
    return base.astimezone(tz) if tz else base


def format_iso(t: int) -> str:
    """ISO 8601 in UTC with the nanoseconds that are not zero (`2026-11-23T14:32:05.5Z`)."""
    base = to_datetime(t).strftime("%Y-%m-%dT%H:%M:%S")
    frac = t % NS
    return f"{base}.{frac:09d}".rstrip("0") + "Z" if frac else base + "Z"


def format_k8s_time(t: int) -> str:
    """RFC 3339 with seconds, as the API server writes object timestamps."""
    return to_datetime(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_clock(t: int, tz: tzinfo | None = None, millis: bool = False) -> str:
    """A moment as the user reads it on screen: `2026-11-23 14:32:05` in local time (or `tz`)."""
    moment = to_datetime(t, tz or _local_zone())
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{(t % NS) // 1_000_000:03d}" if millis else text


def format_age(d: int) -> str:
    """A duration in ns the way kubectl prints AGE (HumanDuration: `45s`, `5m3s`, `3h20m`, `4d`)."""
    seconds = d // NS
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if dy == 0 else f"{years}y{dy}d"
    return f"{hours // 24 // 365}y"


def format_offset(d: int) -> str:
    """A signed offset from now, compact: `-15m03s`, `-2h30m`, `+0s`."""
    sign = "-" if d < 0 else "+"
    s = abs(d) // NS
    days, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    if days:
        return f"{sign}{days}d{h:02d}h"
    if h:
        return f"{sign}{h}h{m:02d}m"
    if m:
        return f"{sign}{m}m{sec:02d}s"
    return f"{sign}{sec}s"
