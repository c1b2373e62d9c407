"""A TCP forwarder on loopback that holds the first request it sees with given bytes in it:
that connection goes silent (nothing forwarded, nothing answered) until its client closes it.
Every other connection, and every later one, passes as is.

A store that never answers one given request: the only way to stop a process at one exact
point of its talk with a real server (SeaweedFS behind this), without a hook in the code.
"""

from __future__ import annotations

import socket
import threading

_CHUNK = 64 * 1024


class HoldingProxy:
    def __init__(self, upstream: str, hold: bytes):
        host, port = upstream.removeprefix("http://").rstrip("/").split(":")
        self.upstream = (host, int(port))
        self.hold = hold
        self.held = threading.Event()  # set once the request is held
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._closed = False

    def __enter__(self) -> HoldingProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._closed = True
        self.listener.close()
        with self._lock:
            for each in self._sockets:
                each.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, watched: bool) -> None:
        tail = b""  # the end of the last chunk: the bytes sought may straddle two
        try:
            while chunk := source.recv(_CHUNK):
                if watched and not self.held.is_set():
                    if self.hold in tail + chunk:
                        with self._lock:
                            first = not self.held.is_set()
                            self.held.set()
                        if first:
                            while source.recv(_CHUNK):
                                pass  # silent, whatever more it sends, until it goes away
                            break
                    tail = chunk[-len(self.hold) :]
                sink.sendall(chunk)
        except OSError:
            pass
        for each in (source, sink):
            try:
                each.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
