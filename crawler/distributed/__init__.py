"""One crawl across many worker processes, coordinated through Redis (docs/distributed.md)."""
