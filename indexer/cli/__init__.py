"""The indexer's commands: indexer, reindex, search, subscriptions."""
