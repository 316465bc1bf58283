"""Large populations are simulated in shards: bounded memory whatever the size.

A shard is a slice of every population's senders with the beneficiaries they pay, simulated
and written before the next is drawn. Each shard has its own random streams; the first keeps
those of the unsharded generator, so a population that fits in one shard (every one the tests
and demos use) gives the same files as before shards existed.
"""

from __future__ import annotations

# Senders simulated at once. Memory grows with them (about 9.5 GiB at 620,000 senders, 10M
# payments), so a larger population is made in shards of at most this many: about 3.3M
# payments at a time.
SHARD_SENDERS = 200_000


def stream_key(seed: int, stream: int, shard: int) -> list[int]:
    """The key of one random stream of one shard: shard 0 keeps the unsharded key."""
    return [seed, stream] if shard == 0 else [seed, stream, shard]


def shard_counts(counts: list[int], shards: int) -> list[list[int]]:
    """Each population's senders spread evenly over `shards` (the first take the rest)."""
    return [[n // shards + (shard < n % shards) for n in counts] for shard in range(shards)]
