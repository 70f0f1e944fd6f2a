#!/usr/bin/env python3
"""A tiny raw SIP peer for the robustness tests: sends bytes, prints replies.

usage: sipclient.py udp|tcp HOST PORT FILE [--src ADDR] [--wait S] [--first]
FILE holds the bytes to send ('-' for stdin). Replies are printed as they
arrive until --wait seconds pass with nothing (TCP: or the peer closes).
--first stops at the first reply (UDP: its first datagram; TCP: its first
line), so a test that expects an answer can wait long on a loaded machine
without slowing the ones that expect silence.
"""
import socket, sys, argparse

ap = argparse.ArgumentParser()
ap.add_argument("proto")
ap.add_argument("host")
ap.add_argument("port", type=int)
ap.add_argument("file")
ap.add_argument("--src", default="127.0.0.1")
ap.add_argument("--wait", type=float, default=1.0)
ap.add_argument("--first", action="store_true")
a = ap.parse_args()
data = sys.stdin.buffer.read() if a.file == "-" else open(a.file, "rb").read()
fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
if a.proto == "udp":
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((a.src, 0))
    s.settimeout(a.wait)
    s.sendto(data, (a.host, a.port))
    try:
        while True:
            sys.stdout.write(s.recv(65536).decode("latin-1"))
            if a.first:
                break
    except socket.timeout:
        pass
else:
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.bind((a.src, 0))
    s.connect((a.host, a.port))
    s.settimeout(a.wait)
    s.sendall(data)
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                sys.stdout.write("<closed>\n")
                break
            if a.first:
                got += chunk
                if b"\n" in got:
                    sys.stdout.write(got[:got.index(b"\n") + 1].decode("latin-1"))
                    break
                continue
            sys.stdout.write(chunk.decode("latin-1"))
    except socket.timeout:
        sys.stdout.write("<open>\n")
    except ConnectionResetError:
        sys.stdout.write("<reset>\n")
