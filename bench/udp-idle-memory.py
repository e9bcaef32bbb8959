#!/usr/bin/env python3
# Opens N idle UDP associations (one control connection each) against a running KestrelSocks and reports the
# server's RSS per association. usage: udpidle.py PROXYPORT SERVERPID N
import socket, struct, sys, time
port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def rss():
    for line in open(f'/proc/{pid}/status'):
        if line.startswith('VmRSS:'): return int(line.split()[1])
def rd(s, k):
    b = b''
    while len(b) < k:
        c = s.recv(k - len(b))
        if not c: raise Exception('eof')
        b += c
    return b
# warm up: a few associations so JIT and pools exist
def open_assoc():
    c = socket.create_connection(('127.0.0.1', port))
    c.sendall(b'\x05\x01\x00\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00')
    r = rd(c, 12)
    assert r[3] == 0 and r[5] == 1, r
    return c
warm = [open_assoc() for _ in range(50)]
for c in warm: c.close()
time.sleep(2)
before = rss()
conns = [open_assoc() for _ in range(n)]
time.sleep(3)
after = rss()
print(f'{n} idle associations: RSS {before} KiB -> {after} KiB, {(after - before) / n:.2f} KiB per association (control connection included)')
for c in conns: c.close()
