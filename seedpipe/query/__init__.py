"""The neutral query model: the language of searches, triggers and saved searches."""
