"""Electronic exchanges: chats, messages and calls beside the payments.

Parsers read each export format into `Exchange` records that keep the UTC time, the raw time
text and where the zone came from; `store` writes them into the workspace with the
identifiers they carry; `bridge` ties those identifiers to payment parties; `correlate`
finds the links between a party's exchanges and its payments.
"""

from vigil.exchanges.records import Exchange, ExchangeError, Participant

__all__ = ["Exchange", "ExchangeError", "Participant"]
