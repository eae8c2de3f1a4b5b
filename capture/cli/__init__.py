"""Commands of the capture service."""
