"""Keyed tokens and Bloom-filter name encodings of beneficiaries, and their normal forms.

Normal forms are SQL over the workspace (one expression per column, no row loop); the keyed
functions run once per *distinct* normalised value (stdlib hmac and blake2b, in C).

The name encoding is a cryptographic long-term key (CLK, Schnell et al. 2011) built as
clkhash's `blakeHash` builds it: the name's bigrams, padded with a space at each end, each
set `BITS_PER_BIGRAM` bits of a `CLK_BITS`-bit filter, the bit indices being the unsigned
16-bit words of BLAKE2b(bigram, key, salt=str(i)) modulo the length. Similar names share
most bigrams and so most bits: the Dice coefficient of two encodings approximates that of
the names, without the names.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

import numpy as np

CLK_BITS = 1024
CLK_BYTES = CLK_BITS // 8
BITS_PER_BIGRAM = 20

# Titles and honorifics dropped before encoding; "Ma." is how Filipino forms abbreviate Maria.
_TITLES = r"\b(mr|mrs|ms|miss|dr|atty|engr|sir|madam|hon)\b\.?"


def account_sql(column: str) -> str:
    """An account or wallet identifier as any institution would key it: upper case,
    without spaces, dashes, dots or slashes (IBAN print form and electronic form agree)."""
    return f"regexp_replace(upper(trim({column})), '[\\s\\-./]', '', 'g')"


def name_sql(column: str) -> str:
    """A name reduced to what survives retyping: lower case, no accents, no titles or
    punctuation, "Ma." as maria, "de la" / "dela" / "del" joined to the surname."""
    text = f"lower(strip_accents({column}))"
    text = f"regexp_replace({text}, '{_TITLES}', ' ', 'g')"
    text = f"regexp_replace({text}, '\\bma\\.?(\\s|$)', 'maria\\1', 'g')"
    text = f"regexp_replace({text}, '[^a-z\\s]', ' ', 'g')"
    text = f"regexp_replace({text}, '\\b(de la|dela|de los|del|de|san|sta)\\s+', '\\1', 'g')"
    text = f"regexp_replace({text}, '\\s', '', 'g')"
    return f"regexp_replace(trim(regexp_replace({text}, '\\s+', ' ', 'g')), '\\s', '', 'g')"


def tokens(values: list[str], key: bytes, kind: str) -> list[str]:
    """HMAC-SHA256 of each value, the kind ('account', 'phone') bound in so that an account
    number and a phone number written alike give different tokens; hexadecimal."""
    prefix = kind.encode() + b"\x1f"
    return [hmac.new(key, prefix + v.encode(), hashlib.sha256).hexdigest() for v in values]


def bigrams(name: str) -> list[str]:
    padded = f" {name} "
    return [padded[i : i + 2] for i in range(len(padded) - 1)]


def clk(name: str, key: bytes) -> bytes:
    """The CLK of one normalised name: `CLK_BYTES` bytes, bit i of the filter in byte
    i // 8 at bit position 7 - i % 8 (bitarray's big-endian order, as clkhash serialises)."""
    filter_bits = np.zeros(CLK_BITS, dtype=np.uint8)
    hashes_per_bigram = (BITS_PER_BIGRAM + 31) // 32
    for gram in bigrams(name):
        words: list[int] = []
        for i in range(hashes_per_bigram):
            digest = hashlib.blake2b(gram.encode(), key=key[:64], salt=str(i).encode()).digest()
            words.extend(struct.unpack("<32H", digest))
        filter_bits[np.asarray(words[:BITS_PER_BIGRAM]) % CLK_BITS] = 1
    return np.packbits(filter_bits).tobytes()


def clks(names: list[str], key: bytes) -> list[bytes]:
    return [clk(n, key) for n in names]


def dice(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Dice coefficients of aligned rows of two (n, CLK_BYTES) uint8 arrays of encodings:
    2 |A ∩ B| / (|A| + |B|)."""
    both = np.bitwise_count(left & right).sum(axis=1)
    total = np.bitwise_count(left).sum(axis=1) + np.bitwise_count(right).sum(axis=1)
    return np.where(total > 0, 2 * both / np.maximum(total, 1), 0.0)
