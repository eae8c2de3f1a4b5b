"""indexer: a catalogue of file records searchable by place, time and type."""
