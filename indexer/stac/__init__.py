"""STAC: file records as items, the search parameters and the Query extension."""
