"""seedpipe: event-driven ingest and metadata pipeline for geospatial and temporal data files."""

__version__ = "0.1.0"
