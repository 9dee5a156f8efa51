"""Training, evaluation and use of the Keras model on curated Parquet.

Nothing here imports TensorFlow at module import time except ``model``, ``loop``, ``export`` and
``infer``: the CLI imports those only inside the train/evaluate/generate/predict/export commands.
"""
