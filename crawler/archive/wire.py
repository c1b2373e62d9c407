"""Capture the HTTP heads as they crossed the wire, for the archive.

Scrapy's HTTP/1.1 handler (on Twisted) hands middlewares a body that is
de-chunked but still content-encoded — what a WARC response record wants —
but it loses the reason phrase, the header names' case, the order of
repeated headers and the connection headers (Content-Length,
Transfer-Encoding, Connection), and it never shows the request as sent.
This handler keeps Scrapy's download path and tees the bytes: the request
exactly as written to the socket, and the response head exactly as read.
The capture travels to the archive middleware in ``request.meta[WIRE_META]``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
    _ScrapyAgent,
)
from scrapy.exceptions import ResponseDataLossError
from scrapy.utils._download_handlers import get_dataloss_msg, wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future

logger = logging.getLogger(__name__)

WIRE_META = "archive_wire"
_HEAD_END = b"\r\n\r\n"
# A response head larger than this is not a head we can archive faithfully.
_MAX_HEAD = 256 * 1024


@dataclass(frozen=True)
class WireCapture:
    """What was written for one request, and the response head that came back."""

    sent: bytes  # request line, headers and body, as written to the connection
    response_head: bytes  # status line and headers up to the blank line, as read


class _TeeTransport:
    """A transport that copies what the protocol writes to its current capture."""

    def __init__(self, transport, protocol: _WireCapturingProtocol):
        self._transport = transport
        self._protocol = protocol

    def write(self, data: bytes) -> None:
        self._protocol.wire_sent += data
        self._transport.write(data)

    def writeSequence(self, data) -> None:  # noqa: N802 (Twisted's interface name)
        data = list(data)
        for chunk in data:
            self._protocol.wire_sent += chunk
        self._transport.writeSequence(data)

    def __getattr__(self, name):
        return getattr(self._transport, name)


class _WireCapturingProtocol(_LenientHTTP11ClientProtocol):
    wire_sent = bytearray()

    def makeConnection(self, transport) -> None:  # noqa: N802 (Twisted's interface name)
        super().makeConnection(_TeeTransport(transport, self))

    def request(self, request):
        # One connection carries requests one after another (keep-alive):
        # each request starts its own capture.
        self.wire_sent = bytearray()
        self._wire_head = bytearray()
        self._wire_head_done = False
        deferred = super().request(request)

        def attach(response):
            response._archiver_wire = WireCapture(bytes(self.wire_sent), bytes(self._wire_head))
            return response

        deferred.addCallback(attach)
        return deferred

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 (Twisted's interface name)
        if not getattr(self, "_wire_head_done", True):
            self._wire_head += data
            end = self._wire_head.find(_HEAD_END)
            if end >= 0:
                del self._wire_head[end + len(_HEAD_END) :]
                self._wire_head_done = True
            elif len(self._wire_head) > _MAX_HEAD:
                self._wire_head_done = True
        super().dataReceived(data)


class _WireCapturingFactory(_LenientHTTP11ClientFactory):
    def buildProtocol(self, addr):  # noqa: N802 (Twisted's interface name)
        return _WireCapturingProtocol(self._quiescentCallback)


class _WireCapturingAgent(_ScrapyAgent):
    def _cb_bodyready(self, txresponse, request):
        capture = getattr(txresponse, "_archiver_wire", None)
        if capture is not None:
            request.meta[WIRE_META] = capture
        return super()._cb_bodyready(txresponse, request)


class WireCapturingDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 download handler, teeing each exchange's heads."""

    def __init__(self, crawler):
        super().__init__(crawler)
        self._pool._factory = _WireCapturingFactory

    async def download_request(self, request):
        # As HTTP11DownloadHandler.download_request, with the capturing agent.
        agent = _WireCapturingAgent(
            contextFactory=self._contextFactory,
            bindAddress=self._bind_address,
            pool=self._pool,
            maxsize=self._default_maxsize,
            warnsize=self._default_warnsize,
            fail_on_dataloss=self._fail_on_dataloss,
            crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        try:
            with wrap_twisted_exceptions():
                return await maybe_deferred_to_future(agent.download_request(request))
        except ResponseDataLossError:
            if not self._fail_on_dataloss_warned:
                logger.warning(get_dataloss_msg(request.url))
                self._fail_on_dataloss_warned = True
            raise
