"""ingest: watch drop folders and S3 prefixes, ingest each complete file exactly once."""
