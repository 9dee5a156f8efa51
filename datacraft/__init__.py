"""datacraft: curate raw text shards into a pretraining corpus, then train and evaluate on it."""

__version__ = "0.1.0"
