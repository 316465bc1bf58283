"""Collaboration across institutions without pooling their data (`vigil share`).

Each institution scans its own payments, then `export_share` writes keyed tokens, keyed
name encodings and banded counts of the beneficiaries it pays in high-risk countries; a
linkage unit that holds no key runs `link_shares` over every institution's file; each
institution runs `import_linked` on the file the linkage unit wrote for it, which re-scores
its own parties with the cross-institution indicators. The key (`keygen`) is agreed between
the institutions and never leaves them.
"""

from vigil.share.export import ExportResult, export_share
from vigil.share.importing import ImportResult, import_linked
from vigil.share.keys import keygen, load_key
from vigil.share.link import LinkResult, link_shares

__all__ = [
    "ExportResult",
    "ImportResult",
    "LinkResult",
    "export_share",
    "import_linked",
    "keygen",
    "link_shares",
    "load_key",
]
