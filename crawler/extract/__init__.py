"""Article extraction: pure functions from HTML to fields (no Scrapy inside)."""

from crawler.extract.article import ExtractionError, RawArticle, extract_article
from crawler.extract.rules import ExtractionRules

__all__ = ["ExtractionError", "ExtractionRules", "RawArticle", "extract_article"]

from crawler.extract.version import EXTRACTOR_VERSION  # noqa: E402

__all__ += ["EXTRACTOR_VERSION"]
