"""Capture's commands: capture, job run, jobs, job-types, manifest."""
