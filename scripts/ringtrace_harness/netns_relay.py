"""A TCP relay between network namespaces, for the namespaced ring (hosts.py): one process in the
root namespace that listens in one namespace and connects in another, so the services in their
namespaces reach the backends on the root namespace's 127.0.0.1 (through the hub's 10.77.0.1), and
the harness reaches the services from the root namespace's 127.0.0.1, without any address, route or
rule in the root namespace.

  python3 -m ringtrace_harness.netns_relay --spec FILE

FILE is JSON: [{"listen_ns": NAME|null, "listen": "ADDR:PORT", "connect_ns": NAME|null,
"connect": "ADDR:PORT"}, ...], null being the root namespace. A socket stays in the namespace it
was made in, so each is made after setns(2) into its namespace (ctypes: Python 3.11 has no
os.setns), then the thread returns to the root namespace. Bytes are copied both ways; an end's EOF
is passed on as a half-close; flow control follows asyncio's write buffer limits. Once every
listener is bound, "ready" is printed on stdout.
"""

import asyncio
import ctypes
import json
import os
import signal
import socket
import sys

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


class Namespaces:
    """Makes sockets inside named network namespaces (None is the one the process started in)."""

    def __init__(self):
        self.root = os.open("/proc/self/ns/net", os.O_RDONLY)
        self.fds = {}

    def fd(self, name):
        if name not in self.fds:
            self.fds[name] = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
        return self.fds[name]

    def socket(self, name):
        """A non-blocking TCP socket made inside namespace NAME."""
        if name is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        else:
            _setns(self.fd(name))
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            finally:
                _setns(self.root)
        sock.setblocking(False)
        return sock


def split(address):
    """("ADDR", PORT) of "ADDR:PORT"."""
    host, _, port = address.rpartition(":")
    return host, int(port)


class Half(asyncio.Protocol):
    """One connection of a relayed pair: what it receives is written to its peer."""

    def __init__(self):
        self.transport = None
        self.peer = None
        self.pending = []   # received before the peer connected
        self.eof = False
        self.peer_eof_sent = False

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)
        else:
            self.pending.append(data)
            self.transport.pause_reading()

    def eof_received(self):
        self.eof = True
        if self.peer is not None and self.peer.transport is not None:
            self._pass_eof()
        return True  # keep our writing side open until the peer closes it

    def _pass_eof(self):
        if not self.peer_eof_sent and not self.peer.transport.is_closing():
            self.peer_eof_sent = True
            if self.peer.transport.can_write_eof():
                self.peer.transport.write_eof()
            if self.peer.eof:
                self.transport.close()
                self.peer.transport.close()

    def pause_writing(self):
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self):
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def connection_lost(self, exc):
        if self.peer is not None and self.peer.transport is not None and not self.peer.transport.is_closing():
            # A reset or an error on one side ends the pair; a clean close was passed on as EOF.
            if exc is not None:
                self.peer.transport.abort()
            else:
                self.peer.transport.close()

    def join(self, peer):
        """Links the pair once both are connected and flushes what arrived early."""
        self.peer = peer
        for data in self.pending:
            peer.transport.write(data)
        self.pending.clear()
        self.transport.resume_reading()
        if self.eof:
            self._pass_eof()


async def _accepted(loop, namespaces, client, route):
    inbound = Half()
    transport, _ = await loop.connect_accepted_socket(lambda: inbound, client)
    transport.pause_reading()
    out = namespaces.socket(route.get("connect_ns"))
    out.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        await asyncio.wait_for(loop.sock_connect(out, split(route["connect"])), 10)
    except (OSError, asyncio.TimeoutError):
        out.close()
        transport.abort()
        return
    outbound = Half()
    await loop.connect_accepted_socket(lambda: outbound, out)
    if transport.is_closing():
        outbound.transport.close()
        return
    outbound.join(inbound)
    inbound.join(outbound)


async def _serve(loop, namespaces, listener, route):
    while True:
        client, _ = await loop.sock_accept(listener)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        loop.create_task(_accepted(loop, namespaces, client, route))


async def main_async(routes):
    loop = asyncio.get_running_loop()
    namespaces = Namespaces()
    listeners = []
    for route in routes:
        sock = namespaces.socket(route.get("listen_ns"))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(split(route["listen"]))
        sock.listen(128)
        listeners.append((sock, route))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [loop.create_task(_serve(loop, namespaces, sock, route)) for sock, route in listeners]
    print("ready", flush=True)
    await stop.wait()
    for t in tasks:
        t.cancel()


def main(argv):
    """Runs the relay until SIGTERM; exit status 2 on a wrong command line, 1 when a listener
    cannot be made."""
    if len(argv) != 2 or argv[0] != "--spec":
        print("usage: python3 -m ringtrace_harness.netns_relay --spec FILE", file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        routes = json.load(f)
    try:
        asyncio.run(main_async(routes))
    except OSError as e:
        print(f"netns_relay: {e}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
