#!/usr/bin/env python3
"""Target services for the load-balancer tests, run inside the target network namespace.

  target_server.py ADDRESS ECHO_PORT BULK_PORT UDP_PORT

- ECHO_PORT (TCP): echoes every byte until the peer closes.
- BULK_PORT (TCP): reads one line "SIZE RATE\\n", then sends SIZE bytes of the test pattern (byte i is i % 251) at
  about RATE bytes per second (0: as fast as possible), then closes.
- UDP_PORT (UDP): sends every datagram back to where it came from.

Prints one line "ready" once all three are bound. Stops on SIGTERM or when killed.
"""
import signal
import socket
import sys
import threading
import time

CHUNK = 16 * 1024


def pattern(offset, length):
    return bytes((offset + i) % 251 for i in range(length))


def serve(listener, handler):
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=handler, args=(connection,), daemon=True).start()


def echo(connection):
    with connection:
        while True:
            data = connection.recv(65536)
            if not data:
                return
            connection.sendall(data)


def bulk(connection):
    with connection:
        request = b""
        while not request.endswith(b"\n"):
            data = connection.recv(64)
            if not data:
                return
            request += data
        size, rate = (int(x) for x in request.split())
        # One period of the pattern is 251 bytes: send slices of a precomputed stretch.
        block = pattern(0, 251 * ((CHUNK // 251) + 2))
        started = time.monotonic()
        sent = 0
        while sent < size:
            length = min(CHUNK, size - sent)
            start = sent % 251
            connection.sendall(block[start:start + length])
            sent += length
            if rate > 0:
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        connection.shutdown(socket.SHUT_WR)
        # Wait for the peer to close, so the last bytes are never cut off by a reset.
        connection.settimeout(30)
        try:
            while connection.recv(65536):
                pass
        except OSError:
            pass


def udp_echo(sock):
    while True:
        data, peer = sock.recvfrom(65536)
        sock.sendto(data, peer)


def main():
    address = sys.argv[1]
    echo_port, bulk_port, udp_port = (int(x) for x in sys.argv[2:5])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    listeners = []
    for port in (echo_port, bulk_port):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((address, port))
        listener.listen(128)
        listeners.append(listener)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((address, udp_port))
    threading.Thread(target=serve, args=(listeners[0], echo), daemon=True).start()
    threading.Thread(target=serve, args=(listeners[1], bulk), daemon=True).start()
    threading.Thread(target=udp_echo, args=(udp,), daemon=True).start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
