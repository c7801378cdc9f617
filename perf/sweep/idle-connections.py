#!/usr/bin/env python3
"""Opens N keep-alive HTTP/1.1 connections to a gateway on 127.0.0.1, sends one POST /v1/moderate on each, and holds
them open for S seconds: for measuring what an idle client connection costs the gateway's heap (docs/PERF.md, "The
gateway's heap per client connection"). Usage: idle-connections.py <connections> <port> <seconds>"""
import socket, sys, time
n = int(sys.argv[1]); port = int(sys.argv[2])
body = b'{"text":"hello there"}'
req = b"POST /v1/moderate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    socks.append(s)
print("open", len(socks), flush=True)
time.sleep(float(sys.argv[3]))
