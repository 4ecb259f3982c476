"""Plain records shared by every layer: resource types, object keys, changes, times."""

from khronoscope.core.types import Change, ChangeKind, ObjectKey, ResourceType

__all__ = ["Change", "ChangeKind", "ObjectKey", "ResourceType"]
