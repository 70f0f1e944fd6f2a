#!/usr/bin/env python3
"""A small IAX2 peer for the end-to-end tests (RFC 5456 plus Asterisk's call
tokens), written from the RFC, not from pbxguard's code.

  iax.py register SERVER --user U (--secret S | --key PEM) [--no-token] [--release]
                  [--src ADDR] [--refresh N] [--plaintext] [--stay S]
  iax.py call SERVER --user U (--secret S | --key PEM) --called EXT [--voice N]
  iax.py pbx LISTEN [--auth md5:SECRET | rsa:PUBPEM] [--calls N]
                  [--dial USER --door SERVER --voice N]

register prints the verdict (REGACK/REGREJ/REJECT...) and, with --stay,
answers calls coming in for S seconds, echoing voice. call prints ACCEPT or
the refusal, then how many voice frames came back transformed by the far
end. pbx plays the PBX behind the door: asks a token, challenges, accepts,
echoes voice with every byte inverted (so an echo proves the far end, not a
reflection); with --dial it calls USER through the door.
"""
import argparse, base64, hashlib, os, random, socket, struct, subprocess, sys, time

NEW, PING, PONG, ACK, HANGUP, REJECT, ACCEPT, AUTHREQ, AUTHREP, INVAL = range(1, 11)
LAGRQ, LAGRP, REGREQ, REGAUTH, REGACK, REGREJ, REGREL, VNAK = range(11, 19)
POKE, UNSUPPORT, CALLTOKEN = 30, 33, 40
T_VOICE, T_CONTROL, T_IAX = 2, 4, 6
IE = dict(CALLED_NUMBER=1, CALLING_NUMBER=2, USERNAME=6, PASSWORD=7, CAPABILITY=8, FORMAT=9,
          VERSION=11, AUTHMETHODS=14, CHALLENGE=15, MD5_RESULT=16, RSA_RESULT=17,
          APPARENT_ADDR=18, REFRESH=19, CAUSE=22, IAX_UNKNOWN=23, DATETIME=31, CAUSECODE=42,
          VARIABLE=52, CALLTOKEN=54)
NAMES = {v: k for k, v in IE.items()}
ULAW = 4


def ies_encode(ies):
    out = b""
    for t, v in ies:
        if isinstance(v, str):
            v = v.encode()
        out += bytes([t, len(v)]) + v
    return out


def ies_decode(b):
    d, i = {}, 0
    while i < len(b):
        if i + 2 > len(b) or i + 2 + b[i + 1] > len(b):
            raise ValueError("bad IE")
        d[b[i]] = b[i + 2:i + 2 + b[i + 1]]
        i += 2 + b[i + 1]
    return d


class Frame:
    def __init__(self, raw):
        self.raw = raw
        w0 = struct.unpack(">H", raw[:2])[0]
        self.full = bool(w0 & 0x8000)
        self.scall = w0 & 0x7fff
        if self.full:
            w1, self.ts, self.oseq, self.iseq, self.type, csub = struct.unpack(">HIBBBB", raw[2:12])
            self.dcall = w1 & 0x7fff
            self.sub = (1 << (csub & 0x7f)) if csub & 0x80 else csub
            self.data = raw[12:]
            self.ies = ies_decode(self.data) if self.type == T_IAX else {}
        else:
            self.ts = struct.unpack(">H", raw[2:4])[0]
            self.data = raw[4:]

    def ie(self, name):
        return self.ies.get(IE[name])

    def __repr__(self):
        if not self.full:
            return "mini(%d bytes)" % len(self.data)
        return "full(type=%d sub=%d %s)" % (self.type, self.sub, {NAMES.get(k, k): v for k, v in self.ies.items()})


class Leg:
    """One call: our number, theirs, sequence numbers; full frames ACKed."""

    def __init__(self, sock, peer, scall=None):
        self.sock, self.peer = sock, peer
        self.scall = scall or random.randint(2, 32000)
        self.dcall, self.oseq, self.iseq = 0, 0, 0
        self.start = time.time()
        self.minis = []

    def ts(self):
        return int((time.time() - self.start) * 1000) + 1

    def send(self, ftype, sub, ies=(), ts=None, data=None, seq=True):
        body = data if data is not None else ies_encode(ies)
        hdr = struct.pack(">HHIBBBB", 0x8000 | self.scall, self.dcall, self.ts() if ts is None else ts,
                          self.oseq, self.iseq, ftype, sub)
        if seq:
            self.oseq = (self.oseq + 1) % 256
        self.sock.sendto(hdr + body, self.peer)

    def mini(self, payload, ts):
        self.sock.sendto(struct.pack(">HH", self.scall, ts & 0xffff) + payload, self.peer)

    def recv(self, timeout=5.0, want=None):
        """The next full frame for this call (mini frames are kept aside)."""
        end = time.time() + timeout
        while True:
            left = end - time.time()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                raw, src = self.sock.recvfrom(8192)
            except socket.timeout:
                return None
            f = Frame(raw)
            if not f.full:
                self.minis.append(f)
                continue
            if f.dcall != self.scall:
                continue
            if f.type == T_IAX and f.sub in (ACK, INVAL, VNAK, CALLTOKEN):
                if f.sub != ACK or want == ACK:
                    return f
                continue
            if f.oseq != self.iseq:  # a retransmission: ACK again, skip
                self.ack(f)
                continue
            self.iseq = (self.iseq + 1) % 256
            if f.scall:
                self.dcall = f.scall
            self.ack(f)
            if f.type == T_IAX and f.sub in (PING, LAGRQ, POKE):
                self.send(T_IAX, PONG if f.sub != LAGRQ else LAGRP, ts=f.ts)
                continue
            return f

    def ack(self, f):
        self.send(T_IAX, ACK, ts=f.ts, seq=False)


def answer(args, f):
    """AUTHREP / REGREQ answer IEs for a challenge."""
    ch = f.ie("CHALLENGE") or b""
    methods = struct.unpack(">H", f.ie("AUTHMETHODS") or b"\0\0")[0]
    if args.key:
        sig = subprocess.run(["openssl", "dgst", "-sha1", "-sign", args.key], input=ch,
                             capture_output=True, check=True).stdout
        return [(IE["RSA_RESULT"], base64.b64encode(sig))]
    if args.plaintext:
        return [(IE["PASSWORD"], args.secret)]
    return [(IE["MD5_RESULT"], hashlib.md5(ch + args.secret.encode()).hexdigest())]


def sock_for(src):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    return s


def hostport(s, default=4569):
    h, _, p = s.rpartition(":")
    return (h, int(p)) if h else (s, default)


def first_request(leg, cmd, ies, no_token, fake_token=None):
    """NEW/REGREQ with the call-token dance; returns the first answer."""
    tok = [] if no_token else [(IE["CALLTOKEN"], fake_token or b"")]
    leg.send(T_IAX, cmd, ies + tok)
    f = leg.recv()
    if f and f.type == T_IAX and f.sub == CALLTOKEN and not no_token:
        # Start again with the token: a new frame, sequence numbers reset.
        leg.oseq = leg.iseq = 0
        leg.dcall = 0
        leg.send(T_IAX, cmd, ies + [(IE["CALLTOKEN"], f.ie("CALLTOKEN"))])
        f = leg.recv()
    return f


def verdict(f):
    if f is None:
        return "TIMEOUT"
    name = {REGACK: "REGACK", REGREJ: "REGREJ", REJECT: "REJECT", ACCEPT: "ACCEPT",
            HANGUP: "HANGUP", INVAL: "INVAL", REGAUTH: "REGAUTH", AUTHREQ: "AUTHREQ"}.get(f.sub, "sub%d" % f.sub)
    cause = f.ie("CAUSE")
    code = f.ie("CAUSECODE")
    extra = ""
    if cause is not None:
        extra += " cause=%r" % cause.decode()
    if code is not None:
        extra += " code=%d" % code[0]
    if f.sub == REGACK:
        extra += " refresh=%d" % struct.unpack(">H", f.ie("REFRESH"))[0]
        a = f.ie("APPARENT_ADDR")
        extra += " apparent=%s:%d" % (socket.inet_ntoa(a[4:8]), struct.unpack(">H", a[2:4])[0])
    return name + extra


def challenge_line(f):
    """What a challenge reveals: the command, the methods, the challenge's shape."""
    methods = struct.unpack(">H", f.ie("AUTHMETHODS") or b"\0\0")[0]
    ch = (f.ie("CHALLENGE") or b"").decode()
    shape = "digits" if ch.isdigit() else "other"
    return "%s methods=%d challenge=%s/%d callno=%d" % (
        "REGAUTH" if f.sub == REGAUTH else "AUTHREQ", methods, shape, len(ch), f.scall)


def serve_call(leg, f, args, seconds):
    """An incoming NEW on leg: ACCEPT, RINGING/ANSWER, echo voice until HANGUP."""
    leg.send(T_IAX, ACCEPT, [(IE["FORMAT"], struct.pack(">I", ULAW))])
    leg.send(T_CONTROL, 3)   # RINGING
    leg.send(T_CONTROL, 4)   # ANSWER
    end = time.time() + seconds
    echoed = 0
    while time.time() < end:
        g = leg.recv(timeout=0.2)
        for m in leg.minis:
            leg.mini(bytes(b ^ 0xff for b in m.data), m.ts)
            echoed += 1
        leg.minis = []
        if g is None:
            continue
        if g.type == T_VOICE:
            leg.send(T_VOICE, g.sub, data=bytes(b ^ 0xff for b in g.data), ts=g.ts)
            echoed += 1
        if g.type == T_IAX and g.sub == HANGUP:
            break
    return echoed


def cmd_register(args):
    s = sock_for(args.src)
    leg = Leg(s, hostport(args.server))
    cmd = REGREL if args.release else REGREQ
    ies = [(IE["USERNAME"], args.user), (IE["REFRESH"], struct.pack(">H", args.refresh))]
    f = first_request(leg, cmd, ies, args.no_token, args.fake_token)
    if f is not None and f.type == T_IAX and f.sub == REGAUTH:
        print(challenge_line(f), flush=True)
        leg.send(T_IAX, cmd, [(IE["USERNAME"], args.user)] + answer(args, f) +
                 [(IE["REFRESH"], struct.pack(">H", args.refresh))])
        f = leg.recv(timeout=4)
    print(verdict(f), flush=True)
    ok = f is not None and f.sub == REGACK
    if ok and args.stay:
        end = time.time() + args.stay
        while time.time() < end:
            s.settimeout(max(0.01, end - time.time()))
            try:
                raw, peer = s.recvfrom(8192)
            except socket.timeout:
                break
            g = Frame(raw)
            if g.full and g.type == T_IAX and g.sub == NEW and g.dcall == 0:
                inleg = Leg(s, peer)
                inleg.dcall, inleg.iseq = g.scall, 1
                inleg.ack(g)
                print("incoming call for %s" % g.ies.get(IE["CALLED_NUMBER"], b"").decode(), flush=True)
                if args.challenge:
                    # As a phone with its own auth: the door must prove it knows our secret.
                    ch = str(random.randint(100000000, 999999999))
                    inleg.send(T_IAX, AUTHREQ, [(IE["AUTHMETHODS"], struct.pack(">H", 2)),
                                                (IE["USERNAME"], args.user), (IE["CHALLENGE"], ch)])
                    r = inleg.recv(want=AUTHREP)
                    ok = r is not None and r.ie("MD5_RESULT") == \
                        hashlib.md5((ch + args.secret).encode()).hexdigest().encode()
                    print("inbound auth md5: %s" % ("ok" if ok else "FAILED"), flush=True)
                    if not ok:
                        inleg.send(T_IAX, REJECT, [(IE["CAUSE"], "No authority found"),
                                                   (IE["CAUSECODE"], b"\x32")])
                        continue
                n = serve_call(inleg, g, args, end - time.time())
                print("echoed %d voice frames" % n, flush=True)
    return 0 if ok else 1


def voice_test(leg, n):
    """One full voice frame, then n-1 mini frames; count inverted echoes."""
    payloads = [os.urandom(160) for _ in range(n)]
    want = {bytes(b ^ 0xff for b in p) for p in payloads}
    got = 0
    leg.send(T_VOICE, ULAW, data=payloads[0], ts=20)
    for i, p in enumerate(payloads[1:], start=2):
        leg.mini(p, 20 * i)
        time.sleep(0.005)
    end = time.time() + 3
    while time.time() < end and got < n:
        f = leg.recv(timeout=0.2)
        if f is not None and f.type == T_VOICE and f.data in want:
            got += 1
        for m in leg.minis:
            if m.data in want:
                got += 1
        leg.minis = []
    return got


def cmd_call(args):
    s = sock_for(args.src)
    leg = Leg(s, hostport(args.server))
    ies = [(IE["VERSION"], struct.pack(">H", 2)), (IE["USERNAME"], args.user),
           (IE["CALLED_NUMBER"], args.called), (IE["CALLING_NUMBER"], "1000"),
           (IE["FORMAT"], struct.pack(">I", ULAW)), (IE["CAPABILITY"], struct.pack(">I", ULAW))]
    f = first_request(leg, NEW, ies, args.no_token)
    if f is not None and f.type == T_IAX and f.sub == AUTHREQ:
        print(challenge_line(f), flush=True)
        leg.send(T_IAX, AUTHREP, answer(args, f))
        f = leg.recv(timeout=4)
    print(verdict(f), flush=True)
    if f is None or f.sub != ACCEPT:
        return 1
    got = voice_test(leg, args.voice) if args.voice else 0
    print("voice sent %d received %d" % (args.voice, got), flush=True)
    leg.send(T_IAX, HANGUP, [(IE["CAUSE"], "Normal Clearing"), (IE["CAUSECODE"], b"\x10")])
    leg.recv(timeout=1, want=ACK)
    return 0 if got == args.voice else 1


def cmd_pbx(args):
    """The PBX behind the door: one socket, calls in (and one out with --dial)."""
    host, port = hostport(args.listen)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    secret = tokens = None
    calls, served = {}, 0
    if args.dial:
        time.sleep(args.dial_after)
        leg = Leg(s, hostport(args.door))
        ies = [(IE["VERSION"], struct.pack(">H", 2)), (IE["CALLED_NUMBER"], args.dial),
               (IE["FORMAT"], struct.pack(">I", ULAW)), (IE["CAPABILITY"], struct.pack(">I", ULAW))]
        f = first_request(leg, NEW, ies, args.no_token)
        print("dial:", verdict(f), flush=True)
        if f is None or f.sub != ACCEPT:
            return 1
        got = voice_test(leg, args.voice)
        print("dial: voice sent %d received %d" % (args.voice, got), flush=True)
        leg.send(T_IAX, HANGUP, [(IE["CAUSE"], "Normal Clearing")])
        leg.recv(timeout=1, want=ACK)
        return 0 if got == args.voice else 1
    method, _, arg = (args.auth or "none:").partition(":")
    while served < args.calls:
        s.settimeout(60)
        raw, peer = s.recvfrom(8192)
        f = Frame(raw)
        if not f.full:
            leg = calls.get((peer, f.scall))
            if leg:
                leg.mini(bytes(b ^ 0xff for b in f.data), f.ts)
            continue
        if f.type == T_IAX and f.sub == NEW and f.dcall == 0:
            tok = f.ie("CALLTOKEN")
            if tok is not None and len(tok) == 0:
                # As Asterisk: a token first, no state kept.
                hdr = struct.pack(">HHIBBBB", 0x8001, f.scall, f.ts, 0, f.iseq + 1, T_IAX, CALLTOKEN)
                s.sendto(hdr + ies_encode([(IE["CALLTOKEN"], "%d?%s" % (time.time(), "ab" * 20))]), peer)
                continue
            leg = Leg(s, peer)
            leg.dcall, leg.iseq = f.scall, (f.oseq + 1) % 256
            calls[(peer, f.scall)] = leg
            print("NEW from %s:%d user=%s called=%s vars=%s" % (peer[0], peer[1],
                  (f.ie("USERNAME") or b"").decode(), (f.ie("CALLED_NUMBER") or b"").decode(),
                  (f.ie("VARIABLE") or b"").decode()), flush=True)
            if method in ("md5", "rsa"):
                ch = str(random.randint(100000000, 999999999))
                leg.send(T_IAX, AUTHREQ, [(IE["AUTHMETHODS"], struct.pack(">H", 2 if method == "md5" else 4)),
                                          (IE["USERNAME"], f.ie("USERNAME") or b""), (IE["CHALLENGE"], ch)])
                r = leg.recv()
                ok = False
                if r is not None and method == "md5":
                    ok = r.ie("MD5_RESULT") == hashlib.md5((ch + arg).encode()).hexdigest().encode()
                elif r is not None:
                    sig = base64.b64decode(r.ie("RSA_RESULT") or b"")
                    with open("/tmp/.iaxpy-sig-%d" % os.getpid(), "wb") as fh:
                        fh.write(sig)
                    ok = subprocess.run(["openssl", "dgst", "-sha1", "-verify", arg, "-signature",
                                         fh.name], input=ch.encode(), capture_output=True).returncode == 0
                    os.unlink(fh.name)
                print("auth %s: %s" % (method, "ok" if ok else "FAILED"), flush=True)
                if not ok:
                    leg.send(T_IAX, REJECT, [(IE["CAUSE"], "No authority found"), (IE["CAUSECODE"], b"\x32")])
                    served += 1
                    continue
            n = serve_call(leg, f, args, 15)
            print("echoed %d voice frames" % n, flush=True)
            served += 1
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("register", "call"):
        p = sub.add_parser(name)
        p.add_argument("server")
        p.add_argument("--user", required=True)
        p.add_argument("--secret", default="")
        p.add_argument("--key")
        p.add_argument("--plaintext", action="store_true")
        p.add_argument("--no-token", action="store_true")
        p.add_argument("--src", default="127.0.0.1")
        p.add_argument("--refresh", type=int, default=60)
        p.add_argument("--release", action="store_true")
        p.add_argument("--stay", type=float, default=0)
        p.add_argument("--called", default="100")
        p.add_argument("--voice", type=int, default=0)
        p.add_argument("--fake-token", help="send this as the call token at once")
        p.add_argument("--challenge", action="store_true",
                       help="register: challenge incoming calls with MD5 before answering")
    p = sub.add_parser("pbx")
    p.add_argument("listen")
    p.add_argument("--auth")
    p.add_argument("--calls", type=int, default=1)
    p.add_argument("--dial")
    p.add_argument("--dial-after", type=float, default=0)
    p.add_argument("--door")
    p.add_argument("--voice", type=int, default=0)
    p.add_argument("--no-token", action="store_true")
    args = ap.parse_args()
    return {"register": cmd_register, "call": cmd_call, "pbx": cmd_pbx}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
