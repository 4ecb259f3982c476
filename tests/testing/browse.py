"""Developer entry: the app over the synthetic scenarios (no cluster, no recording), from the
repository's root. Users try khronoscope with `khronoscope demo` (a simulated cluster) instead.

python -m tests.testing.browse                  # the incident scenario, paused at its end
python -m tests.testing.browse --at 2026-03-14T09:01:00Z
python -m tests.testing.browse --scale 10000 --churn 200   # 10,000 pods, live churn
"""

from __future__ import annotations

import argparse
import sys

from khronoscope.core.safetext import safe_line
from khronoscope.core.timefmt import format_iso, now_ns
from khronoscope.errors import KhronoscopeError
from khronoscope.tui.run import add_browser_arguments, build_settings


def main(argv: list[str] | None = None) -> int:
    """Parse, build the synthetic source, run the app."""
    parser = argparse.ArgumentParser(prog="python -m tests.testing.browse", description=__doc__)
    add_browser_arguments(parser)
    parser.add_argument("-n", "--namespace", default=None, help="namespace shown first")
    parser.add_argument("--scale", type=int, default=0, help="N pods instead of the incident")
    parser.add_argument("--churn", type=int, default=100, help="changes/s with --scale (live)")
    args = parser.parse_args(argv)

    from khronoscope.tui.app import create_app
    from tests import testing

    try:
        if args.scale:
            source = testing.scale_source(args.scale, live=True)
            at = args.at
        else:
            source = testing.incident_source()
            at = args.at or format_iso(testing.END)
        settings = build_settings(
            command=args.view_type or "pods",
            namespace=args.namespace,
            keymap=args.keymap,
            utc=args.utc,
            at=at,
        )
    except KhronoscopeError as err:
        print(f"khronoscope: {safe_line(str(err))}", file=sys.stderr)
        return err.exit_code
    app = create_app(source, settings)
    if args.scale:
        churn = testing.Churn(source, args.scale)
        rate = max(args.churn, 1)

        def tick() -> None:
            for _ in churn.step(now_ns(), max(rate // 10, 1)):
                pass

        app.startup_hooks.append(lambda a: a.set_interval(0.1, tick))
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
