"""Reading input shards and writing output shards."""
