"""The main screen: one resource type's table at the playback cursor's t, k9s-style.

Rows come from a `temporal.Cursor` (cost proportional to the changes crossed); a timer at a
few Hz coalesces live changes into one model update and one repaint, however many events
arrived in between.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer

from khronoscope.core.types import ObjectKey, ResourceType
from khronoscope.printers import CRD_TYPE, ColumnSet, Row, columns_for, row_with
from khronoscope.printers.selector import parse_selector, selector_from_spec
from khronoscope.temporal import Cursor
from khronoscope.tui.aliases import Aliases
from khronoscope.tui.commands import CommandError, Invocation, complete
from khronoscope.tui.context import ScreenContext
from khronoscope.tui.filters import Filter, FilterError, parse_filter
from khronoscope.tui.keymap import DEFAULT_KEYMAP
from khronoscope.tui.tablemodel import NAME, NAMESPACE, TableModel
from khronoscope.tui.timecontrol import InView
from khronoscope.tui.travel import StepScope
from khronoscope.tui.trouble import TroubleScope
from khronoscope.tui.usage import TableTelemetry
from khronoscope.tui.widgets.commandline import CommandLine, PromptInput
from khronoscope.tui.widgets.header import HeaderBar
from khronoscope.tui.widgets.table import ResourceTable
from khronoscope.tui.widgets.timeline import Timeline

if TYPE_CHECKING:
    from textual.timer import Timer

TYPED_FILTER_DELAY_S = 0.08
"""How long typing pauses before the `/` filter is applied to the table as typed."""

# workloads whose Enter shows their pods (by their selector), as in k9s
_SELECTOR_OWNERS = frozenset(
    {
        "deployments.apps",
        "replicasets.apps",
        "statefulsets.apps",
        "daemonsets.apps",
        "jobs.batch",
        "services",
    }
)


KEPT_VIEWS = 2
"""How many views left are kept (cursor and model) to be shown again by moving them to t."""


@dataclass
class _KeptView:
    """A view left: its cursor and model as they were, at the cursor's t."""

    cursor: Cursor
    model: TableModel


@dataclass
class ViewState:
    """What the browser shows: a type, a namespace (None: all), a filter, a selection."""

    type_name: str
    namespace: str | None
    filter: Filter
    selected: ObjectKey | None = None


class BrowserScreen(Screen[None]):
    """Header, the resource table, the command line and the footer."""

    KEYMAP_CONTEXT: ClassVar[str] = "browser"
    BINDINGS: ClassVar[list[BindingType]] = DEFAULT_KEYMAP.bindings("browser")  # type: ignore[assignment]

    DEFAULT_CSS = """
    BrowserScreen { layout: vertical; }
    """

    def __init__(self, ctx: ScreenContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.view = ViewState("pods", None, Filter())
        self.history: list[ViewState] = []
        self.cursor: Cursor | None = None
        self.model: TableModel | None = None
        self.favourites: list[str] = []
        self.last_seek_ms = 0.0
        self._seen_changes = -1
        self._seen_playback = -1
        self._crd_version: int | None = None
        self._status_text = ""
        self._aliases: Aliases | None = None
        self._alias_types = -1
        self._last_error = ""
        self._frozen = False
        self._filter_before: Filter | None = None
        self._said_read_only = False
        self._typed_filter: Timer | None = None
        # the views left most recently (type, namespace): their cursor and model, moved to t
        # when shown again
        self._scope: tuple[str, str | None] | None = None
        self._kept: dict[tuple[str, str | None], _KeptView] = {}

    def compose(self) -> ComposeResult:
        """Header, table, timeline, command line, footer."""
        yield HeaderBar(id="header")
        yield ResourceTable(id="table")
        yield Timeline(self.ctx.time, id="timeline")
        yield CommandLine(self._complete, id="command")
        yield Footer()

    def on_mount(self) -> None:
        """Open the first view and start the refresh timer."""
        settings = self.ctx.settings
        self.favourites = list(settings.favourites)
        self._seed_favourites()
        table = self.query_one(ResourceTable)
        table.wide = settings.wide
        ns = settings.namespace
        if ns:
            self._remember_namespace(ns)
        type_name = self.aliases().resolve(settings.type_name)
        if type_name is None:
            self.notify(
                f"unknown resource type {settings.type_name!r}: showing pods", severity="error"
            )
            type_name = "pods"
        self.open_view(type_name, ns, Filter(), push=False)
        if settings.gc_freeze:
            gc.collect()
            gc.freeze()
            self._frozen = True
        self.ctx.playback.listeners.append(self._playback_moved)
        self.set_interval(1 / max(settings.refresh_hz, 0.5), self.tick)
        table.focus()

    def _seed_favourites(self) -> None:
        """k9s-like favourites, seeded with the namespaces that have pods (once some are
        known: a live session may still be listing when the app starts)."""
        if len(self.favourites) >= 9:
            return
        tmap = self.ctx.source.tmap
        with_pods = [ns for ns in tmap.namespaces("pods") if ns]
        for ns in with_pods or [ns for ns in tmap.namespaces() if ns]:
            if ns not in self.favourites and len(self.favourites) < 9:
                self.favourites.append(ns)

    def on_unmount(self) -> None:
        """Stop listening to the playback cursor; undo the GC freeze."""
        listeners = self.ctx.playback.listeners
        if self._playback_moved in listeners:
            listeners.remove(self._playback_moved)
        if self._frozen:
            gc.unfreeze()  # leave the process as it was (tests run many apps in one process)
            self._frozen = False

    # --- views -------------------------------------------------------------------------------

    def resource_type(self, type_name: str) -> ResourceType | None:
        """Discovery's description of a type (None for a type only the store knows)."""
        return self.ctx.source.resource_types().get(type_name)

    def _namespaced(self, type_name: str) -> bool:
        rt = self.resource_type(type_name)
        if rt is not None:
            return rt.namespaced
        return any(self.ctx.source.tmap.namespaces(type_name))

    def _columns(self, type_name: str, t: int) -> ColumnSet:
        rt = self.resource_type(type_name)
        crd = None
        if type_name != CRD_TYPE and "." in type_name:
            crd_key = ObjectKey(CRD_TYPE, "", type_name)
            crd = self.ctx.source.tmap.get(crd_key, t)
            self._crd_version = self.ctx.source.tmap.previous_change(t + 1, key=crd_key)
        else:
            self._crd_version = None
        return columns_for(type_name, rt, crd)

    def open_view(
        self,
        type_name: str,
        namespace: str | None,
        flt: Filter,
        push: bool = True,
        select: ObjectKey | None = None,
    ) -> None:
        """Show `type_name` in `namespace` (None: all) with `flt`; `push` keeps the current view
        for Esc."""
        table = self.query_one(ResourceTable)
        if push and self.model is not None:
            self.view.selected = table.selected
            self.history.append(self.view)
            del self.history[:-20]
        self.view = ViewState(type_name, namespace, flt, select)
        self._rebuild(select)

    def _rebuild(self, select: ObjectKey | None = None) -> None:
        tmap = self.ctx.source.tmap
        t = self.ctx.playback.t
        view = self.view
        namespaced = self._namespaced(view.type_name)
        ns = view.namespace if namespaced else None
        started = time.perf_counter()
        scope = (view.type_name, ns)
        if self.cursor is not None and self.model is not None and self._scope != scope:
            # keep the view left: going back to it costs the changes since, not 50k rows
            self._kept[self._scope] = _KeptView(self.cursor, self.model)
            while len(self._kept) > KEPT_VIEWS:
                del self._kept[next(iter(self._kept))]
        kept = self._kept.pop(scope, None)
        self._scope = scope
        columns = self._columns(view.type_name, t)
        last_seen = columns.index("LAST SEEN")
        show_namespace = namespaced and ns is None
        # events: the newest first (youngest LAST SEEN), what an incident needs to see
        order = last_seen if last_seen >= 0 else NAMESPACE if show_namespace else NAME
        if (
            kept is not None
            and kept.cursor.tmap is tmap
            and kept.model.columns == columns
            and kept.model.show_namespace == show_namespace
            and kept.model.default_order(order)
        ):
            self.cursor, model = kept.cursor, kept.model
            delta = self.cursor.seek(t)
            if delta:
                model.apply(self.cursor.rows, delta.added, delta.modified, delta.removed)
            model.reopen(view.filter)
        else:
            self.cursor = Cursor(tmap, view.type_name, ns)
            self.cursor.open_at(t)
            model = TableModel(view.type_name, columns, show_namespace, self._resolve)
            model.filter = view.filter
            model.sort_column = order
            model.reset(self.cursor.rows)
        self.model = model
        self._seen_changes = tmap.change_count
        self._seen_playback = self.ctx.playback.version
        table = self.query_one(ResourceTable)
        table.telemetry = TableTelemetry(self.ctx.source, view.type_name)
        table.set_model(model, t, keep=select)
        self.last_seek_ms = (time.perf_counter() - started) * 1000
        self._update_message()
        self.update_header()
        self.query_one(Timeline).refresh()  # its scope (and label, marks) is the view's

    def _resolve(self, key: ObjectKey, stored: Any) -> Row | None:
        """A row stored in another layout (a CRD's columns changed, a store without rows):
        recompute it from the object at the cursor's t."""
        if self.cursor is None or self.model is None:
            return None
        obj = self.ctx.source.tmap.get(key, self.cursor.t or 0)
        return row_with(self.model.columns, obj) if obj is not None else None

    # --- time --------------------------------------------------------------------------------

    def _playback_moved(self) -> None:
        # seeking is cheap but a scrub may move many times per frame: refresh once, next frame
        self.call_after_refresh(self.tick)

    def tick(self) -> None:
        """Bring the view to the playback cursor's t (coalesces every change since the last).

        Runs on a timer for as long as the app lives: an unexpected error is reported once on
        screen rather than taking the whole app (and the user's place in time) down.
        """
        try:
            self._tick()
        except Exception as err:  # a bug here must not end an incident investigation
            text = f"{type(err).__name__}: {err}"
            self.log.error("view update failed", text)
            if text != self._last_error:
                self._last_error = text
                self.notify(f"internal error updating the view: {text}", severity="error")

    def _tick(self) -> None:
        if self.cursor is None or self.model is None:
            return
        playback = self.ctx.playback
        tmap = self.ctx.source.tmap
        if (
            not playback.live
            and tmap.change_count == self._seen_changes
            and playback.version == self._seen_playback
        ):
            self.update_header()
            return
        t = playback.t
        if len(self.favourites) < 9:
            self._seed_favourites()  # namespaces arriving while a session syncs
        self._seen_changes = tmap.change_count
        self._seen_playback = playback.version
        if self._crd_changed(t):
            self._rebuild(self.query_one(ResourceTable).wanted)
            return
        started = time.perf_counter()
        delta = self.cursor.seek(t)
        model = self.model
        if delta:
            # a rebuilt cursor still says what changed: rows that kept their place stay put
            model.apply(self.cursor.rows, delta.added, delta.modified, delta.removed)
        table = self.query_one(ResourceTable)
        table.rows_changed(t)
        self.last_seek_ms = (time.perf_counter() - started) * 1000
        self._update_message()
        self.update_header()

    def _crd_changed(self, t: int) -> bool:
        if self._crd_version is None and "." not in self.view.type_name:
            return False
        crd_key = ObjectKey(CRD_TYPE, "", self.view.type_name)
        return self.ctx.source.tmap.previous_change(t + 1, key=crd_key) != self._crd_version

    def in_view(self) -> InView:
        """What the time keys act on: the type, namespace and filter shown; the selected row."""
        view = self.view
        ns = view.namespace if self._namespaced(view.type_name) else None
        flt = self.model.filter if self.model is not None else view.filter
        match = flt.matches if flt.active else None
        label = view.type_name.split(".", 1)[0] + (f" in {ns}" if ns else "")
        if view.filter.active:
            label += f" /{view.filter.label}"
        return InView(
            StepScope(view.type_name, ns, None, match, view.filter.needs_row),
            TroubleScope.for_view(view.type_name, ns, match),
            label,
            self.query_one(ResourceTable).selected,
            about_object=False,
            select=self.select_changed,
        )

    def select_changed(self, key: ObjectKey) -> None:
        """After a step: select the row that changed (its `{` `}` then follow it)."""
        table = self.query_one(ResourceTable)
        self.tick()  # bring the table to t now, so the changed row is there to select
        model = table.model
        if model is not None and key in model.rows:
            table.select(key)

    # --- header and messages -----------------------------------------------------------------

    def _scope_label(self) -> str:
        if not self._namespaced(self.view.type_name):
            return "cluster"
        return self.view.namespace or "all"

    def update_header(self) -> None:
        """Redraw the header from the current state."""
        source = self.ctx.source
        model = self.model
        sort_label = ""
        if model is not None:
            if model.sort_name:
                name = model.sort_name
            elif model.sort_column == NAME:
                name = "NAME"
            elif model.sort_column == NAMESPACE:
                name = "NAMESPACE"
            else:
                name = model.columns.columns[model.sort_column].name
            sort_label = name + ("↓" if model.descending else "↑")
        self.query_one(HeaderBar).show(
            cluster=source.info.cluster,
            context=source.info.context,
            playback=self.ctx.playback,
            tz=self.ctx.settings.tz,
            view=self.view.type_name,
            scope=self._scope_label(),
            shown=len(model) if model is not None else 0,
            total=model.total if model is not None else 0,
            filter_label=self.view.filter.label,
            sort_label=sort_label,
            status=source.type_status(),
            favourites=self.favourites,
            namespaced=self._namespaced(self.view.type_name),
            source_label=self.ctx.settings.source_label,
        )

    def _update_message(self) -> None:
        table = self.query_one(ResourceTable)
        model = self.model
        status = self.ctx.source.type_status().get(self.view.type_name)
        text = ""
        if status is not None and status.state.value == "forbidden":
            text = f"{self.view.type_name}: forbidden — {status.error or 'no permission to list'}"
        elif model is not None and not len(model):
            if status is not None and status.state.value == "syncing":
                text = f"{self.view.type_name}: syncing…"
            elif status is not None and status.state.value == "retrying":
                text = f"{self.view.type_name}: watch retrying — {status.error}"
            elif model.total and self.view.filter.active:
                text = f"no {self.view.type_name} match the filter {self.view.filter.label!r}"
            else:
                where = f" in namespace {self.view.namespace}" if self.view.namespace else ""
                text = f"no {self.view.type_name}{where} at this time"
        table.set_message(text)

    # --- command line ------------------------------------------------------------------------

    def aliases(self) -> Aliases:
        """Type aliases from discovery and the store (rebuilt when types appear)."""
        source = self.ctx.source
        types = source.resource_types()
        stored = source.tmap.types()
        stamp = len(types) * 100003 + len(stored)
        if self._aliases is None or stamp != self._alias_types:
            self._aliases = Aliases(types.values(), stored, self.ctx.settings.aliases.entries)
            self._alias_types = stamp
        return self._aliases

    def _complete(self, text: str) -> str | None:
        namespaces = [ns for ns in self.ctx.source.tmap.namespaces() if ns]
        return complete(text, self.aliases(), namespaces)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the `:` or `/` line has focus the browser's keys are typed into it: the
        footer shows the line's keys only."""
        if isinstance(self.focused, PromptInput):
            return False
        return super().check_action(action, parameters)

    def open_prompt(self, mode: str) -> None:
        """Open the `:` command line or the `/` filter."""
        text = self.view.filter.text if mode == "/" else ""
        self._filter_before = self.view.filter
        self.query_one(CommandLine).open(mode, text)

    @on(CommandLine.Submitted)
    def _prompt_submitted(self, event: CommandLine.Submitted) -> None:
        if event.mode == "/":
            self._cancel_typed_filter()
            self.apply_filter(event.text)
        else:
            self.run_command(event.text)

    @on(CommandLine.Changed)
    def _prompt_changed(self, event: CommandLine.Changed) -> None:
        """`/`: the table filters as the text is typed (a pause of a few keys' time first, so
        a big table is not refiltered for every key of a word)."""
        if event.mode != "/":
            return
        self._cancel_typed_filter()
        self._typed_filter = self.set_timer(
            TYPED_FILTER_DELAY_S, lambda: self._apply_typed_filter(event.text)
        )

    def _cancel_typed_filter(self) -> None:
        if self._typed_filter is not None:
            self._typed_filter.stop()
            self._typed_filter = None

    def _apply_typed_filter(self, text: str) -> None:
        self._typed_filter = None
        if not self.query_one(CommandLine).is_open:
            return
        try:
            flt = parse_filter(text)
        except FilterError:
            return  # half a regex: keep what is shown until the text makes sense
        self._set_view_filter(flt)

    @on(CommandLine.Closed)
    def _prompt_closed(self, event: CommandLine.Closed) -> None:
        self._cancel_typed_filter()
        before = self._filter_before
        cancelled = event.cancelled and self.query_one(CommandLine).mode == "/"
        if cancelled and before is not None and before != self.view.filter:
            # Esc while typing a filter: the table as it was before
            self.view.filter = before
            self._set_model_filter(before)
        self.query_one(ResourceTable).focus()

    def run_command(self, text: str) -> None:
        """Run a `:` command (the app's one interpreter); errors become a message."""
        self.ctx.nav.run_command(text)

    def show_view(self, inv: Invocation) -> None:
        """`:TYPE [NS] [/FILTER] [-l SEL]`: open the view (Esc goes back to this one). A
        namespace never seen is said and not added to the favourites (a typo stays out)."""
        flt = Filter()
        if inv.filter_text:
            try:
                flt = parse_filter(inv.filter_text)
            except FilterError as err:
                raise CommandError(str(err)) from None
        namespace = self.view.namespace
        if inv.all_namespaces:
            namespace = None
        elif inv.namespace is not None:
            namespace = inv.namespace
            if namespace in self.ctx.source.tmap.namespaces():
                self._remember_namespace(namespace)
            else:
                self.notify(f"no namespace {namespace!r} seen so far", severity="warning")
        self.open_view(inv.type_name, namespace, flt)

    def apply_filter(self, text: str) -> None:
        """Filter the table; a bad regex or selector leaves the current filter in place."""
        try:
            flt = parse_filter(text)
        except FilterError as err:
            self.notify(str(err), title="filter", severity="error")
            if self._filter_before is not None:
                self.view.filter = self._filter_before
                self._set_model_filter(self._filter_before)
            return
        self._set_view_filter(flt)

    def _set_view_filter(self, flt: Filter) -> None:
        if self.view.filter.column is not None:
            index, value = self.view.filter.column
            flt = flt.with_column(index, value, self.view.filter.column_label)
        self.view.filter = flt
        self._set_model_filter(flt)

    def _set_model_filter(self, flt: Filter) -> None:
        if self.model is None:
            return
        self.model.set_filter(flt)
        table = self.query_one(ResourceTable)
        table.rows_changed(self.ctx.playback.t)
        self._update_message()
        self.update_header()
        self.query_one(Timeline).refresh()

    # --- actions (scope `browser`) -----------------------------------------------------------

    def action_filter(self) -> None:
        """Open the `/` filter."""
        self.open_prompt("/")

    def action_back(self) -> None:
        """Esc: clear the filter, else go back to the previous view."""
        if self.view.filter.active and self.view.filter.text:
            flt = Filter()
            if self.view.filter.column is not None:
                index, value = self.view.filter.column
                flt = flt.with_column(index, value, self.view.filter.column_label)
            self.view.filter = flt
            self._set_model_filter(flt)
            return
        if self.history:
            previous = self.history.pop()
            self.view = previous
            self._rebuild(previous.selected)

    def action_read_only(self) -> None:
        """k9s's delete, edit, shell, port-forward and kill keys: say, once as a notification
        and then on the timeline, that nothing here changes the cluster."""
        text = "khronoscope is read-only: it records and replays, it never changes the cluster"
        if not self._said_read_only:
            self._said_read_only = True
            self.notify(text, title="read-only", timeout=6)
        else:
            self.ctx.time.say(text)

    def action_quit_app(self) -> None:
        """`q` on the main view quits, as k9s's `:q` (q is Back on every other screen)."""
        self.ctx.nav.quit()

    def action_toggle_wide(self) -> None:
        """Show or hide kubectl's wide columns."""
        table = self.query_one(ResourceTable)
        table.wide = not table.wide
        table.relayout()

    def action_namespace(self, index: int) -> None:
        """0: all namespaces; 1-9: a favourite namespace."""
        if not self._namespaced(self.view.type_name):
            self.notify(f"{self.view.type_name} are not namespaced", severity="warning", timeout=3)
            return
        if index == 0:
            namespace = None
        elif index <= len(self.favourites):
            namespace = self.favourites[index - 1]
        else:
            self.notify(f"no favourite namespace {index}", severity="warning", timeout=3)
            return
        self._switch_namespace(namespace)

    def _switch_namespace(self, namespace: str | None) -> None:
        if namespace is not None:
            self._remember_namespace(namespace)
        self.view.namespace = namespace
        self._rebuild(self.query_one(ResourceTable).wanted)

    def _remember_namespace(self, namespace: str) -> None:
        # k9s-like favourites: the most recently used first, at most nine
        if namespace in self.favourites:
            self.favourites.remove(namespace)
        self.favourites.insert(0, namespace)
        del self.favourites[9:]

    # --- opening objects ---------------------------------------------------------------------

    @on(ResourceTable.Activated)
    def _activated(self, event: ResourceTable.Activated) -> None:
        key = event.key
        if event.how in ("yaml", "describe"):
            self.ctx.nav.show_detail(key, event.how)
            return
        if event.how in ("logs", "capture"):
            if key.type != "pods":
                self.notify("only pods have logs", severity="warning", timeout=3)
            elif event.how == "logs":
                self.ctx.nav.show_logs(key)
            else:
                self.ctx.nav.toggle_capture(key)
            return
        self.drill_down(key)

    @on(ResourceTable.SortChanged)
    def _sorted(self) -> None:
        self.update_header()

    def drill_down(self, key: ObjectKey) -> None:
        """Enter: a namespace opens it, a workload shows its pods, a node the pods on it, a CRD
        its resources; anything else is described."""
        tmap = self.ctx.source.tmap
        t = self.ctx.playback.t
        if key.type == "namespaces":
            self._remember_namespace(key.name)
            previous = next(
                (v.type_name for v in reversed(self.history) if v.type_name != "namespaces"),
                "pods",
            )
            self.open_view(previous, key.name, Filter())
            return
        if key.type == CRD_TYPE:
            self.open_view(key.name, self.view.namespace, Filter())
            return
        if key.type in _SELECTOR_OWNERS:
            obj = tmap.get(key, t) or {}
            spec = obj.get("spec") or {}
            text = selector_from_spec(spec.get("selector"))
            if text:
                try:
                    selector = parse_selector(text)
                except ValueError:
                    selector = None
                if selector is not None:
                    label = f"-l {text}"
                    self.open_view("pods", key.namespace, Filter(label, None, selector))
                    return
        if key.type == "nodes":
            node_column = columns_for("pods").index("NODE")
            flt = Filter().with_column(node_column, key.name, f"node={key.name}")
            self.open_view("pods", None, flt)
            return
        self.ctx.nav.show_detail(key, "describe")
