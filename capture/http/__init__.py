"""Capture's HTTP routes: job records, job control and executions, purge."""
