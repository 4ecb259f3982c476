"""`record --listen ADDR:PORT` and `record -o URL`: the parts of `record` for running in a
cluster (health, metrics, object storage), kept out of record.py so it stays small."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from khronoscope.storage.url import parse_store_url

if TYPE_CHECKING:  # imported when --listen is used: every command's start-up pays nothing
    from khronoscope.observe.http import HealthServer, ListenAddress
    from khronoscope.observe.metrics import RecorderMetrics


def add_listen_argument(parser: argparse.ArgumentParser) -> None:
    """`--listen ADDR:PORT`."""
    parser.add_argument(
        "--listen",
        metavar="ADDR:PORT",
        help="serve /healthz, /readyz and /metrics (Prometheus) here, e.g. 0.0.0.0:8080",
    )


def listen_address(args: argparse.Namespace) -> ListenAddress | None:
    """The parsed --listen (a UsageError before anything connects), or None."""
    text = args.listen
    if text is None:
        return None  # `--listen ""` is a typo: parse_listen refuses it in one line
    from khronoscope.observe.http import parse_listen

    return parse_listen(text)


def output_path(text: str) -> Path | str:
    """Where `-o` records: a local path (a path or file:///PATH), or the normalised URL of an
    object-storage prefix (s3://BUCKET/PREFIX); checked without any I/O."""
    where = parse_store_url(text)
    if where.remote:
        return where.url
    assert where.path is not None
    return where.path.expanduser()


async def start_serving(
    where: ListenAddress, session: Any, writer: Any
) -> tuple[HealthServer, RecorderMetrics]:
    """Metrics filled from the session and writer, and the server answering for them."""
    from khronoscope.observe.http import HealthServer
    from khronoscope.observe.metrics import RecorderMetrics

    metrics = RecorderMetrics()
    metrics.attach_source(session)
    metrics.attach_recording_size(lambda: writer.stats.bytes)

    def healthy() -> tuple[bool, str]:
        if writer.failed is not None:
            return False, f"recording stopped: {writer.failed}"
        return True, ""

    def ready() -> tuple[bool, str]:
        ok, reason = healthy()
        if not ok:
            return ok, reason
        if not session.synced:
            waiting = sorted(
                name for name, st in session.type_status().items() if st.state.value == "syncing"
            )
            shown = ", ".join(waiting[:5]) + (" ..." if len(waiting) > 5 else "")
            return False, f"syncing: {len(waiting)} types not listed yet ({shown})"
        return True, ""

    server = HealthServer(metrics, healthy, ready)
    await server.start(where)
    return server, metrics
