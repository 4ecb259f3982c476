"""The one YAML dump used for every exported file, and the matching safe load.

Style (GIT_EXPORT.md): `apiVersion, kind, metadata` first then sorted keys; `name, namespace`
first inside metadata; every other mapping sorted; lists in API order; block style, indent 2,
kubectl-style (indentless) lists, no line wrapping, UTF-8, one trailing newline, no `---`.
Multi-line strings are `|` blocks; strings another YAML parser (1.1 or 1.2) would read as a
boolean, null or number are double-quoted.

PyYAML's pure-Python emitter defines the bytes: libyaml's differs in details (escapes, line
breaks), and the same input must give the same bytes whether or not libyaml is installed. For
speed, yamlemit writes the same bytes straight from the dict, and PyYAML writes what it does not
cover.
"""

from __future__ import annotations

from typing import Any

import yaml

from khronoscope.export.yamlemit import META_KEYS, TOP_KEYS, emit, ordered_items, requested_style


class _Dumper(yaml.SafeDumper):
    """SafeDumper with kubectl's key order, literal blocks and conservative quoting."""

    def ignore_aliases(self, data: Any) -> bool:
        # identical sub-objects must be written out in full, never as &anchors/*aliases
        return True


def _represent_mapping(dumper: _Dumper, data: dict[str, Any], first: tuple[str, ...]) -> Any:
    items = ordered_items(data, first)
    node = yaml.MappingNode("tag:yaml.org,2002:map", [], flow_style=False)
    for key, value in items:
        if key == "metadata" and first is TOP_KEYS and isinstance(value, dict):
            value_node = _represent_mapping(dumper, value, META_KEYS)
        else:
            value_node = dumper.represent_data(value)
        node.value.append((dumper.represent_data(key), value_node))
    return node


def _represent_dict(dumper: _Dumper, data: dict[str, Any]) -> Any:
    return _represent_mapping(dumper, data, ())


def _represent_str(dumper: _Dumper, data: str) -> Any:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=requested_style(data))


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(str, _represent_str)


def dump(obj: Any, *, top_level: bool = True) -> bytes:
    """Serialise `obj` as one UTF-8 YAML document in the export style (ends with one newline).

    `top_level` applies the Kubernetes object order (`apiVersion, kind, metadata` first).
    """
    text = emit(obj, top_level)
    if text is not None:
        return text.encode("utf-8")
    return pyyaml_dump(obj, top_level=top_level)


def pyyaml_dump(obj: Any, *, top_level: bool = True) -> bytes:
    """`dump` through PyYAML's emitter (what `emit` must match, and its fallback)."""
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
        return _represent_mapping(dumper, data, TOP_KEYS)
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
