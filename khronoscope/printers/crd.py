"""Columns of custom resources: the CRD's additionalPrinterColumns (else NAME and AGE).

A CRD object says, per served version, which JSONPaths to print. `CrdColumns.from_crd` reads
that once; `cells(obj)` evaluates it on one custom resource.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from khronoscope.printers.columns import CellKind, Column
from khronoscope.printers.jsonpath import JSONPathError, compile_path
from khronoscope.printers.kube import ts

CRD_TYPE = "customresourcedefinitions.apiextensions.k8s.io"


@dataclass(frozen=True)
class CrdColumns:
    """The printer columns of one version of one CRD, compiled."""

    type_name: str
    version: str
    fmt: str
    columns: tuple[Column, ...]
    paths: tuple[Callable[[Any], list[Any]], ...]
    types: tuple[str, ...]

    @classmethod
    def from_crd(cls, crd: dict[str, Any], version: str | None = None) -> CrdColumns | None:
        """Columns of `version` (default: the storage version); None if it defines none."""
        spec = crd.get("spec") or {}
        group = spec.get("group", "")
        plural = (spec.get("names") or {}).get("plural", "")
        versions = spec.get("versions") or []
        chosen = None
        for v in versions:
            if version is not None and v.get("name") == version:
                chosen = v
                break
        if chosen is None:
            chosen = next(
                (v for v in versions if v.get("storage")), versions[0] if versions else None
            )
        raw = (chosen or {}).get("additionalPrinterColumns") or spec.get("additionalPrinterColumns")
        if not raw:
            return None
        cols: list[Column] = []
        paths: list[Callable[[Any], list[Any]]] = []
        types: list[str] = []
        for c in raw:
            kind = c.get("type", "string")
            cell_kind = CellKind.AGE if kind == "date" else CellKind.TEXT
            cols.append(
                Column(str(c.get("name", "")).upper(), cell_kind, (c.get("priority") or 0) > 0)
            )
            try:
                paths.append(compile_path(c.get("jsonPath", "")))
            except JSONPathError:
                paths.append(_nothing)
            types.append(kind)
        digest = hashlib.sha1(json.dumps(raw, sort_keys=True).encode()).hexdigest()[:10]
        type_name = f"{plural}.{group}" if group else plural
        ver = (chosen or {}).get("name", "")
        return cls(type_name, ver, f"crd:{digest}", tuple(cols), tuple(paths), tuple(types))

    def cells(self, obj: dict[str, Any]) -> tuple[Any, ...]:
        """The cells of one custom resource."""
        out: list[Any] = []
        for path, kind in zip(self.paths, self.types, strict=True):
            found = path(obj)
            if kind == "date":
                out.append(ts(found[0]) if found and isinstance(found[0], str) else None)
            else:
                out.append(",".join(_text(v) for v in found))
        return tuple(out)


def _nothing(obj: Any) -> list[Any]:
    return []


def _text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)
