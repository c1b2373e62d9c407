"""Incremental crawls: remember what was archived, fetch only what is new or changed."""
