#!/usr/bin/env python3
"""A SOCKS5 client for the load-balancer tests, run inside the client network namespace.

  socks_client.py PROXY_HOST PROXY_PORT echo TARGET_HOST TARGET_PORT MESSAGE
  socks_client.py PROXY_HOST PROXY_PORT bulk TARGET_HOST TARGET_PORT SIZE RATE
  socks_client.py PROXY_HOST PROXY_PORT udp  TARGET_HOST TARGET_PORT COUNT
  socks_client.py PROXY_HOST PROXY_PORT raw

Each mode prints JSON lines: {"event": "replied", ...} once the SOCKS reply arrived (bulk, udp), then one final
{"event": "done", "ok": true|false, ...}. Anonymous (no-authentication) method only. Every socket operation is
bounded by a timeout; a failure is reported as ok=false with the error, never as a hang.
"""
import hashlib
import ipaddress
import json
import socket
import struct
import sys

TIMEOUT = 20


def emit(**fields):
    print(json.dumps(fields), flush=True)


def recv_exact(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError(f"closed after {len(data)} of {count} bytes")
        data += chunk
    return data


def encode_address(host, port):
    try:
        packed = ipaddress.IPv4Address(host).packed
        return b"\x01" + packed + struct.pack(">H", port)
    except ValueError:
        name = host.encode()
        return b"\x03" + bytes([len(name)]) + name + struct.pack(">H", port)


def read_reply(sock):
    version, reply, _, atyp = recv_exact(sock, 4)
    if version != 5:
        raise ValueError(f"reply version {version}")
    if atyp == 1:
        host = str(ipaddress.IPv4Address(recv_exact(sock, 4)))
    elif atyp == 4:
        host = str(ipaddress.IPv6Address(recv_exact(sock, 16)))
    else:
        host = recv_exact(sock, recv_exact(sock, 1)[0]).decode()
    port = struct.unpack(">H", recv_exact(sock, 2))[0]
    return reply, host, port


def open_session(proxy, command, host, port):
    sock = socket.create_connection(proxy, timeout=TIMEOUT)
    sock.sendall(b"\x05\x01\x00")
    if recv_exact(sock, 2) != b"\x05\x00":
        raise ValueError("no-authentication method not accepted")
    sock.sendall(b"\x05" + bytes([command]) + b"\x00" + encode_address(host, port))
    reply, bound_host, bound_port = read_reply(sock)
    local = sock.getsockname()
    return sock, reply, bound_host, bound_port, f"{local[0]}:{local[1]}"


def echo(proxy, host, port, message):
    sock, reply, bound_host, bound_port, local = open_session(proxy, 1, host, port)
    with sock:
        if reply != 0:
            return dict(ok=False, reply=reply, local=local)
        data = message.encode()
        sock.sendall(data)
        received = recv_exact(sock, len(data))
        sock.shutdown(socket.SHUT_WR)
        rest = sock.recv(1)
        return dict(ok=received == data and rest == b"", reply=reply, local=local, echoed=received.decode(errors="replace"))


def bulk(proxy, host, port, size, rate):
    sock, reply, bound_host, bound_port, local = open_session(proxy, 1, host, port)
    with sock:
        if reply != 0:
            return dict(ok=False, reply=reply, local=local)
        sock.sendall(f"{size} {rate}\n".encode())
        digest = hashlib.sha256()
        received = 0
        first = True
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            if first:
                emit(event="replied", reply=reply, local=local)
                first = False
            digest.update(chunk)
            received += len(chunk)
        sock.shutdown(socket.SHUT_WR)
        return dict(ok=received == size, reply=reply, local=local, received=received, sha256=digest.hexdigest())


def udp(proxy, host, port, count):
    # The control connection says the client sends from 0.0.0.0:0 (any address and port, RFC 1928).
    sock, reply, relay_host, relay_port, local = open_session(proxy, 3, "0.0.0.0", 0)
    with sock:
        if reply != 0:
            return dict(ok=False, reply=reply, local=local)
        emit(event="replied", reply=reply, local=local, relay=f"{relay_host}:{relay_port}")
        datagrams = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        datagrams.settimeout(2)
        echoed = 0
        sender = None
        with datagrams:
            header = b"\x00\x00\x00" + encode_address(host, port)
            for i in range(count):
                payload = f"datagram {i}".encode()
                # A lost datagram is sent again a few times: UDP may drop, the relay path must not.
                for _ in range(5):
                    datagrams.sendto(header + payload, (relay_host, relay_port))
                    try:
                        data, sender = datagrams.recvfrom(65536)
                    except socket.timeout:
                        continue
                    if data.endswith(payload):
                        echoed += 1
                        break
        return dict(ok=echoed == count, reply=reply, local=local, relay=f"{relay_host}:{relay_port}", echoed=echoed,
                    repliedFrom=None if sender is None else f"{sender[0]}:{sender[1]}")


def raw(proxy):
    # A SOCKS greeting straight at the listener, with no PROXY header before it. Closed (FIN or RST) is the answer wanted.
    sock = socket.create_connection(proxy, timeout=TIMEOUT)
    with sock:
        local = sock.getsockname()
        try:
            sock.sendall(b"\x05\x01\x00")
            data = sock.recv(16)
        except (ConnectionResetError, BrokenPipeError):
            return dict(ok=True, closed=True, reset=True, received="", local=f"{local[0]}:{local[1]}")
        return dict(ok=True, closed=data == b"", reset=False, received=data.hex(), local=f"{local[0]}:{local[1]}")


def main():
    proxy = (sys.argv[1], int(sys.argv[2]))
    mode = sys.argv[3]
    try:
        if mode == "echo":
            result = echo(proxy, sys.argv[4], int(sys.argv[5]), sys.argv[6])
        elif mode == "bulk":
            result = bulk(proxy, sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]))
        elif mode == "udp":
            result = udp(proxy, sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
        elif mode == "raw":
            result = raw(proxy)
        else:
            raise ValueError(f"unknown mode {mode}")
    except Exception as error:  # Reported, not raised: the test reads the JSON.
        result = dict(ok=False, error=f"{type(error).__name__}: {error}")
    emit(event="done", **result)


if __name__ == "__main__":
    main()
