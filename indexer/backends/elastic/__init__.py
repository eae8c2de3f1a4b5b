"""The search-engine index family: shared mapping, queries and logic; one dialect per engine."""
