"""Find and load the user's kubeconfig (or the in-cluster service account), and refresh credentials.

kubernetes_asyncio does the parsing and the auth plugins (token, tokenFile, exec, client
certificates, oidc, gcp); this module chooses the files the way kubectl does, loads them into a
private `Configuration` (never the process-wide default), never writes back to the user's files,
and turns every problem into one clear line.

Two things kubernetes_asyncio does not bound are bounded here: a kubeconfig is refused when it
is larger than a kubeconfig can need or its YAML aliases expand past a limit (an "alias bomb"
would take gigabytes when the library formats it), and an exec credential plugin is killed after
`KHRONOSCOPE_EXEC_TIMEOUT` seconds (default 60) instead of hanging the command forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import ssl
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes_asyncio.client import Configuration
from kubernetes_asyncio.config import kube_config as _kube_config
from kubernetes_asyncio.config.config_exception import ConfigException
from kubernetes_asyncio.config.exec_provider import ExecProvider
from kubernetes_asyncio.config.incluster_config import (
    SERVICE_CERT_FILENAME,
    SERVICE_HOST_ENV_NAME,
    SERVICE_TOKEN_FILENAME,
    InClusterConfigLoader,
)
from kubernetes_asyncio.config.kube_config import KubeConfigLoader, KubeConfigMerger

from khronoscope.cluster.scrub import scrub
from khronoscope.core.source import ContextInfo
from khronoscope.errors import KhronoscopeError

DEFAULT_KUBECONFIG = "~/.kube/config"
IN_CLUSTER = "(in-cluster)"
MAX_KUBECONFIG_BYTES = 16 * 1024 * 1024
"""A kubeconfig of a thousand contexts with embedded certificates is a few MiB."""
MAX_KUBECONFIG_NODES = 1_000_000
"""YAML nodes a kubeconfig may hold once its aliases are expanded (a billion laughs: 10^9)."""
EXEC_TIMEOUT_ENV = "KHRONOSCOPE_EXEC_TIMEOUT"
DEFAULT_EXEC_TIMEOUT = 60.0
_PLUGIN_OUTPUT_LIMIT = 1024 * 1024  # an ExecCredential is a few KiB


@dataclass
class ClusterCredentials:
    """Where the API server is and how to authenticate to it; `refresh()` renews the token."""

    host: str
    context: str
    cluster: str
    namespace: str
    source: str
    configuration: Configuration
    ssl_context: ssl.SSLContext | None
    server_hostname: str | None = None
    proxy: str | None = None
    _loader: Any = field(default=None, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def authorization(self) -> str | None:
        """The Authorization header value to send now (refreshing a rotated token if due)."""
        cfg = self.configuration
        if cfg.refresh_api_key_hook is not None:
            # in-cluster: re-reads the projected service-account token when its period is over
            cfg.refresh_api_key_hook(cfg)
        loader = self._loader
        if isinstance(loader, KubeConfigLoader) and _exec_expired(loader):
            async with self._lock:  # many requests at once: run the plugin once
                if _exec_expired(loader):
                    try:
                        await self._reload(force=False)
                    except (ConfigException, OSError, ValueError) as err:
                        raise KhronoscopeError(
                            f"cannot refresh credentials: {_one_line(err, self.secrets())}"
                        ) from err
        return cfg.api_key.get("BearerToken")

    def secrets(self) -> list[str]:
        """The credentials sent to the server, which no message may ever show."""
        cfg = self.configuration
        out = [str(v) for v in (cfg.api_key or {}).values() if v]
        out += [v.split(" ", 1)[1] for v in out if " " in v]  # the token without "Bearer "
        out += [str(v) for v in (cfg.password,) if v]
        return out

    async def refresh(self) -> bool:
        """Force new credentials after a 401 (re-run the exec plugin, re-read token files).

        Returns True when something changed, so the caller knows a retry may succeed.
        """
        before = (self.configuration.api_key.get("BearerToken"), self.configuration.cert_file)
        loader = self._loader
        try:
            if isinstance(loader, KubeConfigLoader):
                await self._reload(force=True)
            elif isinstance(loader, InClusterConfigLoader):
                loader.load_and_set(self.configuration)
        except (ConfigException, OSError, ValueError) as err:
            raise KhronoscopeError(
                f"cannot refresh credentials: {_one_line(err, self.secrets())}"
            ) from err
        after = (self.configuration.api_key.get("BearerToken"), self.configuration.cert_file)
        if after[1] != before[1]:
            self.ssl_context = _ssl_context(self.configuration)
        return after != before

    async def _reload(self, force: bool) -> None:
        loader = self._loader
        if force and hasattr(loader, "exec_plugin_expiry"):
            del loader.exec_plugin_expiry  # the plugin only re-runs when this is absent/expired
        await loader.load_and_set(self.configuration)


def _exec_expired(loader: KubeConfigLoader) -> bool:
    user = getattr(loader, "_user", None)
    if user is None or "exec" not in user:
        return False
    expiry = getattr(loader, "exec_plugin_expiry", None)
    if expiry is None:
        return False
    from kubernetes_asyncio.config.kube_config import _is_expired

    return bool(_is_expired(expiry))


def kubeconfig_paths(explicit: str | None, environ: dict[str, str] | None = None) -> list[str]:
    """The files to merge, in kubectl's order: --kubeconfig, else $KUBECONFIG, else the default.

    Missing entries of $KUBECONFIG are skipped as kubectl skips them; a missing --kubeconfig is
    an error.
    """
    env = os.environ if environ is None else environ
    if explicit:
        path = os.path.expanduser(explicit)
        if not os.path.isfile(path):
            raise KhronoscopeError(f"kubeconfig not found: {explicit}")
        return [path]
    value = env.get("KUBECONFIG", "")
    if value:
        paths = [os.path.expanduser(p) for p in value.split(os.pathsep) if p]
        found = list(dict.fromkeys(p for p in paths if os.path.isfile(p)))
        if found:
            return found
    default = os.path.expanduser(DEFAULT_KUBECONFIG)
    if not value and os.path.isfile(default):
        return [default]
    return []


def check_kubeconfig_file(path: str) -> None:
    """Refuse (one line) a kubeconfig larger than MAX_KUBECONFIG_BYTES, or one whose YAML
    aliases expand to more than MAX_KUBECONFIG_NODES nodes, before the library loads it."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_KUBECONFIG_BYTES + 1)
    except OSError as err:
        raise KhronoscopeError(f"cannot read kubeconfig {path}: {err.strerror}") from err
    if len(data) > MAX_KUBECONFIG_BYTES:
        raise KhronoscopeError(
            f"kubeconfig {path} is larger than {MAX_KUBECONFIG_BYTES // 2**20} MiB: "
            "not a kubeconfig (refused)"
        )
    if b"*" not in data:
        return  # no alias at all: nothing to expand (most kubeconfigs; no second parse)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        root = yaml.compose(data, Loader=loader)
    except yaml.YAMLError as err:
        raise KhronoscopeError(f"cannot read kubeconfig {path}: {_one_line(err)}") from err
    if root is not None and expanded_nodes(root, MAX_KUBECONFIG_NODES) > MAX_KUBECONFIG_NODES:
        raise KhronoscopeError(
            f"kubeconfig {path}: its YAML aliases expand to more than "
            f"{MAX_KUBECONFIG_NODES:,} nodes (an alias bomb?): refused"
        )


def expanded_nodes(root: yaml.Node, limit: int) -> int:
    """How many nodes the YAML tree under `root` has with every alias expanded (counting stops
    past `limit`). Aliases are shared nodes: each one's size is computed once."""
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        if not children_done:
            if id(node) in size:
                continue
            size[id(node)] = 1  # until its children are counted (a recursive alias: once)
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in size)
            continue
        size[id(node)] = 1 + sum(size.get(id(c), 1) for c in children)
        if size[id(node)] > limit:
            return size[id(node)]
    return size[id(root)]


def merged_config(paths: list[str]) -> KubeConfigMerger:
    """Merge kubeconfig files as kubectl does: the first file to define a name (or the current
    context) wins."""
    for path in paths:
        check_kubeconfig_file(path)
    try:
        merger = KubeConfigMerger(os.pathsep.join(paths))
    except (OSError, ValueError, TypeError, AttributeError, KeyError, yaml.YAMLError) as err:
        detail = _one_line(err)
        if isinstance(err, (TypeError, AttributeError, KeyError)):
            detail = "not a kubeconfig (expected clusters, contexts and users)"
        raise KhronoscopeError(f"cannot read kubeconfig {', '.join(paths)}: {detail}") from err
    if merger.config is None:
        raise KhronoscopeError(f"kubeconfig {', '.join(paths)} is empty")
    # kubernetes_asyncio lets the last file set current-context; kubectl keeps the first one
    for path in merger.paths:
        current = (merger.config_files.get(path) or {}).get("current-context")
        if current:
            merger.config.value["current-context"] = current
            break
    return merger


def list_contexts(kubeconfig: str | None, in_use: str) -> list[ContextInfo]:
    """The contexts of the kubeconfig (merged as kubectl does), `in_use` marked current."""
    paths = kubeconfig_paths(kubeconfig)
    if not paths:
        return [ContextInfo(in_use, current=True)] if in_use else []
    cfg = merged_config(paths).config
    assert cfg is not None
    out = []
    for item in cfg.value.get("contexts") or ():
        value = getattr(item, "value", item)  # plain dicts, or ConfigNodes after a merge
        if not isinstance(value, dict) or not value.get("name"):
            continue
        name = str(value["name"])
        body = getattr(value.get("context"), "value", value.get("context")) or {}
        if not isinstance(body, dict):
            body = {}
        out.append(
            ContextInfo(
                name,
                str(body.get("cluster") or ""),
                str(body.get("user") or ""),
                str(body.get("namespace") or ""),
                name == in_use,
            )
        )
    return out


async def load_credentials(kubeconfig: str | None, context: str | None) -> ClusterCredentials:
    """Resolve and load the connection settings, or raise a one-line KhronoscopeError."""
    paths = kubeconfig_paths(kubeconfig)
    if not paths:
        if context is None and os.environ.get(SERVICE_HOST_ENV_NAME):
            return _in_cluster()
        where = "$KUBECONFIG" if os.environ.get("KUBECONFIG") else DEFAULT_KUBECONFIG
        raise KhronoscopeError(
            f"no kubeconfig found (looked at {where}) and not running inside a cluster; "
            "pass --kubeconfig PATH"
        )
    merger = merged_config(paths)
    cfg = merger.config
    assert cfg is not None
    names = _names(cfg.value.get("contexts"))
    chosen = context or cfg.value.get("current-context")
    if not chosen:
        raise KhronoscopeError(
            f"kubeconfig {', '.join(paths)} has no current context; pass --context "
            f"(available: {', '.join(names) or 'none'})"
        )
    if chosen not in names:
        raise KhronoscopeError(
            f"context '{chosen}' not found in kubeconfig {', '.join(paths)} "
            f"(available: {', '.join(names) or 'none'})"
        )
    configuration = type.__call__(Configuration)  # a private copy, never the global default
    try:
        # no config_persister: refreshed tokens stay in memory, the user's files are untouched
        loader = KubeConfigLoader(config_dict=cfg, active_context=chosen, config_base_path=None)
        await loader.load_and_set(configuration)
    except (ConfigException, AssertionError, KeyError, OSError, ValueError) as err:
        raise KhronoscopeError(
            f"cannot use context '{chosen}' of kubeconfig {', '.join(paths)}: {_one_line(err)}"
        ) from err
    if loader._cluster is None or not loader._cluster.safe_get("server"):
        raise KhronoscopeError(f"context '{chosen}' has no server address")
    ctx = loader.current_context or {}
    ctx_body = ctx.get("context", {}) if isinstance(ctx, dict) else {}
    return ClusterCredentials(
        host=configuration.host.rstrip("/"),
        context=chosen,
        cluster=str(ctx_body.get("cluster", chosen)),
        namespace=str(ctx_body.get("namespace", "") or ""),
        source=os.pathsep.join(paths),
        configuration=configuration,
        ssl_context=_ssl_context(configuration),
        server_hostname=getattr(configuration, "tls_server_name", None),
        proxy=configuration.proxy,
        _loader=loader,
    )


# a directory with `token`, `ca.crt` and `namespace` in place of the pod's mounted service
# account: the e2e tier runs the recorder as it runs in a pod without being in one
SERVICE_ACCOUNT_DIR_ENV = "KHRONOSCOPE_SERVICEACCOUNT_DIR"


def _service_account_files() -> tuple[str, str]:
    """The token and CA files: the in-cluster paths, or those in $KHRONOSCOPE_SERVICEACCOUNT_DIR."""
    base = os.environ.get(SERVICE_ACCOUNT_DIR_ENV)
    if base:
        return str(Path(base) / "token"), str(Path(base) / "ca.crt")
    return SERVICE_TOKEN_FILENAME, SERVICE_CERT_FILENAME


def _in_cluster() -> ClusterCredentials:
    configuration = type.__call__(Configuration)
    token_file, cert_file = _service_account_files()
    loader = InClusterConfigLoader(token_filename=token_file, cert_filename=cert_file)
    try:
        loader.load_and_set(configuration)
    except (ConfigException, OSError) as err:
        raise KhronoscopeError(f"cannot use the in-cluster service account: {err}") from err
    namespace = ""
    ns_file = Path(token_file).with_name("namespace")
    if ns_file.is_file():
        namespace = ns_file.read_text().strip()
    return ClusterCredentials(
        host=configuration.host.rstrip("/"),
        context=IN_CLUSTER,
        cluster=IN_CLUSTER,
        namespace=namespace,
        source=IN_CLUSTER,
        configuration=configuration,
        ssl_context=_ssl_context(configuration),
        _loader=loader,
    )


def _ssl_context(cfg: Configuration) -> ssl.SSLContext | None:
    """The TLS settings kubernetes_asyncio's REST client would use (CA, client cert, verify)."""
    if not str(cfg.host).startswith("https"):
        return None
    try:
        ctx = ssl.create_default_context(cafile=cfg.ssl_ca_cert)
        if cfg.cert_file:
            ctx.load_cert_chain(cfg.cert_file, keyfile=cfg.key_file)
    except (OSError, ssl.SSLError) as err:
        raise KhronoscopeError(f"cannot load TLS certificates: {_one_line(err)}") from err
    if not cfg.verify_ssl:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if getattr(cfg, "disable_strict_ssl_verification", False):
        ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT
    return ctx


def _names(items: Any) -> list[str]:
    """Names of kubeconfig list entries (plain dicts, or ConfigNodes after a merge)."""
    out = []
    for item in items or []:
        value = getattr(item, "value", item)
        if isinstance(value, dict) and value.get("name"):
            out.append(str(value["name"]))
    return out


def _one_line(err: BaseException, secrets: list[str] | None = None) -> str:
    # a plugin's error may quote the token it produced, a key file's error its content
    return scrub(str(err) or type(err).__name__, secrets or ())


def exec_timeout() -> float:
    """Seconds an exec credential plugin may take ($KHRONOSCOPE_EXEC_TIMEOUT, default 60)."""
    try:
        value = float(os.environ.get(EXEC_TIMEOUT_ENV, "") or DEFAULT_EXEC_TIMEOUT)
    except ValueError:
        return DEFAULT_EXEC_TIMEOUT
    return value if 0 < value < float("inf") else DEFAULT_EXEC_TIMEOUT


class TimedExecProvider(ExecProvider):
    """kubernetes_asyncio's exec plugin runner, with a timeout (the plugin is killed when it
    passes) and a bound on what it may print."""

    async def run(self, previous_response: str | None = None) -> Any:
        """Run the plugin; its `status` (token or client certificate), or ConfigException."""
        info: dict[str, Any] = {
            "apiVersion": self.api_version,
            "kind": "ExecCredential",
            "spec": {"interactive": sys.stdout.isatty()},
        }
        if previous_response:
            info["spec"]["response"] = previous_response
        self.env["KUBERNETES_EXEC_INFO"] = json.dumps(info)
        timeout = exec_timeout()
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.args,
                env=self.env,
                stdin=None,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as err:
            raise ConfigException(f"exec: cannot run {self.args[0]}: {err.strerror}") from err
        assert proc.stdout is not None and proc.stderr is not None
        try:
            stdout, stderr = await asyncio.wait_for(
                asyncio.gather(_read_bounded(proc.stdout, proc), _read_bounded(proc.stderr, proc)),
                timeout,
            )
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            raise ConfigException(
                f"exec: the credential plugin {self.args[0]} did not answer within "
                f"{timeout:g} s (killed; set {EXEC_TIMEOUT_ENV}=SECONDS to wait longer)"
            ) from None
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if stdout is None or stderr is None:
            raise ConfigException(
                f"exec: {self.args[0]} printed more than {_PLUGIN_OUTPUT_LIMIT // 1024} KiB "
                "(killed): not an ExecCredential"
            )
        if proc.returncode != 0:
            detail = stderr[:2000].decode("utf-8", "replace").strip()
            raise ConfigException(
                f"exec: {self.args[0]} exited with status {proc.returncode}"
                + (f": {detail}" if detail else "")
            )
        try:
            data = json.loads(stdout)
        except ValueError as err:
            raise ConfigException(f"exec: {self.args[0]} printed no ExecCredential JSON") from err
        if not isinstance(data, dict) or not all(k in data for k in ("apiVersion", "status")):
            raise ConfigException(f"exec: {self.args[0]} printed no ExecCredential")
        if data["apiVersion"] != self.api_version:
            raise ConfigException(
                f"exec: plugin api version {data['apiVersion']} does not match {self.api_version}"
            )
        return data["status"]


async def _read_bounded(
    stream: asyncio.StreamReader, proc: asyncio.subprocess.Process
) -> bytes | None:
    """All of `stream`, or None once it passes _PLUGIN_OUTPUT_LIMIT (the process is killed)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await stream.read(65536):
        size += len(chunk)
        if size > _PLUGIN_OUTPUT_LIMIT:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            return None
        chunks.append(chunk)
    return b"".join(chunks)


# kubernetes_asyncio logs the plugin's failure before raising it: the raised error is the one
# line the user sees, so the library's log must not print a second one on stderr
logging.getLogger("kubernetes_asyncio").addHandler(logging.NullHandler())

# kubernetes_asyncio's loader builds its ExecProvider by this module-level name; ours is the
# same protocol with the timeout (the library runs the plugin unbounded and never kills it)
_kube_config.ExecProvider = TimedExecProvider  # type: ignore[misc]
