"""The archive: WARC records for every HTTP exchange, rotating WARC files, spool recovery."""
