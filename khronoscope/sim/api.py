"""The HTTP face of the simulated cluster: an aiohttp app speaking the Kubernetes API.

One catch-all handler parses paths the way kube-apiserver does
(`/api/v1/namespaces/NS/pods/NAME/log`, `/apis/G/V/PLURAL`, legacy `/watch/` prefixes), checks
the bearer token, applies injected faults, then serves discovery, get/list/watch, create,
update, patch, delete, deletecollection, pods/log, the status and scale subresources and
metrics.k8s.io. Errors are Status objects with the codes, reasons and messages of the real one.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import orjson
import yaml
from aiohttp import web

from khronoscope.core.selectors import SelectorError, parse_label_selector
from khronoscope.core.timefmt import parse_k8s_time
from khronoscope.sim import discovery
from khronoscope.sim.auth import User, Users, forbidden, unauthorized
from khronoscope.sim.faults import Faults, WatchHandle
from khronoscope.sim.logs import LogQuery, LogStore, format_line
from khronoscope.sim.metrics import MetricsStore
from khronoscope.sim.registry import ServedType, event_core_from_v1
from khronoscope.sim.selectors import combine, parse_field_selector
from khronoscope.sim.status import ApiError, bad_request, not_found, success_status
from khronoscope.sim.store import ADDED, DELETED, MODIFIED, Store, Stored, WatchEvent, WriteContext
from khronoscope.sim.tables import TABLE_ACCEPT_MARK, table_for

JSON = "application/json"
_PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}
_NOT_ALLOWED = "the server does not allow this method on the requested resource"
_METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type=JSON)


def _raw(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type=JSON)


def _error(err: ApiError) -> web.Response:
    return _raw(err.body(), err.code)


def _page_not_found() -> web.Response:
    return web.Response(status=404, text="404 page not found\n", content_type="text/plain")


@dataclass(slots=True)
class Target:
    """What a resource path names: a served type, a namespace, an object name, a subresource."""

    st: ServedType
    namespace: str | None
    name: str | None
    sub: str | None
    watch_prefix: bool = False
    table: bool = False  # the client asked for meta.k8s.io Tables (kubectl get)


@dataclass
class ServerStats:
    """Request counters (benchmarks and tests read them)."""

    requests: int = 0
    watch_events_sent: int = 0
    open_watches: int = 0


class ApiServer:
    """Serves one Store (plus logs and metrics) over HTTP as kube-apiserver would."""

    def __init__(
        self,
        store: Store,
        logs: LogStore,
        metrics: MetricsStore,
        faults: Faults,
        users: Users,
        *,
        server_address: Callable[[], str],
        bookmark_interval: float = 60.0,
    ) -> None:
        self.store = store
        self.registry = store.registry
        self.logs = logs
        self.metrics = metrics
        self.faults = faults
        self.users = users
        self.server_address = server_address
        self.bookmark_interval = bookmark_interval
        self.stats = ServerStats()
        self._discovery_cache: dict[str, bytes] = {}
        self._discovery_gen = -1

    def app(self) -> web.Application:
        """The aiohttp application (one catch-all route)."""
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    # ---- entry ---------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one request."""
        self.stats.requests += 1
        path = request.path
        delay = self.faults.delay_for(path)
        if delay:
            await asyncio.sleep(delay)
        status = self.faults.take_failure(path)
        if status is not None:
            reason = {503: "ServiceUnavailable", 500: "InternalError", 429: "TooManyRequests"}
            code_reason = reason.get(status, "InternalError")
            msg = (
                "injected fault" if status != 429 else "Too many requests, please try again later."
            )
            if status != 429:
                return _error(ApiError(status, code_reason, msg))
            # as kube-apiserver's max-in-flight filter answers: a wait in the header and in
            # the Status details
            wait = self.faults.retry_after
            resp = _error(ApiError(status, code_reason, msg, {"retryAfterSeconds": wait}))
            resp.headers["Retry-After"] = str(wait)
            return resp
        try:
            return await self._dispatch(request, path)
        except ApiError as err:
            return _error(err)
        except SelectorError as err:
            return _error(bad_request(str(err)))

    def _user(self, request: web.Request) -> User:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            raise unauthorized()
        user = self.users.by_token(auth[7:].strip())
        if user is None:
            raise unauthorized()
        return user

    async def _dispatch(self, request: web.Request, path: str) -> web.StreamResponse:
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok", content_type="text/plain")
        if path == "/version":
            return _json(discovery.SERVER_VERSION)
        user = self._user(request)
        parts = [unquote(p) for p in path.split("/") if p]
        if not parts:
            paths = ["/api", "/api/v1", "/apis", "/healthz", "/version"]
            return _json({"paths": paths})
        if parts[0] == "api":
            if len(parts) == 1:
                return _json(discovery.api_versions(self.server_address()))
            if parts[1] != "v1":
                return _page_not_found()
            group, version, rest = "", "v1", parts[2:]
        elif parts[0] == "apis":
            if len(parts) == 1:
                return self._cached_discovery("/apis", lambda: discovery.group_list(self.registry))
            if len(parts) == 2:
                doc = discovery.group(self.registry, parts[1])
                return _json(doc) if doc else _page_not_found()
            group, version, rest = parts[1], parts[2], parts[3:]
        elif parts[0] == "openapi" and len(parts) >= 2 and parts[1] == "v3":
            return self._openapi_v3(parts[2:])
        else:
            return _page_not_found()
        if not rest:
            key = f"{group}/{version}"
            doc = discovery.resource_list(self.registry, group, version)
            if doc is None:
                return _page_not_found()
            return self._cached_discovery(key, lambda: doc)
        target = self._resolve(group, version, rest)
        if target is None:
            return _page_not_found()
        return await self._serve(request, user, target)

    def _openapi_v3(self, rest: list[str]) -> web.Response:
        if not rest:
            return self._cached_discovery(
                "openapi/v3", lambda: discovery.openapi_v3_root(self.registry)
            )
        if rest[0] == "api" and len(rest) == 2:
            group, version = "", rest[1]
        elif rest[0] == "apis" and len(rest) == 3:
            group, version = rest[1], rest[2]
        else:
            return _page_not_found()
        doc = discovery.openapi_v3_gv(self.registry, group, version)
        if doc is None:
            return _page_not_found()
        return self._cached_discovery(f"openapi/v3/{group}/{version}", lambda: doc)

    def _cached_discovery(self, key: str, build: Callable[[], Any]) -> web.Response:
        if self._discovery_gen != self.registry.generation:
            self._discovery_cache.clear()
            self._discovery_gen = self.registry.generation
        body = self._discovery_cache.get(key)
        if body is None:
            body = self._discovery_cache[key] = orjson.dumps(build())
        return _raw(body)

    def _resolve(self, group: str, version: str, rest: list[str]) -> Target | None:
        watch_prefix = False
        if rest and rest[0] == "watch":
            watch_prefix, rest = True, rest[1:]
        if not rest:
            return None
        reg = self.registry
        if len(rest) >= 3 and rest[0] == "namespaces":
            st = reg.get(group, version, rest[2])
            if st is not None and st.rt.namespaced and len(rest) <= 5:
                name = rest[3] if len(rest) > 3 else None
                sub = rest[4] if len(rest) > 4 else None
                return Target(st, rest[1], name, sub, watch_prefix)
        st = reg.get(group, version, rest[0])
        if st is None or len(rest) > 3:
            return None
        if st.rt.namespaced and len(rest) > 1:
            return None  # a namespaced type's object needs its namespace in the path
        return Target(
            st,
            None,
            rest[1] if len(rest) > 1 else None,
            rest[2] if len(rest) > 2 else None,
            watch_prefix,
        )

    # ---- verbs ---------------------------------------------------------------------------

    async def _serve(self, request: web.Request, user: User, t: Target) -> web.StreamResponse:
        method = request.method
        q = request.query
        if t.sub is not None and t.sub not in t.st.subresources:
            return _page_not_found()
        t.table = TABLE_ACCEPT_MARK in request.headers.get("Accept", "")
        if method == "GET":
            if t.name is None:
                verb = (
                    "watch"
                    if (t.watch_prefix or q.get("watch") in ("1", "true", "True"))
                    else "list"
                )
            else:
                verb = "watch" if t.watch_prefix else "get"
        elif method == "DELETE":
            verb = "delete" if t.name else "deletecollection"
        elif method in _METHOD_VERBS:
            verb = _METHOD_VERBS[method]
        else:
            raise ApiError(
                405,
                "MethodNotAllowed",
                _NOT_ALLOWED,
            )
        if t.st.extra.get("review"):
            if verb != "create":
                raise ApiError(405, "MethodNotAllowed", _NOT_ALLOWED)
            return await self._access_review(request, user)
        if not user.may(t.st, t.namespace):
            raise forbidden(user.name, verb, t.st, t.namespace, t.sub or "")
        if verb not in t.st.rt.verbs and not t.sub:
            raise ApiError(
                405,
                "MethodNotAllowed",
                _NOT_ALLOWED,
            )
        if t.st.extra.get("metrics"):
            return self._metrics(t, q)
        if verb == "watch":
            return await self._watch(request, t)
        if verb == "list":
            return self._list(request, t)
        if verb == "get":
            if t.sub == "log":
                return await self._log(request, t)
            return self._get(request, t)
        if verb == "create":
            if t.name is not None:
                raise ApiError(
                    405,
                    "MethodNotAllowed",
                    _NOT_ALLOWED,
                )
            return await self._create(request, user, t)
        if verb in ("update", "patch"):
            if t.name is None:
                raise ApiError(
                    405,
                    "MethodNotAllowed",
                    _NOT_ALLOWED,
                )
            return await self._write(request, t, verb)
        if verb == "delete":
            return await self._delete(request, t)
        return await self._delete_collection(request, t)

    async def _access_review(self, request: web.Request, user: User) -> web.Response:
        """Answer a SelfSubjectAccessReview with what this user's token may do."""
        body = await self._body(request)
        if not isinstance(body, dict):
            raise bad_request("the body of the request must be a JSON object")
        attrs = (body.get("spec") or {}).get("resourceAttributes") or {}
        resource, group = attrs.get("resource", ""), attrs.get("group", "")
        target = next(
            (st for st in self.registry if st.rt.plural == resource and st.rt.group == group), None
        )
        if target is not None:
            allowed = user.may(target, attrs.get("namespace") or None)
        else:  # unknown or non-resource: allowed unless the token is restricted
            allowed = user.allowed is None and not user.forbidden
        status: dict[str, Any] = {"allowed": allowed}
        if not allowed:
            status["denied"] = True
        out = {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": body.get("spec") or {},
            "status": status,
        }
        return _json(out, 201)

    def _render(self, st: ServedType, stored: Stored) -> bytes:
        """One object's JSON for a client of type `st` (views and other versions converted)."""
        if st.view is not None:
            return orjson.dumps(st.view(stored.obj))
        if stored.obj.get("apiVersion") != st.rt.api_version:
            return orjson.dumps({**stored.obj, "apiVersion": st.rt.api_version})
        return stored.raw()

    def _render_item(self, st: ServedType, stored: Stored) -> bytes:
        """An object as a list item: built-in types omit kind/apiVersion, as the apiserver does."""
        raw = self._render(st, stored)
        if st.crd:
            return raw
        prefix = (
            b'{"kind":"'
            + st.rt.kind.encode()
            + b'","apiVersion":"'
            + st.rt.api_version.encode()
            + b'",'
        )
        if raw.startswith(prefix):
            return b"{" + raw[len(prefix) :]
        return raw

    def _predicate(self, t: Target, q: Any) -> Callable[[dict[str, Any]], bool] | None:
        return combine(
            parse_label_selector(q.get("labelSelector")),
            parse_field_selector(q.get("fieldSelector"), t.st.name),
        )

    def _list(self, request: web.Request, t: Target) -> web.Response:
        q = request.query
        limit = _int_param(q, "limit", 0)
        result = self.store.list(
            t.st.storage,
            t.namespace,
            predicate=self._predicate(t, q),
            limit=max(0, limit),
            continue_token=q.get("continue", ""),
            resource_version=q.get("resourceVersion", ""),
            rv_match=q.get("resourceVersionMatch", ""),
        )
        if t.table:
            table = table_for(t.st, [s.obj for s in result.items], self.store.clock())
            table["metadata"] = {"resourceVersion": str(result.rv)}
            if result.continue_token:
                table["metadata"]["continue"] = result.continue_token
                if result.remaining is not None:
                    table["metadata"]["remainingItemCount"] = result.remaining
            return _json(table)
        meta: dict[str, Any] = {"resourceVersion": str(result.rv)}
        if result.continue_token:
            meta["continue"] = result.continue_token
            if result.remaining is not None:
                meta["remainingItemCount"] = result.remaining
        head = orjson.dumps(
            {"kind": t.st.list_kind, "apiVersion": t.st.rt.api_version, "metadata": meta}
        )
        items = b",".join(self._render_item(t.st, s) for s in result.items)
        return _raw(head[:-1] + b',"items":[' + items + b"]}")

    def _current(self, t: Target) -> Stored:
        assert t.name is not None
        stored = self.store.get(t.st.storage, t.namespace or "", t.name)
        if stored is None:
            raise not_found(t.st.rt.plural, t.name, t.st.rt.group)
        return stored

    def _get(self, request: web.Request, t: Target) -> web.Response:
        stored = self._current(t)
        if t.sub == "scale":
            return _json(_scale_of(stored.obj))
        if t.table:
            table = table_for(t.st, [stored.obj], self.store.clock())
            table["metadata"] = {"resourceVersion": str(stored.rv)}
            return _json(table)
        return _raw(self._render(t.st, stored))

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        if not raw:
            raise bad_request("the body of the request was empty")
        ctype = request.content_type
        try:
            if "yaml" in ctype:
                return yaml.safe_load(raw)
            return orjson.loads(raw)
        except Exception as err:
            raise bad_request(f"the body of the request could not be decoded: {err}") from None

    def _ctx(self, request: web.Request, subresource: str | None = None) -> WriteContext:
        q = request.query
        manager = (
            q.get("fieldManager") or request.headers.get("User-Agent", "unknown").split("/")[0]
        )
        return WriteContext(
            manager=manager, dry_run=q.get("dryRun") == "All", subresource=subresource
        )

    def _to_storage(self, t: Target, obj: Any) -> Any:
        if t.st.view is not None and isinstance(obj, dict):
            return event_core_from_v1(obj)
        return obj

    async def _create(self, request: web.Request, user: User, t: Target) -> web.Response:
        body = self._to_storage(t, await self._body(request))
        if isinstance(body, dict) and t.st.crd:
            body = {**body, "apiVersion": self.store.served(t.st.name).rt.api_version}
        stored = self.store.create(t.st.storage, body, self._ctx(request), namespace=t.namespace)
        return _raw(self._render(t.st, stored), 201)

    async def _write(self, request: web.Request, t: Target, verb: str) -> web.Response:
        assert t.name is not None
        ns = t.namespace or ""
        storage = t.st.storage
        if t.sub == "scale":
            return await self._write_scale(request, t, verb)
        ctx = self._ctx(request, "status" if t.sub == "status" else None)
        if verb == "update":
            body = self._to_storage(t, await self._body(request))
            if isinstance(body, dict) and "apiVersion" in body:
                body = {**body, "apiVersion": self.store.served(storage).rt.api_version}
            stored = self.store.replace(storage, body, ctx, namespace=ns, obj_name=t.name)
            return _raw(self._render(t.st, stored))
        ptype = _PATCH_TYPES.get(request.content_type)
        if ptype is None or (ptype == "strategic" and t.st.crd):
            accepted = (
                "application/json-patch+json, application/merge-patch+json, "
                "application/apply-patch+yaml"
            )
            if not t.st.crd:
                accepted += ", application/strategic-merge-patch+json"
            raise ApiError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types "
                f"include: {accepted}",
            )
        patch = await self._body(request)
        if ptype == "apply":
            if not request.query.get("fieldManager"):
                raise ApiError(
                    422,
                    "Invalid",
                    'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is '
                    "required for apply patch",
                )
            if self.store.get(storage, ns, t.name) is None:
                stored = self.store.create(storage, patch, ctx, namespace=t.namespace)
                return _raw(self._render(t.st, stored), 201)
        stored = self.store.patch(storage, ns, t.name, patch, ptype, ctx)
        return _raw(self._render(t.st, stored))

    async def _write_scale(self, request: web.Request, t: Target, verb: str) -> web.Response:
        assert t.name is not None
        cur = self._current(t)
        scale = _scale_of(cur.obj)
        body = await self._body(request)
        if verb == "update":
            new_scale = body
        else:
            from khronoscope.sim.patch import json_patch, merge_patch

            ptype = _PATCH_TYPES.get(request.content_type, "merge")
            new_scale = json_patch(scale, body) if ptype == "json" else merge_patch(scale, body)
        replicas = ((new_scale or {}).get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise ApiError(
                422,
                "Invalid",
                f'Scale.autoscaling "{t.name}" is invalid: spec.replicas: Invalid value',
            )
        stored = self.store.patch(
            t.st.storage,
            t.namespace or "",
            t.name,
            {"spec": {"replicas": replicas}},
            "merge",
            self._ctx(request),
        )
        return _json(_scale_of(stored.obj))

    async def _delete(self, request: web.Request, t: Target) -> web.Response:
        assert t.name is not None
        opts: dict[str, Any] = {}
        raw = await request.read()
        if raw:
            with contextlib.suppress(Exception):
                opts = orjson.loads(raw) or {}
        pre = opts.get("preconditions") or {}
        ctx = self._ctx(request)
        if request.query.get("dryRun") == "All" or "All" in (opts.get("dryRun") or []):
            ctx.dry_run = True
        before = self._current(t)
        stored = self.store.delete(
            t.st.storage,
            t.namespace or "",
            t.name,
            ctx,
            precondition_uid=pre.get("uid"),
            precondition_rv=pre.get("resourceVersion"),
        )
        still_there = self.store.get(t.st.storage, t.namespace or "", t.name) is not None
        if t.st.storage == "pods" or (still_there and not ctx.dry_run):
            return _raw(self._render(t.st, stored), 202 if still_there else 200)
        meta = before.obj["metadata"]
        return _json(success_status(t.name, t.st.rt.plural, meta.get("uid", ""), t.st.rt.group))

    async def _delete_collection(self, request: web.Request, t: Target) -> web.Response:
        pred = self._predicate(t, request.query)
        result = self.store.list(t.st.storage, t.namespace, predicate=pred)
        ctx = self._ctx(request)
        ctx.dry_run = request.query.get("dryRun") == "All"
        for s in result.items:
            meta = s.obj["metadata"]
            with contextlib.suppress(ApiError):
                self.store.delete(t.st.storage, meta.get("namespace", ""), meta["name"], ctx)
        return _json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})

    # ---- watch ---------------------------------------------------------------------------

    def _event_line(self, t: Target, etype: str, stored: Stored, plain: WatchEvent | None) -> bytes:
        if t.table:  # kubectl get -w: each event carries a one-row Table
            table = table_for(t.st, [stored.obj], self.store.clock())
            table["metadata"] = {
                "resourceVersion": stored.obj["metadata"].get("resourceVersion", "")
            }
            return orjson.dumps({"type": etype, "object": table}) + b"\n"
        if (
            plain is not None
            and t.st.view is None
            and stored.obj.get("apiVersion") == t.st.rt.api_version
        ):
            return plain.line()
        return b'{"type":"' + etype.encode() + b'","object":' + self._render(t.st, stored) + b"}\n"

    def _bookmark(self, t: Target, rv: int, initial_end: bool = False) -> bytes:
        meta: dict[str, Any] = {"resourceVersion": str(rv), "creationTimestamp": None}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": t.st.rt.kind, "apiVersion": t.st.rt.api_version, "metadata": meta}
        return orjson.dumps({"type": "BOOKMARK", "object": obj}) + b"\n"

    def _filter(
        self, t: Target, ev: WatchEvent, pred: Callable[[dict[str, Any]], bool] | None
    ) -> bytes | None:
        if t.namespace is not None and ev.key[0] != t.namespace:
            return None
        if pred is None:
            return self._event_line(t, ev.type, ev.obj, ev)
        now = pred(ev.obj.obj)
        if ev.type == ADDED:
            return self._event_line(t, ADDED, ev.obj, ev) if now else None
        before = ev.prev is not None and pred(ev.prev.obj)
        if ev.type == DELETED:
            return self._event_line(t, DELETED, ev.obj, ev) if before or now else None
        if now and before:
            return self._event_line(t, MODIFIED, ev.obj, ev)
        if now:
            return self._event_line(t, ADDED, ev.obj, None)
        if before:
            return self._event_line(t, DELETED, ev.obj, None)
        return None

    async def _watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        q = request.query
        pred = self._predicate(t, q)
        if t.name is not None:  # legacy /watch/.../NAME: one object
            name = t.name
            pred = combine(pred, lambda o: o["metadata"]["name"] == name)
        store = self.store
        ts = store.type_store(t.st.storage)
        rv_param = q.get("resourceVersion", "")
        send_initial = q.get("sendInitialEvents") == "true"
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1", "True")
        timeout = _float_param(q, "timeoutSeconds", 0.0) or random.uniform(1800, 3600)
        cursor = 0
        if rv_param not in ("", "0") and not send_initial:
            cursor = store._parse_rv(rv_param)
        resp = web.StreamResponse(
            status=200,
            headers={"Content-Type": JSON, "Cache-Control": "no-cache, private"},
        )
        await resp.prepare(request)
        handle = WatchHandle(request.path, request.transport)
        self.faults.watches.add(handle)
        self.stats.open_watches += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            if rv_param in ("", "0") or send_initial:
                # "start at most recent": the current state as synthetic ADDED events
                cursor = store.rv
                listing = store.list(t.st.storage, t.namespace, predicate=pred)
                lines = [self._event_line(t, ADDED, s, None) for s in listing.items]
                if send_initial and bookmarks:
                    lines.append(self._bookmark(t, cursor, initial_end=True))
                if lines:
                    await resp.write(b"".join(lines))
                    self.stats.watch_events_sent += len(lines)
            elif cursor < store.compacted_rv or cursor < ts.dropped_rv:
                await resp.write(_expired_line(cursor, max(store.compacted_rv, ts.dropped_rv)))
                return resp
            next_bookmark = loop.time() + self.bookmark_interval
            while True:
                if handle.ended.done():
                    break
                if self.registry.get(t.st.rt.group, t.st.rt.version, t.st.rt.plural) is None:
                    break  # the type is no longer served (its CRD is gone): end the stream
                if cursor < ts.dropped_rv:
                    # this watcher fell behind the retained window: it must relist
                    await resp.write(_expired_line(cursor, ts.dropped_rv))
                    break
                events = ts.events_after(cursor, 5000)
                if events:
                    out = [line for ev in events if (line := self._filter(t, ev, pred)) is not None]
                    cursor = events[-1].rv
                    if out:
                        await resp.write(b"".join(out))
                        self.stats.watch_events_sent += len(out)
                    if len(events) == 5000:
                        continue
                now = loop.time()
                if now >= deadline:
                    if bookmarks:
                        await resp.write(self._bookmark(t, max(cursor, store.rv)))
                    break
                if bookmarks and now >= next_bookmark:
                    cursor = max(cursor, store.rv)
                    await resp.write(self._bookmark(t, cursor))
                    next_bookmark = now + self.bookmark_interval
                wake = min(deadline, next_bookmark if bookmarks else deadline)
                changed = ts.changed()
                await asyncio.wait(
                    {changed, handle.ended},
                    timeout=max(0.0, wake - loop.time()),
                    return_when=asyncio.FIRST_COMPLETED,
                )
        except ConnectionError:
            return resp  # the client went away (or the connection was cut on purpose)
        finally:
            self.faults.watches.discard(handle)
            self.stats.open_watches -= 1
        if handle.ended.done() and handle.ended.result() == "abort":
            return resp
        with contextlib.suppress(ConnectionError):
            await resp.write_eof()
        return resp

    # ---- logs ----------------------------------------------------------------------------

    async def _log(self, request: web.Request, t: Target) -> web.StreamResponse:
        pod = self._current(t).obj
        q = request.query
        name = t.name or ""
        spec = pod.get("spec") or {}
        names = [c.get("name") for c in spec.get("containers") or []]
        init_names = [c.get("name") for c in spec.get("initContainers") or []]
        container = q.get("container", "")
        if not container:
            if len(names) != 1:
                choices = " ".join(names)
                extra = (
                    f" or one of the init containers: [{' '.join(init_names)}]"
                    if init_names
                    else ""
                )
                raise bad_request(
                    f"a container name must be specified for pod {name}, "
                    f"choose one of: [{choices}]{extra}"
                )
            container = names[0]
        if container not in names and container not in init_names:
            raise bad_request(f"container {container} is not valid for pod {name}")
        previous = q.get("previous") in ("true", "1")
        ns = t.namespace or ""
        log = self.logs.get(ns, name, container)
        if previous and (log is None or log.previous is None):
            raise bad_request(
                f'previous terminated container "{container}" in pod "{name}" not found'
            )
        if not previous and (log is None or not log.lines):
            waiting = _waiting_reason(pod, container)
            if waiting:
                raise bad_request(
                    f'container "{container}" in pod "{name}" is waiting to start: {waiting}'
                )
        since_ns = None
        if q.get("sinceTime"):
            since_ns = parse_k8s_time(q["sinceTime"])
            if since_ns is None:
                raise bad_request(f"invalid sinceTime: {q['sinceTime']!r}")
        elif q.get("sinceSeconds"):
            since_ns = self.store.clock() - _int_param(q, "sinceSeconds", 0) * 1_000_000_000
        tail = _int_param(q, "tailLines", -1)
        query = LogQuery(
            timestamps=q.get("timestamps") in ("true", "1"),
            since_ns=since_ns,
            tail_lines=tail if tail >= 0 else None,
            limit_bytes=_int_param(q, "limitBytes", 0) or None,
            previous=previous,
        )
        lines = self.logs.lines(ns, name, container, query)
        text = "".join(format_line(tl, s, query.timestamps) for tl, s in lines).encode()
        follow = q.get("follow") in ("true", "1") and not previous
        if query.limit_bytes is not None and len(text) >= query.limit_bytes:
            return web.Response(body=text[: query.limit_bytes], content_type="text/plain")
        if not follow or log is None or _terminated(pod, container):
            # as the kubelet: following a container that has exited returns its log and ends
            return web.Response(body=text, content_type="text/plain")
        resp = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        handle = WatchHandle(request.path, request.transport)
        self.faults.watches.add(handle)
        sent = len(text)
        try:
            if text:
                await resp.write(text)
            instance = log.instance
            pos = log.dropped + len(log.lines)
            while not log.closed and log.instance == instance and not handle.ended.done():
                changed = log.changed()
                await asyncio.wait({changed, handle.ended}, return_when=asyncio.FIRST_COMPLETED)
                if log.instance != instance or log.closed:
                    break
                start = max(0, pos - log.dropped)
                new = log.lines[start:]
                pos = log.dropped + len(log.lines)
                if new:
                    chunk = "".join(format_line(tl, s, query.timestamps) for tl, s in new).encode()
                    if query.limit_bytes is not None and sent + len(chunk) >= query.limit_bytes:
                        await resp.write(chunk[: query.limit_bytes - sent])
                        break
                    sent += len(chunk)
                    await resp.write(chunk)
        except (ConnectionResetError, ConnectionError):
            return resp
        finally:
            self.faults.watches.discard(handle)
        if handle.ended.done() and handle.ended.result() == "abort":
            return resp
        with contextlib.suppress(ConnectionError):
            await resp.write_eof()
        return resp

    # ---- metrics -------------------------------------------------------------------------

    def _metrics(self, t: Target, q: Any) -> web.Response:
        if q.get("watch") in ("1", "true") or t.watch_prefix:
            raise ApiError(
                405,
                "MethodNotAllowed",
                _NOT_ALLOWED,
            )
        if t.st.rt.plural == "pods":
            items = self.metrics.pod_metrics(self.store, t.namespace)
        else:
            items = self.metrics.node_metrics(self.store)
        if t.name is not None:
            for item in items:
                if item["metadata"]["name"] == t.name:
                    return _json(item)
            raise not_found(t.st.rt.plural, t.name, t.st.rt.group)
        pred = combine(
            parse_label_selector(q.get("labelSelector")),
            parse_field_selector(q.get("fieldSelector"), t.st.name),
        )
        if pred is not None:
            items = [i for i in items if pred(i)]
        return _json(
            {
                "kind": f"{t.st.rt.kind}List",
                "apiVersion": t.st.rt.api_version,
                "metadata": {},
                "items": items,
            }
        )


def _expired_line(rv: int, oldest: int) -> bytes:
    status = ApiError(410, "Expired", f"too old resource version: {rv} ({oldest})").status()
    return orjson.dumps({"type": "ERROR", "object": status}) + b"\n"


def _int_param(q: Any, name: str, default: int) -> int:
    raw = q.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"{name}: Invalid value: {raw!r}: must be an integer") from None


def _float_param(q: Any, name: str, default: float) -> float:
    raw = q.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise bad_request(f"{name}: Invalid value: {raw!r}: must be a number") from None


def _terminated(pod: dict[str, Any], container: str) -> bool:
    status = pod.get("status") or {}
    for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if cs.get("name") == container:
            return "terminated" in (cs.get("state") or {})
    return False


def _waiting_reason(pod: dict[str, Any], container: str) -> str:
    status = pod.get("status") or {}
    for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if cs.get("name") == container:
            state = cs.get("state") or {}
            if "waiting" in state and not cs.get("restartCount"):
                return (state["waiting"] or {}).get("reason", "ContainerCreating")
            return ""
    return "ContainerCreating" if status.get("phase", "Pending") == "Pending" else ""


def _scale_of(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    selector = status.get("selector")
    if selector is None:
        from khronoscope.core.selectors import selector_from_match

        selector = selector_from_match(spec.get("selector"))
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
            "creationTimestamp": meta.get("creationTimestamp"),
        },
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": {"replicas": status.get("replicas", 0), "selector": selector},
    }
