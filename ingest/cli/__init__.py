"""Ingest's commands: ingest, scan, ingests."""
