"""Every name a resource type answers to on the `:` line: discovery's (plural, singular, kind,
short names, `plural.group`), kubectl's well-known short names, k9s's aliases, and the user's
`aliases.yaml` (k9s's shape) in the config directory. No UI here.

    # $XDG_CONFIG_HOME/khronoscope/aliases.yaml
    aliases:
      pp: v1/pods                    # group/version/resource, as k9s writes it
      dep: apps/v1/deployments
      crash: pods -A /CrashLoop      # or a whole command line
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from khronoscope.core.types import ResourceType

ALIASES_FILE = "aliases.yaml"

# kubectl's preference when a short name is ambiguous (events vs events.events.k8s.io)
_GROUP_ORDER = ("", "apps", "batch", "networking.k8s.io", "autoscaling", "policy")

KUBECTL_SHORT_NAMES: dict[str, str] = {
    "po": "pods",
    "no": "nodes",
    "ns": "namespaces",
    "svc": "services",
    "cm": "configmaps",
    "ev": "events",
    "ep": "endpoints",
    "sa": "serviceaccounts",
    "pvc": "persistentvolumeclaims",
    "pv": "persistentvolumes",
    "rc": "replicationcontrollers",
    "limits": "limitranges",
    "quota": "resourcequotas",
    "deploy": "deployments.apps",
    "rs": "replicasets.apps",
    "sts": "statefulsets.apps",
    "ds": "daemonsets.apps",
    "cj": "cronjobs.batch",
    "hpa": "horizontalpodautoscalers.autoscaling",
    "pdb": "poddisruptionbudgets.policy",
    "ing": "ingresses.networking.k8s.io",
    "netpol": "networkpolicies.networking.k8s.io",
    "crd": "customresourcedefinitions.apiextensions.k8s.io",
    "crds": "customresourcedefinitions.apiextensions.k8s.io",
    "csr": "certificatesigningrequests.certificates.k8s.io",
    "pc": "priorityclasses.scheduling.k8s.io",
    "sc": "storageclasses.storage.k8s.io",
}
"""kubectl's short names, for a source whose discovery did not give them (a recording)."""

K9S_ALIASES: dict[str, str] = {
    "dp": "deployments.apps",
    "sec": "secrets",
    "jo": "jobs.batch",
    "cr": "clusterroles.rbac.authorization.k8s.io",
    "crb": "clusterrolebindings.rbac.authorization.k8s.io",
    "ro": "roles.rbac.authorization.k8s.io",
    "rb": "rolebindings.rbac.authorization.k8s.io",
    "np": "networkpolicies.networking.k8s.io",
}
"""The aliases k9s adds to kubectl's short names."""


def gvr_type(text: str) -> str:
    """A type name from k9s's `group/version/resource` (`apps/v1/deployments` ->
    `deployments.apps`, `v1/pods` -> `pods`); anything else is returned as it is."""
    parts = text.strip().split("/")
    if len(parts) == 3 and all(parts):
        group, _version, resource = parts
        return f"{resource}.{group}"
    if len(parts) == 2 and all(parts) and parts[0].startswith("v") and parts[0][1:2].isdigit():
        return parts[1]
    return text.strip()


@dataclass(frozen=True)
class UserAliases:
    """The user's aliases (alias -> a type or a whole command line) and what was wrong."""

    path: str = ""
    entries: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def read_user_aliases(path: Path) -> UserAliases:
    """Read `aliases.yaml` (`aliases: {name: target}`); a missing file is no aliases, a broken
    one is no aliases and one problem line; bad entries are skipped, each with a line."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return UserAliases(str(path))
    except (OSError, UnicodeDecodeError) as err:
        return UserAliases(str(path), problems=(f"{path}: cannot read ({err}); ignored",))
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        first = str(err).splitlines()[0] if str(err) else "bad YAML"
        return UserAliases(str(path), problems=(f"{path}: not valid YAML ({first}); ignored",))
    if data is None:
        return UserAliases(str(path))
    table = data.get("aliases") if isinstance(data, dict) else None
    if not isinstance(table, dict):
        return UserAliases(
            str(path), problems=(f"{path}: expected 'aliases:' with name: type lines; ignored",)
        )
    entries: dict[str, str] = {}
    problems: list[str] = []
    for name, target in table.items():
        if not isinstance(name, str) or not name.strip() or " " in name.strip():
            problems.append(f"{path}: alias {name!r} must be one word (ignored)")
        elif not isinstance(target, str) or not target.strip():
            problems.append(f"{path}: alias {name!r} needs a type or a command (ignored)")
        else:
            entries[name.strip().lower()] = target.strip()
    return UserAliases(str(path), entries, tuple(problems))


def user_aliases_file() -> Path:
    """The user's aliases file in the XDG config dir (beside keybindings.toml)."""
    from platformdirs import user_config_path

    return user_config_path("khronoscope") / ALIASES_FILE


@dataclass(frozen=True)
class AliasGroup:
    """One line of `:aliases`: a type (or a user's command line) and the words that open it,
    each with where it comes from (`name`, `short name`, `kubectl`, `k9s`, `yours`)."""

    target: str
    aliases: tuple[tuple[str, str], ...]


class Aliases:
    """Every name a type answers to; user aliases may also stand for a whole command line."""

    def __init__(
        self,
        types: Iterable[ResourceType],
        extra: Iterable[str] = (),
        user: Mapping[str, str] | None = None,
    ) -> None:
        self._alias: dict[str, list[ResourceType | str]] = {}
        self._origin: dict[str, str] = {}
        self.types: dict[str, ResourceType] = {}
        self._plurals: set[str] = set()
        for rt in types:
            self.types[rt.name] = rt
            self._plurals.add(rt.plural.lower())
            names = {rt.plural, rt.name, rt.kind.lower(), rt.singular, *rt.short_names}
            if rt.group:
                names.add(f"{rt.plural}.{rt.group}")
                names.add(f"{rt.kind.lower()}.{rt.group}")
            for n in names:
                if n:
                    self._add(n, rt, "short name" if n in rt.short_names else "name")
        stored = [name for name in extra if name not in self.types]
        for name in stored:
            # types the store holds but discovery did not report (a recording's old CRDs)
            self._add(name, name, "name")
            self._add(name.split(".", 1)[0], name, "name")
        known = set(self.types) | set(stored)
        for table, origin in ((KUBECTL_SHORT_NAMES, "kubectl"), (K9S_ALIASES, "k9s")):
            for alias, type_name in table.items():
                if type_name in known and alias not in self._alias:
                    self._add(alias, type_name, origin)
        # the user's: a type (or group/version/resource) or a command line, replacing the rest
        self.commands: dict[str, str] = {}
        for alias, target in (user or {}).items():
            self.commands[alias.lower()] = target
            self._origin[alias.lower()] = "yours"

    def _add(self, name: str, target: ResourceType | str, origin: str) -> None:
        low = name.lower()
        self._alias.setdefault(low, []).append(target)
        self._origin.setdefault(low, origin)

    def expand(self, word: str) -> str | None:
        """The command line a user alias stands for (a type given as `group/version/resource`
        comes back as its name), or None when `word` is not one of the user's."""
        target = self.commands.get(word.lower())
        if target is None:
            return None
        head, _, rest = target.partition(" ")
        return f"{gvr_type(head)} {rest}".strip()

    def resolve(self, word: str) -> str | None:
        """The type name an alias means, preferring core and well-known groups."""
        found = self._alias.get(word.lower())
        if not found:
            return None

        def rank(item: ResourceType | str) -> tuple[int, str]:
            if isinstance(item, str):
                return (len(_GROUP_ORDER) + 1, item)
            g = item.group
            return (_GROUP_ORDER.index(g) if g in _GROUP_ORDER else len(_GROUP_ORDER), g)

        best = min(found, key=rank)
        return best if isinstance(best, str) else best.name

    def words(self) -> list[str]:
        """Every alias for completion: plurals first (`de` completes to `deployments`)."""
        every = set(self._alias) | set(self.commands)
        return sorted(every, key=lambda w: (w not in self._plurals, len(w), w))

    def groups(self) -> list[AliasGroup]:
        """Every type with the words that open it, shortest first (`:aliases`), then the
        user's aliases that stand for a command line."""
        by_target: dict[str, list[tuple[str, str]]] = {}
        for alias in self._alias:
            if alias in self.commands:
                continue
            target = self.resolve(alias)
            if target is not None:
                by_target.setdefault(target, []).append((alias, self._origin.get(alias, "name")))
        for alias, target in self.commands.items():
            expanded = self.expand(alias) or target
            key = expanded if " " in expanded else self.resolve(expanded) or expanded
            by_target.setdefault(key, []).append((alias, "yours"))
        return [
            AliasGroup(target, tuple(sorted(words, key=lambda w: (len(w[0]), w[0]))))
            for target, words in sorted(by_target.items())
        ]
