"""Downloader and spider middlewares of the archiver."""
