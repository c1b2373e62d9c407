"""Hải Phòng portal archiver: crawl, archive and extract the city news portal."""

__version__ = "0.1.0"
