"""Replay of the archive: pywb, in its own environment, over the WARCs and CDXJ indexes."""
