"""The one YAML dump used for every exported file, and the matching safe load.

Style (GIT_EXPORT.md): `apiVersion, kind, metadata` first then sorted keys; `name, namespace`
first inside metadata; every other mapping sorted; lists in API order; block style, indent 2,
kubectl-style (indentless) lists, no line wrapping, UTF-8, one trailing newline, no `---`.
Multi-line strings are `|` blocks; strings another YAML parser (1.1 or 1.2) would read as a
boolean, null or number are double-quoted.

The pure-Python emitter is used on purpose: libyaml's emitter differs in details (escapes, line
breaks), and the same input must give the same bytes whether or not libyaml is installed.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_TOP = ("apiVersion", "kind", "metadata")
_META = ("name", "namespace")

# Scalars some parser reads as something other than a string. PyYAML's own (YAML 1.1) resolver
# already forces quotes on most; these add YAML 1.2 / go-yaml readings (1e3, 0o17, 08, 1_000...)
# and a few 1.1 forms PyYAML misses. Quoting too much costs two characters; too little, a bug.
_TRICKY = re.compile(
    r"""(?x)^(?:
      [-+]?[0-9_]*\.?[0-9_]+(?:[eE][-+]?[0-9_]+)?     # ints and floats, any base-10 form
    | [-+]?[0-9][0-9_]*\.(?:[eE][-+]?[0-9_]+)?        # 1.  1.e3
    | [-+]?0[bB][01_]+ | [-+]?0[oO]?[0-7_]+ | [-+]?0[xX][0-9a-fA-F_]+
    | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?   # sexagesimal (YAML 1.1)
    | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
    | y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
    | ~|null|Null|NULL|=|<<
    | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt\s].*)?    # dates and timestamps
    )$""",
)


class _Dumper(yaml.SafeDumper):
    """SafeDumper with kubectl's key order, literal blocks and conservative quoting."""

    def ignore_aliases(self, data: Any) -> bool:
        # identical sub-objects must be written out in full, never as &anchors/*aliases
        return True


def _sorted_items(mapping: dict[str, Any], first: tuple[str, ...]) -> list[tuple[Any, Any]]:
    head = [(k, mapping[k]) for k in first if k in mapping]
    rest = sorted(((k, v) for k, v in mapping.items() if k not in first), key=lambda kv: str(kv[0]))
    return head + rest


def _represent_mapping(dumper: _Dumper, data: dict[str, Any], first: tuple[str, ...]) -> Any:
    items = _sorted_items(data, first)
    node = yaml.MappingNode("tag:yaml.org,2002:map", [], flow_style=False)
    for key, value in items:
        if key == "metadata" and first is _TOP and isinstance(value, dict):
            value_node = _represent_mapping(dumper, value, _META)
        else:
            value_node = dumper.represent_data(value)
        node.value.append((dumper.represent_data(key), value_node))
    return node


def _represent_dict(dumper: _Dumper, data: dict[str, Any]) -> Any:
    return _represent_mapping(dumper, data, ())


_ODD_BREAKS = frozenset("\r\x85\u2028\u2029")


def _represent_str(dumper: _Dumper, data: str) -> Any:
    if _ODD_BREAKS.intersection(data):
        # YAML folds these line breaks in plain and block scalars; only escapes keep them
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    if "\n" in data:
        # the emitter falls back to a quoted style when a literal block cannot hold the text
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    if _TRICKY.match(data):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(str, _represent_str)


def dump(obj: Any, *, top_level: bool = True) -> bytes:
    """Serialise `obj` as one UTF-8 YAML document in the export style (ends with one newline).

    `top_level` applies the Kubernetes object order (`apiVersion, kind, metadata` first).
    """
    dumper_cls: type[_Dumper] = _TopDumper if top_level and isinstance(obj, dict) else _Dumper
    text = yaml.dump(
        obj,
        Dumper=dumper_cls,
        default_flow_style=False,
        indent=2,
        width=2**31,
        allow_unicode=True,
        sort_keys=False,
        line_break="\n",
        explicit_start=False,
    )
    return text.encode("utf-8")


class _TopDumper(_Dumper):
    """Dumper whose first mapping is a Kubernetes object (kubectl's top-level order)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._top_done = False


def _represent_top(dumper: _TopDumper, data: dict[str, Any]) -> Any:
    if not dumper._top_done:
        dumper._top_done = True
        return _represent_mapping(dumper, data, _TOP)
    return _represent_mapping(dumper, data, ())


_TopDumper.add_representer(dict, _represent_top)


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as strings, as Kubernetes' own YAML reader does."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load(data: bytes | str) -> Any:
    """Read one YAML document (the inverse of `dump`)."""
    return yaml.load(data, Loader=_Loader)


def load_all(data: bytes | str) -> list[Any]:
    """Read every document of a YAML stream (manifest files may hold several)."""
    return list(yaml.load_all(data, Loader=_Loader))


YAMLError = yaml.YAMLError
