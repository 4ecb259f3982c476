"""Format 2: a recording as a set of immutable segments in a BlobStore (see
docs/recording-format.md). `layout` names the objects, `segfmt` lays out a segment's bytes,
`wal` spools the open segment, `sealer` turns a spooled segment into a sealed one, `writer`
drives both, `catalog` reads the index of a recording, `windows` materialises a segment's view
of one type, `history` answers the TemporalMap's read API over windows, `source` is the
HistorySource `khronoscope open` shows.
"""
