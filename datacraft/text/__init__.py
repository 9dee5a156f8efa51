"""Text utilities shared by stages: the word tokenizer, punctuation classes, sentence counting."""
