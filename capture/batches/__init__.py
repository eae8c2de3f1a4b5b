"""Batches (Scale's batch): rerun a job type over files chosen by a query or an earlier batch."""
