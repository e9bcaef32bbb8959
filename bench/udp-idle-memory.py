#!/usr/bin/env python3
# Opens N idle UDP associations against a running KestrelSocks and reports the server's RSS and open descriptors per
# association, control connections included.
#
#   bench/udp-idle-memory.py PROXYPORT SERVERPID N [M]
#
# M (default 1) is how many associations each control connection carries (M > 1 is KestrelSocks' extension: UDP
# ASSOCIATE requests pipelined on one connection; raise Udp:MaxAssociationsPerConnection to at least M).
import os, socket, sys, time

port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
per = int(sys.argv[4]) if len(sys.argv) > 4 else 1
controls = (n + per - 1) // per

def rss():
    for line in open(f'/proc/{pid}/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1])

def descriptors():
    return len(os.listdir(f'/proc/{pid}/fd'))

def read(s, k):
    b = b''
    while len(b) < k:
        c = s.recv(k - len(b))
        if not c:
            raise Exception('the proxy closed the control connection')
        b += c
    return b

def open_control(m):
    c = socket.create_connection(('127.0.0.1', port))
    c.sendall(b'\x05\x01\x00' + b'\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00' * m)
    r = read(c, 2 + 10 * m)
    for i in range(m):
        reply = r[2 + 10 * i:12 + 10 * i]
        assert reply[1] == 0 and reply[3] == 1, reply
    return c

# Warm up: a few associations, so JIT and pools exist before the baseline.
warm = [open_control(min(per, 20)) for _ in range(5)]
for c in warm:
    c.close()
time.sleep(2)
rss_before, fds_before = rss(), descriptors()
conns = [open_control(min(per, n - i * per)) for i in range(controls)]
time.sleep(3)
rss_after, fds_after = rss(), descriptors()
print(f'{n} idle associations on {controls} control connections: RSS {rss_before} KiB -> {rss_after} KiB, '
      f'{(rss_after - rss_before) / n:.2f} KiB and {(fds_after - fds_before) / n:.3f} descriptors per association '
      f'(control connections included)')
