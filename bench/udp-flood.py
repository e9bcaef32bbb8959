#!/usr/bin/env python3
"""The descriptor-budget flood: N control connections (each from its own loopback address, 127.0.x.y) send 256
pipelined UDP ASSOCIATE requests each; reports how many opened and how were refused, the health endpoint, the budget
metrics, and whether a new client is answered during and after. Usage: bench/udp-flood.py SOCKS_PORT ADMIN_PORT N"""
import socket, struct, sys, time, urllib.request
port, admin, conns = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
req = b"\x05\x03\x00\x01" + b"\x00"*6
socks = []; ok = fail = closed = 0
t = time.time()
for c in range(conns):
    src = f"127.0.{1 + c // 250}.{2 + c % 250}"
    s = socket.socket(); s.bind((src, 0)); s.connect(("127.0.0.1", port))
    s.sendall(b"\x05\x01\x00" + req * 256)
    socks.append(s)
    f = s.makefile("rb")
    if f.read(2) != b"\x05\x00": closed += 1; continue
    for i in range(256):
        r = f.read(10)
        if len(r) < 10: closed += 1; break
        if r[1] == 0: ok += 1
        else: fail += 1
print(f"{conns} connections x 256 in {time.time()-t:.1f} s: {ok} associations, {fail} refused with a reply, {closed} connections closed (at accept, or after a refused first request)")
h = urllib.request.urlopen(f"http://127.0.0.1:{admin}/healthz/live", timeout=5).status
m = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5).read().decode()
print("healthz/live", h)
for line in m.splitlines():
    if line.startswith(("kestrelsocks_descriptors", "kestrelsocks_requests_refused", "kestrelsocks_udp_associations_active")): print(line)
s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"\x05\x01\x00" + req); print("new client while held (closed at accept is expected):", s.recv(12)[:4].hex() or "closed")
for s in socks: s.close()
time.sleep(2)
s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"\x05\x01\x00" + req); print("new client after:", s.recv(12)[:4].hex())
