"""The embedded bus: a durable SQLite log with partitions by key and consumer-group leases."""
