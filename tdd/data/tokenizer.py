"""Tokenizers built with Hugging Face ``tokenizers``, saved beside checkpoints: word-level for a closed
vocabulary (the scenes), WordPiece or BPE trained on the training captions for open text (COCO).

Ids 0..2 are reserved: ``PAD_ID`` fills captions to a fixed length, ``MASK_ID`` is the masked
diffusion baseline's [MASK], ``UNK_ID`` stands for words outside the vocabulary.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from tdd.checkpoint import CheckpointError, atomic_write_text

PAD, MASK, UNK = "[PAD]", "[MASK]", "[UNK]"
PAD_ID, MASK_ID, UNK_ID = 0, 1, 2
TOKENIZER_NAME = "tokenizer.json"


def word_tokenizer(words: Sequence[str]):
    """A ``tokenizers.Tokenizer`` over whitespace-separated ``words`` (lower-case), specials first."""

    vocab = {PAD: PAD_ID, MASK: MASK_ID, UNK: UNK_ID}
    for w in words:
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.add_special_tokens([PAD, MASK, UNK])
    return tok


TOKENIZER_KINDS = ("word", "wordpiece", "bpe")


def train_tokenizer(texts: Sequence[str], kind: str = "wordpiece", vocab_size: int = 8000):
    """A tokenizer trained on ``texts`` (lower-cased), with ``[PAD]``, ``[MASK]``, ``[UNK]`` as ids 0..2.

    ``"word"``: every whitespace-separated word (a closed vocabulary); ``"wordpiece"`` (BERT's
    pre-tokenizer and decoder) or ``"bpe"`` (Metaspace, as SentencePiece): at most ``vocab_size``
    sub-word tokens.
    """

    if kind not in TOKENIZER_KINDS:
        raise ValueError(f"tokenizer kind must be one of {TOKENIZER_KINDS}, got {kind!r}")
    if kind == "word":
        return word_tokenizer(sorted({w for t in texts for w in t.lower().split()}))
    specials = [PAD, MASK, UNK]
    if kind == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        trainer: trainers.Trainer = trainers.WordPieceTrainer(
            vocab_size=vocab_size, special_tokens=specials, show_progress=False
        )
    else:
        tok = Tokenizer(models.BPE(unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False)
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.train_from_iterator(texts, trainer=trainer)
    assert [tok.token_to_id(t) for t in specials] == [PAD_ID, MASK_ID, UNK_ID]
    return tok


def encode(tokenizer, texts: Sequence[str], max_len: int, truncate: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Texts → ids ``(B, max_len)`` padded with ``PAD_ID``, and the mask of real tokens ``(B, max_len)``.

    Raises:
        ValueError: when a text is longer than ``max_len`` tokens and ``truncate`` is off (it would be
            cut silently otherwise); with ``truncate`` the first ``max_len`` tokens are kept.
    """
    ids = torch.full((len(texts), max_len), PAD_ID, dtype=torch.long)
    for i, text in enumerate(texts):
        row = tokenizer.encode(text).ids
        if len(row) > max_len:
            if not truncate:
                raise ValueError(f"text has {len(row)} tokens, more than max_len={max_len}: {text!r}")
            row = row[:max_len]
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return ids, ids != PAD_ID


def decode(tokenizer, ids: torch.Tensor) -> list[str]:
    """ids ``(B, N)`` → texts, dropping [PAD]/[MASK]/[UNK]."""
    return [tokenizer.decode(row.tolist(), skip_special_tokens=True) for row in ids]


def save_tokenizer(tokenizer, directory: str | os.PathLike) -> None:
    """Write ``tokenizer.json`` into a checkpoint directory, atomically."""

    atomic_write_text(os.path.join(directory, TOKENIZER_NAME), tokenizer.to_str(pretty=True))


def load_tokenizer(directory: str | os.PathLike):
    """Read ``tokenizer.json`` from a checkpoint directory (a :class:`CheckpointError` when missing or bad)."""

    path = os.path.join(directory, TOKENIZER_NAME)
    if not os.path.isfile(path):
        raise CheckpointError(path, "missing: this checkpoint needs its tokenizer")
    try:
        return Tokenizer.from_file(path)
    except Exception as e:  # tokenizers raises a bare Exception on malformed JSON
        raise CheckpointError(path, f"not a valid tokenizer file ({e})") from e
