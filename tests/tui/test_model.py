"""The table model: filtered, sorted rows kept right by cursor deltas (an oracle checks it)."""

from __future__ import annotations

import random

import pytest

from khronoscope.core.types import ObjectKey
from khronoscope.printers import Row, columns_for, row_for
from khronoscope.temporal import Cursor
from khronoscope.tui.filters import FilterError, parse_filter
from khronoscope.tui.tablemodel import NAME, NAMESPACE, TableModel
from tests import testing


def expected_order(model: TableModel) -> list[ObjectKey]:
    """What the model must show: filter, then sort, computed naively."""
    flt = model.filter
    keys = [k for k, r in model.rows.items() if not flt.active or flt.matches(k, r)]
    col = model.sort_column
    if col == NAME:
        keys.sort(key=lambda k: (k.name, k.namespace))
    elif col == NAMESPACE:
        keys.sort(key=lambda k: (k.namespace, k.name))
    else:
        from khronoscope.printers import sort_value

        kind = model.columns.columns[col].kind
        keys.sort(key=lambda k: (sort_value(kind, model.rows[k].cells[col]), k.namespace, k.name))
    if model.descending:
        keys.reverse()
    return keys


def shown(model: TableModel) -> list[ObjectKey]:
    return model.keys_in(0, len(model))


@pytest.mark.parametrize("seed", range(6))
def test_model_follows_a_moving_cursor_like_a_fresh_sort(seed):
    rng = random.Random(seed)
    src = testing.scale_source(300, live=True)
    churn = testing.Churn(src, 300, seed=seed)
    for b in range(40):
        for _ in churn.step(testing.T0 + (b + 1) * 10**9, rng.randrange(1, 40)):
            pass
    cursor = Cursor(src.tmap, "pods")
    cursor.seek(testing.T0)
    cols = columns_for("pods")
    model = TableModel("pods", cols, True)
    model.reset(cursor.rows)
    sorts = [NAME, NAMESPACE, cols.index("STATUS"), cols.index("RESTARTS"), cols.index("AGE")]
    filters = ["", "svc-00", "!svc-0", "-l tier=web", "!-l tier in (api,worker)"]
    for _ in range(30):
        t = testing.T0 + rng.randrange(0, 41 * 10**9)
        delta = cursor.seek(t)
        if delta.rebuilt:
            model.reset(cursor.rows)
        else:
            model.apply(cursor.rows, delta.added, delta.modified, delta.removed)
        if rng.random() < 0.3:
            model.set_sort(rng.choice(sorts), rng.random() < 0.5)
        if rng.random() < 0.3:
            model.set_filter(parse_filter(rng.choice(filters)))
        assert model.rows == dict(src.tmap.rows_at(t, "pods"))
        order = expected_order(model)
        assert shown(model) == order
        for i, key in enumerate(order[:50]):
            assert model.index_of(key) == i
            assert model.key_at(i) == key


def test_widths_fit_every_cell_and_never_shrink_while_live():
    cols = columns_for("pods")
    model = TableModel("pods", cols, True)
    a = ObjectKey("pods", "ns", "a")
    long = ObjectKey("pods", "a-much-longer-namespace", "b-with-a-longer-name")
    model.reset({a: row_for("pods", testing.pod("a", "ns", testing.T0))})
    model.apply(
        {long: row_for("pods", testing.pod("b", "ns", testing.T0, node_name="n" * 30))},
        [long],
        [],
        [],
    )
    assert model.ns_width == len(long.namespace)
    assert model.name_width == len(long.name)
    # cells are measured when their rows are first computed: before they are drawn
    assert model.prepare(0, len(model))
    assert model.widths[cols.index("NODE")] == 30
    model.apply({}, [], [], [long])
    assert model.widths[cols.index("NODE")] == 30  # no jitter when a row goes


def test_rows_in_another_layout_are_resolved_or_dropped():
    cols = columns_for("pods")
    good = ObjectKey("pods", "ns", "good")
    odd = ObjectKey("pods", "ns", "odd")
    resolved = Row(("1/1", "Running", (0, None), None, "n", "ip", "<none>"), (), "pods")
    model = TableModel("pods", cols, False, resolve=lambda k, v: resolved if v is True else None)
    model.reset({good: True, odd: "junk"})
    assert model.rows[good] is resolved
    assert model.row(odd) is None  # drawn with empty cells while the order reads no row
    # a sort by a column reads every row: one that cannot be resolved is left out
    model.set_sort(cols.index("STATUS"), False)
    assert shown(model) == [good]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[unclosed", "bad regex"),
        ("-l app=", None),
        ("-l", "-l needs"),
        ("-l app in (a", "bad label selector"),
        ("!", "needs something to invert"),
        ("web -l =x", "bad label selector"),
    ],
)
def test_filter_errors_are_one_line(text, message):
    if message is None:
        assert parse_filter(text).selector is not None
        return
    with pytest.raises(FilterError, match=message):
        parse_filter(text)
