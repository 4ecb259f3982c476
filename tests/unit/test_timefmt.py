"""Times users type and read: parsing (absolute, clock, relative) and kubectl-style ages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from khronoscope.core.timefmt import (
    NS,
    TimeParseError,
    format_age,
    format_iso,
    format_offset,
    parse_k8s_time,
    parse_time,
)

NOW = int(datetime(2026, 11, 23, 15, 0, 0, tzinfo=UTC).timestamp()) * NS
CET = timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-15m", NOW - 15 * 60 * NS),
        ("-2h30m", NOW - 9000 * NS),
        ("+30s", NOW + 30 * NS),
        ("-1d", NOW - 86400 * NS),
        ("-500ms", NOW - NS // 2),
        ("now", NOW),
        ("2026-11-23T14:32:05Z", NOW - (27 * 60 + 55) * NS),
        ("2026-11-23T14:32:05.25Z", NOW - (27 * 60 + 55) * NS + NS // 4),
        ("2026-11-23T15:32:05+01:00", NOW - (27 * 60 + 55) * NS),
        ("2026-11-23 15:32:05", NOW - (27 * 60 + 55) * NS),  # naive: in the given zone (CET)
        ("15:32", NOW - 28 * 60 * NS),  # clock time of today in CET
        ("15:32:05", NOW - (27 * 60 + 55) * NS),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text, now=NOW, tz=CET) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "25:00", "12:61", "-15x", "2026-13-01", "--5m"])
def test_bad_times_raise_one_clear_error(text):
    with pytest.raises(TimeParseError) as err:
        parse_time(text, now=NOW, tz=CET)
    assert "\n" not in str(err.value)


def test_nanoseconds_survive_iso_round_trip():
    t = NOW + 123456789
    assert parse_time(format_iso(t), now=NOW) == t
    assert parse_k8s_time("2026-11-23T15:00:00Z") == NOW


@pytest.mark.parametrize(
    ("seconds", "age"),
    [
        (0, "0s"),
        (59, "59s"),
        (119, "119s"),
        (120, "2m"),
        (185, "3m5s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600 + 20 * 60, "3h20m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (3 * 86400 + 5 * 3600, "3d5h"),
        (30 * 86400, "30d"),
        (3 * 365 * 86400 + 2 * 86400, "3y2d"),
    ],
)
def test_format_age_matches_kubectl(seconds, age):
    assert format_age(seconds * NS) == age


def test_format_offset():
    assert format_offset(-(15 * 60 + 3) * NS) == "-15m03s"
    assert format_offset(2 * 3600 * NS + 30 * 60 * NS) == "+2h30m"


@pytest.mark.parametrize(
    "text",
    [
        "-99999999999999999999w",
        "+99999999999999999999w",
        "-" + "9" * 400 + "s",
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00+01:00",
        "1500-01-01",
    ],
)
def test_times_that_overflow_are_one_clear_error(text):
    """Moments are int64 nanoseconds: anything outside (a typo) is refused, never an
    OverflowError later when it is stored or printed."""
    with pytest.raises(TimeParseError) as err:
        parse_time(text, now=NOW)
    message = str(err.value)
    assert "\n" not in message and len(message) < 200
    assert "too long" in message or "out of range" in message


def test_the_range_edges_are_moments_that_print():
    from khronoscope.core.timefmt import MAX_T, MIN_T

    assert parse_time("2262-04-11T00:00:00Z") < MAX_T
    assert parse_time("1678-01-01T00:00:00Z") > MIN_T
    assert format_iso(MAX_T).startswith("2262-04-11") and format_iso(MIN_T).startswith("1677")


@pytest.mark.parametrize(
    ("text", "ns"),
    [("7d", 7 * 86400 * NS), ("1h30m", 5400 * NS), ("500ms", NS // 2), ("0.5s", NS // 2)],
)
def test_parse_duration(text, ns):
    from khronoscope.core.timefmt import parse_duration

    assert parse_duration(text) == ns


@pytest.mark.parametrize(
    "text", ["", "0s", "-1h", "nan", "inf", "1e3s", "99999999999999999999w", "36501d"]
)
def test_bad_durations_are_one_clear_error(text):
    from khronoscope.core.timefmt import parse_duration

    with pytest.raises(TimeParseError) as err:
        parse_duration(text)
    assert "\n" not in str(err.value)
