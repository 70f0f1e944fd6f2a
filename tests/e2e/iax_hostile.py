#!/usr/bin/env python3
"""Hostile IAX2 traffic for the end-to-end tests.

  iax_hostile.py flood SERVER --src A [--src A2...] --count N
      N NEWs per source without a call token, each from another call
      number; prints how they were answered (calltoken/authreq/reject/none).
  iax_hostile.py garbage SERVER --src A
      undecodable frames: cut headers, IE lengths past the end, random
      bytes, meta and mini frames for no call; prints how many got answers.
  iax_hostile.py spoof SERVER --user U --secret S --attacker A
      sets up a call through the door, then from another address sends
      HANGUP, ACK, VNAK and INVAL with that call's numbers; prints whether
      the call still carries voice afterwards.
"""
import argparse, os, socket, struct, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iax  # noqa: E402


def full(scall, dcall, ts, oseq, iseq, ftype, sub, body=b""):
    return struct.pack(">HHIBBBB", 0x8000 | scall, dcall, ts, oseq, iseq, ftype, sub) + body


def drain(s, wait):
    got = []
    end = time.time() + wait
    while True:
        left = end - time.time()
        if left <= 0:
            return got
        s.settimeout(left)
        try:
            raw, _ = s.recvfrom(8192)
            got.append(raw)
        except socket.timeout:
            return got


def cmd_flood(a):
    host, port = iax.hostport(a.server)
    counts = {}
    for src in a.src:
        s = iax.sock_for(src)
        for i in range(a.count):
            ies = iax.ies_encode([(iax.IE["USERNAME"], "alice"), (iax.IE["CALLED_NUMBER"], "1")])
            s.sendto(full(1000 + i, 0, 1, 0, 0, iax.T_IAX, iax.NEW, ies), (host, port))
            if i % 50 == 49:
                time.sleep(0.01)  # let the door keep up; the count is the point
        seen = set()
        for raw in drain(s, 1.0):
            f = iax.Frame(raw)
            if f.full and f.dcall in seen:
                continue  # the door sending its AUTHREQ again: one answer per call
            if f.full:
                seen.add(f.dcall)
            name = {iax.CALLTOKEN: "calltoken", iax.AUTHREQ: "authreq", iax.REJECT: "reject"}.get(
                f.sub if f.full and f.type == iax.T_IAX else -1, "other")
            if name == "reject" and f.ie("CAUSE"):
                name = "reject(%s)" % f.ie("CAUSE").decode()
            counts[name] = counts.get(name, 0) + 1
    print(" ".join("%s=%d" % kv for kv in sorted(counts.items())) or "none", flush=True)
    return 0


def cmd_garbage(a):
    host, port = iax.hostport(a.server)
    s = iax.sock_for(a.src[0])
    frames = [
        b"\x80",                                               # one byte
        b"\x80\x05\x00\x00\x00\x00\x00\x01\x00\x00\x06",        # a header cut short
        full(5, 0, 1, 0, 0, iax.T_IAX, iax.NEW, b"\x06\xff" + b"alice"),   # IE past the end
        full(5, 0, 1, 0, 0, iax.T_IAX, iax.REGREQ, b"\x06"),    # IE cut after its type
        full(5, 0, 1, 0, 0, iax.T_IAX, 0xff),                   # "no subclass"
        full(0, 0, 1, 0, 0, iax.T_IAX, iax.NEW),                 # source call 0
        b"\x00\x00\x80\x01" + os.urandom(40),                  # a meta (trunk) frame
        b"\x12\x34\x00\x10" + os.urandom(160),                 # a mini frame for no call
        full(6, 1234, 1, 0, 0, iax.T_VOICE, 4, os.urandom(160)),  # voice for no call
    ] + [os.urandom(n) for n in (4, 12, 13, 100, 1500, 4000)]
    for f in frames:
        s.sendto(f, (host, port))
    got = drain(s, 1.0)
    kinds = sorted({iax.Frame(r).sub for r in got if len(r) >= 12})
    print("sent %d answered %d %s" % (len(frames), len(got), kinds), flush=True)
    return 0


def cmd_poke(a):
    """POKE without a call (qualify), then on a registration's call PING, LAGRQ and
    an unknown command: PONG, PONG, LAGRP, UNSUPPORT naming it."""
    host, port = iax.hostport(a.server)
    s = iax.sock_for(a.src[0])
    s.sendto(full(77, 0, 1234, 0, 0, iax.T_IAX, iax.POKE), (host, port))
    got = [iax.Frame(r) for r in drain(s, 1.0)]
    out = ["poke:" + ",".join("%d@%d" % (f.sub, f.ts) for f in got if f.full)]
    leg = iax.Leg(s, (host, port))
    f = iax.first_request(leg, iax.REGREQ, [(iax.IE["USERNAME"], a.user)], False)
    if f is None or f.sub != iax.REGAUTH:
        print("no REGAUTH: %s" % iax.verdict(f))
        return 1
    for sub, ts in ((iax.PING, 5000), (iax.LAGRQ, 6000), (0x55, 7000)):
        leg.send(iax.T_IAX, sub, ts=ts)
        g = leg.recv(timeout=2)
        out.append("%d->%s@%s" % (sub, g.sub if g else None, g.ts if g else None))
        if g is not None and g.sub == iax.UNSUPPORT:
            out[-1] += "(unknown=%d)" % g.ie("IAX_UNKNOWN")[0]
    print(" ".join(out), flush=True)
    return 0


def cmd_spoof(a):
    host, port = iax.hostport(a.server)
    s = iax.sock_for(a.src[0])
    leg = iax.Leg(s, (host, port))
    ies = [(iax.IE["VERSION"], struct.pack(">H", 2)), (iax.IE["USERNAME"], a.user),
           (iax.IE["CALLED_NUMBER"], "600"), (iax.IE["FORMAT"], struct.pack(">I", iax.ULAW))]
    f = iax.first_request(leg, iax.NEW, ies, False)
    if f is None or f.sub != iax.AUTHREQ:
        print("no AUTHREQ: %s" % iax.verdict(f))
        return 1
    door_call = f.scall

    class A:
        key = None
        plaintext = False
        secret = a.secret
    leg.send(iax.T_IAX, iax.AUTHREP, iax.answer(A, f))
    f = leg.recv(timeout=4)
    print(iax.verdict(f), flush=True)
    if f is None or f.sub != iax.ACCEPT:
        return 1
    # The attacker knows the door's call number and ours, and guesses the rest.
    evil = iax.sock_for(a.attacker)
    for seq in range(0, 256, 16):
        for sub in (iax.HANGUP, iax.ACK, iax.VNAK, iax.INVAL):
            evil.sendto(full(leg.scall, door_call, 100, seq, seq, iax.T_IAX, sub), (host, port))
    answers = drain(evil, 0.5)
    print("attacker got %d answers" % len(answers), flush=True)
    got = iax.voice_test(leg, a.voice)
    print("voice sent %d received %d" % (a.voice, got), flush=True)
    leg.send(iax.T_IAX, iax.HANGUP, [(iax.IE["CAUSE"], "Normal Clearing")])
    return 0 if got == a.voice else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["flood", "garbage", "spoof", "poke"])
    ap.add_argument("server")
    ap.add_argument("--src", action="append", default=[])
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--user", default="alice")
    ap.add_argument("--secret", default="")
    ap.add_argument("--attacker", default="127.0.0.99")
    ap.add_argument("--voice", type=int, default=10)
    a = ap.parse_args()
    if not a.src:
        a.src = ["127.0.0.1"]
    return {"flood": cmd_flood, "garbage": cmd_garbage, "spoof": cmd_spoof,
            "poke": cmd_poke}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
