"""Recipes: Scale's multi-step workflows (definitions, data filters, store, engine, API)."""
