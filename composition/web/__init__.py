"""The catalogue page: its routes, its built assets, the offline basemap and live updates."""
