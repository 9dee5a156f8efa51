"""Training, evaluation and use of the Keras model on curated Parquet.

Nothing here imports TensorFlow at module import time except ``model``, ``loop``, ``export`` and
``infer``: the CLI imports those only inside the train/evaluate/generate/predict/export commands.
"""

import os


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ start-up logging (call before importing tensorflow/keras)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
