"""Scale's job contract on its own (what `seedpipe job run` uses): staging, env, outputs, errors."""
