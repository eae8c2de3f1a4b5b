"""Above the services: `seedpipe up` (every service in one process) and the one HTTP app."""
