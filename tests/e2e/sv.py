#!/usr/bin/python3
"""Runs a sipvicious tool (svcrack, svwar) from one 127.x.y.z source address.

usage: sv.py SRC TOOL [ARGS...]

sipvicious 0.3.3's svcrack and svwar accept -b BINDINGIP but never pass it
on (only svmap does), so every run would come from the same address. This
binds their socket to SRC instead and puts SRC in their Via (-x); the tool
itself is Debian's, unchanged.
"""
import importlib, socket, sys

src, tool = sys.argv[1], sys.argv[2]
orig_bind = socket.socket.bind
socket.socket.bind = lambda self, addr: orig_bind(self, (src,) + tuple(addr[1:]))
sys.argv = [tool, "-x", src] + sys.argv[3:]
sys.path.insert(0, "/usr/share/sipvicious")  # where Debian puts the package
sys.exit(importlib.import_module("sipvicious." + tool).main())
