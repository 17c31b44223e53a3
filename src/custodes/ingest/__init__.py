"""Read contract files (CSV, JSON Lines, Parquet, CERT), validate them, store them."""

from custodes.ingest.pipeline import FileResult, IngestReport, ingest_sources
from custodes.ingest.reader import expand, source_for
from custodes.ingest.source import Source

__all__ = ["FileResult", "IngestReport", "Source", "expand", "ingest_sources", "source_for"]
