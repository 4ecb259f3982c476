"""One bookmark store for every source: the live session, a v0.1 recording, a segmented one.

A source's bookmarks are those stored in what it reads (a recording's bookmark records; none
live) with the changes made since: added, renamed, removed. Where those changes persist is the
source's business (a recording's sidecar file, recording/bookmarks.py; the live session's
recorder mirrors `list()` into its recording); how ids are given is the store's, the same for
all: an id is never given twice, not even one whose bookmark was deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from khronoscope.core.source import Bookmark


class BookmarkJournal(Protocol):
    """Where changes made to a source's bookmarks persist (a recording's sidecar)."""

    added: dict[int, Bookmark]
    removed: set[int]

    def add(self, bookmark: Bookmark) -> None:
        """Persist an added or renamed bookmark."""
        ...

    def remove(self, bookmark_id: int) -> None:
        """Persist a removal."""
        ...


class MemoryJournal:
    """A journal that keeps the changes in memory only (the live session's)."""

    def __init__(self) -> None:
        self.added: dict[int, Bookmark] = {}
        self.removed: set[int] = set()

    def add(self, bookmark: Bookmark) -> None:
        """Keep an added or renamed bookmark."""
        self.added[bookmark.id] = bookmark
        self.removed.discard(bookmark.id)

    def remove(self, bookmark_id: int) -> None:
        """Forget a bookmark."""
        self.added.pop(bookmark_id, None)
        self.removed.add(bookmark_id)


def _none() -> dict[int, Bookmark]:
    return {}


class BookmarkStore:
    """A source's bookmarks: the recorded ones (`recorded()`, re-read on each call: a followed
    recording grows) with the journal's changes applied."""

    def __init__(
        self,
        journal: BookmarkJournal | None = None,
        recorded: Callable[[], dict[int, Bookmark]] = _none,
        recorded_max_id: Callable[[], int] = lambda: 0,
    ) -> None:
        self.journal: BookmarkJournal = journal if journal is not None else MemoryJournal()
        self._recorded = recorded
        self._recorded_max_id = recorded_max_id
        self._issued = 0  # the highest id given here

    def _known(self) -> dict[int, Bookmark]:
        journal = self.journal
        out = {i: b for i, b in self._recorded().items() if i not in journal.removed}
        out.update(journal.added)
        return out

    def list(self) -> list[Bookmark]:
        """Every bookmark, oldest first."""
        return sorted(self._known().values(), key=lambda b: (b.t, b.id))

    def add(self, bookmark: Bookmark) -> Bookmark:
        """Store a bookmark: one with a known id replaces it; any other gets a new id (the one
        it carries when no bookmark ever had it or a higher one)."""
        known = self._known()
        if bookmark.id == 0 or bookmark.id not in known:
            used = max(
                (*known, *self.journal.removed, self._recorded_max_id(), self._issued), default=0
            )
            new_id = bookmark.id if bookmark.id > used else used + 1
            bookmark = Bookmark(bookmark.t, bookmark.label, bookmark.key, new_id)
        self._issued = max(self._issued, bookmark.id)
        self.journal.add(bookmark)
        return bookmark

    def remove(self, bookmark_id: int) -> None:
        """Remove a bookmark (a recorded one is hidden by the journal's removal)."""
        self.journal.remove(bookmark_id)

    def rename(self, bookmark_id: int, label: str) -> Bookmark | None:
        """Give a bookmark a new label (None when there is none with that id)."""
        known = self._known().get(bookmark_id)
        if known is None:
            return None
        renamed = Bookmark(known.t, label, known.key, known.id)
        self.journal.add(renamed)
        return renamed


class StoredBookmarks:
    """The HistorySource bookmark methods for a source that keeps its bookmarks in a
    `BookmarkStore` (the live session, the recorded sources): each one is the store's."""

    bookmark_store: BookmarkStore

    def bookmarks(self) -> list[Bookmark]:
        """The source's bookmarks, oldest first (recorded ones with the changes made since)."""
        return self.bookmark_store.list()

    def add_bookmark(self, bookmark: Bookmark) -> Bookmark:
        """Store a bookmark: a new id, unless it carries a known one (then it replaces it)."""
        return self.bookmark_store.add(bookmark)

    def remove_bookmark(self, bookmark_id: int) -> None:
        """Delete a bookmark by id (nothing if there is none; a recorded one is hidden)."""
        self.bookmark_store.remove(bookmark_id)

    def rename_bookmark(self, bookmark_id: int, label: str) -> Bookmark | None:
        """Give a bookmark a new label (None when there is none with that id)."""
        return self.bookmark_store.rename(bookmark_id, label)
