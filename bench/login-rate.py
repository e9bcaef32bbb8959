#!/usr/bin/env python3
"""Sequential RFC 1929 logins as user alice (password bench-pw) against SOCKS_PORT: logins per second, to compare
Authentication:RecentLoginTtl on and off at the default PBKDF2 cost. Usage: bench/login-rate.py SOCKS_PORT N"""
import socket, time, sys
port=int(sys.argv[1]); n=int(sys.argv[2])
t=time.time()
for i in range(n):
    s=socket.create_connection(("127.0.0.1",port))
    s.sendall(b"\x05\x01\x02"); assert s.recv(2)==b"\x05\x02"
    u=b"alice"; p=b"bench-pw"
    s.sendall(bytes([1,len(u)])+u+bytes([len(p)])+p)
    r=s.recv(2); assert r==b"\x01\x00", r
    s.close()
d=time.time()-t
print(f"{n} logins in {d:.2f} s: {n/d:.1f}/s, {1000*d/n:.1f} ms each")
