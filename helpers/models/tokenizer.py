"""CLIP's tokenizer made offline: a CLIP-format vocabulary written from a list of words (no download), and a
random CLIP text encoder sized for it. The random tiny models, the trained worlds and the Hub-shaped cache use it.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

# Words that get whole-word tokens; any other text still tokenizes, byte by byte.
VOCAB_WORDS = (
    "a an the of in on with and or by photo portrait painting woman man girl boy face person "
    "best quality extremely detailed high highly realistic photograph oil cinematic lighting "
    "sandra oh rihanna taylor swift mr potato head monochrome lowres bad anatomy worst low "
    "circle background red green blue yellow white black orange purple cyan pink gray brown "
    "pearl earring vermeer grace hopper admiral navy uniform"
).split()


def _bytes_to_unicode() -> dict[int, str]:
    """CLIP's (and GPT-2's) reversible map from bytes to printable unicode symbols."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in codes)))


def write_clip_tokenizer_files(folder: Path, words: tuple[str, ...] = tuple(VOCAB_WORDS), vocab_size: int | None = None) -> int:
    """Write a CLIP-format ``vocab.json`` and ``merges.txt`` to ``folder``; return the vocabulary size.

    The vocabulary has CLIP's layout: the 256 byte symbols, the same with the end-of-word mark
    ``</w>``, one token per merge (each word is merged left to right), then the two special tokens.
    ``vocab_size`` (e.g. CLIP's 49,408) pads it with filler merges of two byte symbols, ranked after
    the words' merges so they never split a word, until the special tokens get CLIP's real ids.
    """
    symbols = list(_bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols]
    ranks: dict[tuple[str, str], int] = {}
    for word in dict.fromkeys(w.lower() for w in words):
        # Apply the merges so far, as the tokenizer will (lowest rank first), then add new merges that
        # join what is left, left to right. New merges rank last, so they never split earlier words.
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        while len(pieces) > 1:
            pairs = [(ranks.get(pair, len(ranks)), i) for i, pair in enumerate(zip(pieces, pieces[1:]))]
            rank, i = min(pairs)
            if rank == len(ranks):  # no known merge applies: add one for the leftmost pair
                ranks[(pieces[0], pieces[1])] = rank
                vocab.append(pieces[0] + pieces[1])
                i = 0
            pieces[i : i + 2] = [pieces[i] + pieces[i + 1]]
    if vocab_size is not None:
        known = set(vocab)
        fillers = ((a, b) for a in symbols for b in symbols if a + b not in known)
        while len(vocab) < vocab_size - 2:
            a, b = next(fillers)
            ranks[(a, b)] = len(ranks)
            vocab.append(a + b)
    merges = list(ranks)
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({token: i for i, token in enumerate(vocab)}), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")
    return len(vocab)


def clip_tokenizer(words: tuple[str, ...] = tuple(VOCAB_WORDS)):
    """A ``CLIPTokenizer`` with a whole-word token for each of ``words`` (any other text falls back to bytes)."""
    from transformers import CLIPTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        write_clip_tokenizer_files(Path(tmp), tuple(words))
        return CLIPTokenizer.from_pretrained(tmp, model_max_length=77)


def clip_text_encoder(tokenizer, **config):
    """A randomly initialised ``CLIPTextModel`` sized for ``tokenizer`` and using its special tokens."""
    from transformers import CLIPTextConfig, CLIPTextModel

    bos, eos = tokenizer.convert_tokens_to_ids(["<|startoftext|>", "<|endoftext|>"])
    return CLIPTextModel(CLIPTextConfig(vocab_size=len(tokenizer), bos_token_id=bos, eos_token_id=eos, pad_token_id=eos, **config))
