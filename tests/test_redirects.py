"""Component tests of the redirect middleware: chains that cannot end are cut with a count."""

import logging

import pytest
from scrapy import Spider
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.test import get_crawler

from crawler.middlewares.redirects import RedirectLoopMiddleware
from tests.helpers import project_settings

URL = "https://thanhphohaiphong.gov.vn/bai-viet.html"


def middleware_for(**overrides) -> RedirectLoopMiddleware:
    crawler = get_crawler(Spider, settings_dict=project_settings(**overrides))
    crawler.stats.open_spider()
    return RedirectLoopMiddleware.from_crawler(crawler)


def redirect_answer(request: Request, target: str) -> Response:
    return Response(request.url, status=302, headers={"Location": target}, request=request)


def test_a_redirect_chain_past_the_limit_is_dropped_counted_and_logged(caplog):
    middleware = middleware_for(REDIRECT_MAX_TIMES=10)
    chain = [f"https://thanhphohaiphong.gov.vn/hop-{n}" for n in range(10)]
    request = Request(URL, meta={"redirect_times": 10, "redirect_urls": chain})
    with caplog.at_level(logging.WARNING), pytest.raises(IgnoreRequest):
        middleware.process_response(request, redirect_answer(request, "/hop-11"))
    assert middleware.stats.get_value("pages/dropped/too_many_redirects") == 1
    assert "hop-0 -> " in caplog.text and "hop-11" in caplog.text
    # Within the limit, or not to be followed at all: Scrapy's to handle, nothing dropped.
    for meta, target in [
        ({"redirect_times": 9}, "/hop-10"),
        ({"redirect_times": 10, "dont_redirect": True}, "/hop-11"),
        ({"redirect_times": 10}, "mailto:webmaster@example.org"),
    ]:
        request = Request(URL, meta=meta)
        response = redirect_answer(request, target)
        assert middleware.process_response(request, response) is response
    assert middleware.stats.get_value("pages/dropped/too_many_redirects") == 1


def test_a_loop_is_cut_with_its_own_count(caplog):
    middleware = middleware_for()
    request = Request(URL + "?b", meta={"redirect_times": 1, "redirect_urls": [URL]})
    with caplog.at_level(logging.WARNING), pytest.raises(IgnoreRequest):
        middleware.process_response(request, redirect_answer(request, URL))
    assert middleware.stats.get_value("pages/redirect_loop") == 1
    assert "redirect loop" in caplog.text


def test_nothing_is_cut_when_redirects_are_off():
    middleware = middleware_for(REDIRECT_ENABLED=False)
    request = Request(URL, meta={"redirect_times": 10})
    response = redirect_answer(request, "/hop-11")
    assert middleware.process_response(request, response) is response
