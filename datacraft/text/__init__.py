"""Text utilities shared by stages: a fast word tokenizer, line/paragraph/sentence splitting, cached features."""

from datacraft.text.cache import TextFeatures, features
from datacraft.text.segment import count_sentences, lines, nonblank_lines, paragraphs
from datacraft.text.words import is_punct_token, split_words

__all__ = [
    "TextFeatures",
    "count_sentences",
    "features",
    "is_punct_token",
    "lines",
    "nonblank_lines",
    "paragraphs",
    "split_words",
]
