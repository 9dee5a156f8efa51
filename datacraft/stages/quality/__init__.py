"""Quality filters: Gopher quality and repetition, C4, FineWeb, blocklists and stored-signal thresholds."""
