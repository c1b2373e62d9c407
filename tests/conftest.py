"""Test-wide set-up: the asyncio reactor, as the crawler itself runs."""

from scrapy.utils.reactor import install_reactor


def pytest_configure(config):
    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
