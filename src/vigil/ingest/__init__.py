"""Ingest: read payment files, validate every row, quarantine the bad ones, convert amounts."""

from vigil.ingest.fx import FxRates, load_fx_rates
from vigil.ingest.run import FileIngest, IngestResult, ingest

__all__ = ["FileIngest", "FxRates", "IngestResult", "ingest", "load_fx_rates"]
