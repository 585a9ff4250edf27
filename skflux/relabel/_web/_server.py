"""uvicorn serving the review app from a daemon thread, on a socket bound up front."""

import ipaddress
import socket
import threading
import time
import warnings

__all__ = ["ServerThread", "network_exposure"]


def network_exposure(address):
    """Why a page bound to ``address`` is reachable from other machines, or "" when not.

    Only loopback addresses (127.0.0.0/8, ::1) keep the page on this machine;
    a name is resolved, and any other address (``0.0.0.0``: every interface)
    is reachable from the network.
    """
    try:
        infos = socket.getaddrinfo(address, None, proto=socket.IPPROTO_TCP)
        ips = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
    except (OSError, ValueError):
        ips = set()
    if ips and all(ip.is_loopback for ip in ips):
        return ""
    return ("reachable from the network: anyone who can reach this machine and sees the "
            "address with its token can view the videos and give verdicts. Use host "
            "127.0.0.1 (the default) and an SSH tunnel to review from another machine.")


class ServerThread:
    """Serve an ASGI ``app`` on ``host:port`` (0: any free port) in a background thread.

    The socket is bound in the constructor, so :attr:`port` is known at once
    and a busy port fails here, naming it.
    """

    def __init__(self, app, host, port):
        import uvicorn

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # proto=IPPROTO_TCP: asyncio then sets TCP_NODELAY on each connection (with proto 0
        # it does not, and Nagle's algorithm adds ~40 ms to every keep-alive answer)
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, int(port)))
        except OSError as exc:
            sock.close()
            raise OSError(f"WebOracle cannot listen on {host}:{port} ({exc}); pass another "
                          "port (port=0 picks a free one) or host") from exc
        sock.listen(64)
        self.socket = sock
        self.host = host
        self.port = sock.getsockname()[1]
        exposed = network_exposure(sock.getsockname()[0])
        if exposed:
            warnings.warn(f"the review page listens on {host}:{self.port}, {exposed}",
                          UserWarning, stacklevel=3)
        config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False,
                                ws="none", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       name=f"skflux-review-web-{self.port}", daemon=True)

    def start(self, timeout=20.0):
        """Start serving; wait until uvicorn accepts connections."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"the review server on {self.host}:{self.port} failed to "
                                   "start (see the messages above)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the review server on {self.host}:{self.port} did not start "
                                   f"within {timeout:.0f} s")
            time.sleep(0.01)

    def stop(self, timeout=5.0):
        """Ask uvicorn to exit and wait for the thread."""
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout)
        try:
            self.socket.close()
        except OSError:  # pragma: no cover - already closed by uvicorn
            pass
