"""Subword tokenizer learned from the training split, saved beside the model as ``tokenizer.json``.

Hugging Face ``tokenizers`` (Rust, multi-threaded ``encode_batch``) trains from a streamed iterator,
so the corpus is never held in memory. Byte-level BPE is the default: every string round-trips and
nothing is out of vocabulary; WordPiece and Unigram are available and report their ``[UNK]`` rate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from datacraft.errors import ConfigError
from datacraft.train.config import TokenizerConfig

PAD, UNK, EOS = "[PAD]", "[UNK]", "[EOS]"
SPECIAL_TOKENS = [PAD, UNK, EOS]  # ids 0, 1, 2 in every tokenizer


def _normalizer(cfg: TokenizerConfig) -> normalizers.Normalizer:
    parts: list[normalizers.Normalizer] = [normalizers.NFKC()]
    if cfg.lowercase:
        parts.append(normalizers.Lowercase())
    return normalizers.Sequence(parts)


def new_tokenizer(cfg: TokenizerConfig) -> tuple[Tokenizer, trainers.Trainer]:
    """An untrained tokenizer of ``cfg.kind`` and its trainer."""
    if cfg.kind == "bpe":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=cfg.vocab_size,
            min_frequency=cfg.min_frequency,
            special_tokens=SPECIAL_TOKENS,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
    elif cfg.kind == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(
            vocab_size=cfg.vocab_size,
            min_frequency=cfg.min_frequency,
            special_tokens=SPECIAL_TOKENS,
            show_progress=False,
        )
    else:
        tok = Tokenizer(models.Unigram())
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(
            vocab_size=cfg.vocab_size, special_tokens=SPECIAL_TOKENS, unk_token=UNK, show_progress=False
        )
    tok.normalizer = _normalizer(cfg)
    return tok, trainer


@dataclass
class TokenStats:
    """Vocabulary size, unknown-token rate and tokens per document over an encoded corpus."""

    vocab_size: int
    docs: int = 0
    tokens: int = 0
    unk: int = 0
    chars: int = 0
    per_split: dict[str, int] = field(default_factory=dict)

    def add(self, ids: list[list[int]], texts: list[str], unk_id: int) -> None:
        self.docs += len(ids)
        self.tokens += sum(len(x) for x in ids)
        self.unk += sum(x.count(unk_id) for x in ids)
        self.chars += sum(len(t) for t in texts)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "vocab_size": self.vocab_size,
            "docs": self.docs,
            "tokens": self.tokens,
            "unk_rate": self.unk / self.tokens if self.tokens else 0.0,
            "tokens_per_doc": self.tokens / self.docs if self.docs else 0.0,
            "chars_per_token": self.chars / self.tokens if self.tokens else 0.0,
        }


#: names under which foreign tokenizers keep their end-of-text / unknown tokens (first found wins)
EOS_NAMES = ("[EOS]", "<|endoftext|>", "</s>", "<eos>", "<|end_of_text|>", "[SEP]", "<|im_end|>")
UNK_NAMES = ("[UNK]", "<unk>", "<|unk|>")
OFFSET = len(SPECIAL_TOKENS)


class TextTokenizer:
    """A trained tokenizer: batch encode/decode and the special ids (pad 0, unk 1, eos 2).

    A tokenizer.json learned by datacraft has [PAD] [UNK] [EOS] at ids 0, 1, 2. Any other
    tokenizer.json (e.g. GPT-2's) is reused by mapping: its ids are shifted up by 3 so that 0, 1, 2
    stay pad/unk/eos, and its own end-of-text and unknown tokens (found by the usual names, see
    ``EOS_NAMES``/``UNK_NAMES``) map to [EOS] and [UNK]. The mapping depends only on the file, so a
    model directory holding the file reloads it the same way.
    """

    def __init__(self, tok: Tokenizer) -> None:
        self.tok = tok
        self.pad_id, self.unk_id, self.eos_id = 0, 1, 2
        native = tuple(tok.token_to_id(t) for t in SPECIAL_TOKENS)
        self.offset = 0 if native == (0, 1, 2) else OFFSET
        self.to_special: dict[int, int] = {}
        if self.offset:
            for names, target in ((EOS_NAMES, self.eos_id), (UNK_NAMES, self.unk_id)):
                ext = next((i for i in (tok.token_to_id(n) for n in names) if i is not None), None)
                if ext is not None:
                    self.to_special[ext + self.offset] = target
        self.from_special = {v: k - self.offset for k, v in self.to_special.items()}

    @classmethod
    def train(cls, texts: Iterable[str], cfg: TokenizerConfig) -> TextTokenizer:
        """Learn a vocabulary from a stream of texts."""
        tok, trainer = new_tokenizer(cfg)
        tok.train_from_iterator(texts, trainer=trainer)
        return cls(tok)

    @classmethod
    def load(cls, path: str | Path) -> TextTokenizer:
        try:
            return cls(Tokenizer.from_file(str(path)))
        except Exception as e:  # tokenizers raises plain Exception on a bad file
            raise ConfigError(f"{path}: not a readable tokenizer: {e}") from None

    def save(self, path: str | Path) -> None:
        from datacraft.io.atomic import write_text_atomic

        write_text_atomic(path, self.tok.to_str())

    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size(with_added_tokens=True) + self.offset

    def _map(self, ids: list[int]) -> list[int]:
        if not self.offset:
            return ids
        m = self.to_special
        return [m.get(i + self.offset, i + self.offset) for i in ids]

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [self._map(e.ids) for e in self.tok.encode_batch(texts, add_special_tokens=False)]

    def encode(self, text: str) -> list[int]:
        return self._map(self.tok.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: list[int]) -> str:
        if self.offset:
            ids = [i - self.offset for i in ids if i >= self.offset and i not in self.to_special]
        return self.tok.decode(ids, skip_special_tokens=True)
