"""The embedded index: one SQLite file, an R*Tree over place and data time, shapely refine."""
