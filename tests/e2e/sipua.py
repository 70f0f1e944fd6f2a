#!/usr/bin/env python3
"""A small scriptable SIP user agent for the proxy's hostile-case tests,
where sipp's linear scenarios cannot play the part (a stranger reusing a
dialog, a PBX that routes a call back to the front door).

  sipua.py sink PORT OUT [--answer] [--bounce PORT] [--secs S]
      A PBX on 127.0.0.1:PORT (UDP) that appends every message it receives to
      OUT. --answer: 200 to INVITE/BYE/others (Record-Route echoed), ACKs
      ignored. --challenge: the PBX's own 407 (realm "asterisk") to INVITEs
      without its credentials. --bounce: sends each INVITE back to 127.0.0.1:PORT (a PBX whose
      dial plan points at the front door again).
  sipua.py request PORT METHOD [options]
      Sends one request to 127.0.0.1:PORT from --src, answers a 401/407 with
      --user/--pw (MD5 digest), prints "status CODE" and, for a 2xx INVITE,
      "dialog CALLID FROMTAG TOTAG CONTACT ROUTES" after sending the ACK, and
      with --bye-after S, hangs up S seconds later from the same socket and
      prints "bye CODE".
"""
import argparse, hashlib, random, re, socket, sys, time

def rnd():
    return "%08x" % random.getrandbits(32)

def header(msg, name):
    m = re.search(r"^" + name + r":\s*(.*?)\r$", msg, re.M | re.I)
    return m.group(1) if m else None

def headers(msg, name):
    return re.findall(r"^" + name + r":\s*(.*?)\r$", msg, re.M | re.I)

def status(msg):
    m = re.match(r"SIP/2.0 (\d+)", msg)
    return int(m.group(1)) if m else 0

def digest(chal, user, pw, method, uri):
    p = dict(re.findall(r'(\w+)="?([^",]*)"?', chal))
    ha1 = hashlib.md5(f"{user}:{p['realm']}:{pw}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    if "qop" in p:
        cn = rnd()
        r = hashlib.md5(f"{ha1}:{p['nonce']}:00000001:{cn}:auth:{ha2}".encode()).hexdigest()
        return (f'Digest username="{user}", realm="{p["realm"]}", nonce="{p["nonce"]}", '
                f'uri="{uri}", response="{r}", algorithm=MD5, qop=auth, nc=00000001, cnonce="{cn}"')
    r = hashlib.md5(f"{ha1}:{p['nonce']}:{ha2}".encode()).hexdigest()
    return (f'Digest username="{user}", realm="{p["realm"]}", nonce="{p["nonce"]}", '
            f'uri="{uri}", response="{r}", algorithm=MD5')

def sink(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", a.port))
    s.settimeout(0.2)
    end = time.time() + a.secs
    out = open(a.out, "a")
    while time.time() < end:
        try:
            data, peer = s.recvfrom(65536)
        except socket.timeout:
            continue
        msg = data.decode("latin-1")
        out.write(msg + "\n----\n")
        out.flush()
        if msg.startswith("SIP/2.0") or msg.startswith("ACK "):
            continue
        if a.bounce and msg.startswith("INVITE "):
            line, rest = msg.split("\r\n", 1)
            again = (line + "\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s\r\n" %
                     (a.port, rnd()) + rest)
            s.sendto(again.encode("latin-1"), ("127.0.0.1", a.bounce))
            continue
        if a.challenge and msg.startswith("INVITE ") and "realm=\"asterisk\"" not in msg:
            vias = "".join("Via: %s\r\n" % v for v in headers(msg, "Via"))
            resp = ("SIP/2.0 407 Proxy Authentication Required\r\n" + vias +
                    "From: %s\r\nTo: %s;tag=pbx407\r\nCall-ID: %s\r\nCSeq: %s\r\n"
                    "Proxy-Authenticate: Digest realm=\"asterisk\", nonce=\"pbx%s\"\r\n"
                    "Content-Length: 0\r\n\r\n" %
                    (header(msg, "From"), header(msg, "To"), header(msg, "Call-ID"),
                     header(msg, "CSeq"), rnd()))
            s.sendto(resp.encode("latin-1"), peer)
            continue
        if not a.answer:
            continue
        vias = "".join("Via: %s\r\n" % v for v in headers(msg, "Via"))
        rr = "".join("Record-Route: %s\r\n" % v for v in headers(msg, "Record-Route"))
        to = header(msg, "To")
        if ";tag=" not in to:
            to += ";tag=pbx" + rnd()
        resp = ("SIP/2.0 200 OK\r\n" + vias + rr + "From: %s\r\nTo: %s\r\nCall-ID: %s\r\n"
                "CSeq: %s\r\nContact: <sip:pbx@127.0.0.1:%d>\r\nContent-Length: 0\r\n\r\n" %
                (header(msg, "From"), to, header(msg, "Call-ID"), header(msg, "CSeq"), a.port))
        s.sendto(resp.encode("latin-1"), peer)

def request(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.src, 0))
    s.settimeout(a.wait)
    lport = s.getsockname()[1]
    ruri = a.ruri or "sip:600@example.org"
    callid = a.callid or rnd() + "@sipua"
    ftag = a.ftag or rnd()
    to = "<%s>" % ruri + (";tag=" + a.ttag if a.ttag else "")
    cseq = a.cseq
    auth = None
    for attempt in range(3):
        br = "z9hG4bK" + rnd()
        lines = ["%s %s SIP/2.0" % (a.method, ruri)]
        lines += ["Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (a.src, lport, br)] * 1
        lines += ["Via: SIP/2.0/UDP 192.0.2.%d:5060;branch=z9hG4bKv%d" % (i % 250 + 1, i)
                  for i in range(a.extra_vias)]
        lines += ["Max-Forwards: %d" % a.mf,
                  "From: <sip:%s@example.org>;tag=%s" % (a.user or "anon", ftag),
                  "To: " + to, "Call-ID: " + callid, "CSeq: %d %s" % (cseq, a.method),
                  "Contact: <sip:%s@%s:%d>" % (a.user or "anon", a.src, lport)]
        lines += ["Route: " + r for r in a.route]
        lines += a.header
        if auth:
            lines.append(auth)
        lines += ["Content-Length: 0", "", ""]
        s.sendto("\r\n".join(lines).encode(), ("127.0.0.1", a.port))
        while True:
            try:
                msg = s.recv(65536).decode("latin-1")
            except socket.timeout:
                print("status timeout")
                return
            st = status(msg)
            if a.show:
                sys.stderr.write(msg + "\n----\n")
            if st >= 200 or st == 0:
                break
        if st in (401, 407) and a.user and a.pw and not auth:
            if a.method == "INVITE":
                ack = msg_ack(msg, ruri, a.src, lport, br)
                s.sendto(ack.encode(), ("127.0.0.1", a.port))
            h = "WWW-Authenticate" if st == 401 else "Proxy-Authenticate"
            chal = header(msg, h)
            auth = ("Authorization: " if st == 401 else "Proxy-Authorization: ") + \
                digest(chal, a.user, a.pw, a.method, ruri)
            cseq += 1
            continue
        realm = re.search(r'realm="([^"]*)"', msg)
        print("status %d" % st + (" realm=" + realm.group(1) if realm and st in (401, 407) else ""))
        if a.method == "INVITE" and 200 <= st < 300:
            ttag = re.search(r"tag=([^;>\s]+)", header(msg, "To")).group(1)
            routes = list(reversed(headers(msg, "Record-Route")))
            contact = re.search(r"<([^>]+)>", header(msg, "Contact")).group(1)
            ack = ["ACK %s SIP/2.0" % contact,
                   "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s;rport" % (a.src, lport, rnd()),
                   "Max-Forwards: 70", "From: <sip:%s@example.org>;tag=%s" % (a.user, ftag),
                   "To: " + header(msg, "To"), "Call-ID: " + callid, "CSeq: %d ACK" % cseq]
            ack += ["Route: " + r for r in routes] + ["Content-Length: 0", "", ""]
            s.sendto("\r\n".join(ack).encode(), ("127.0.0.1", a.port))
            print("dialog %s %s %s %s %s" % (callid, ftag, ttag, contact, ",".join(routes)))
            sys.stdout.flush()
            if a.bye_after is not None:
                time.sleep(a.bye_after)
                bye = ["BYE %s SIP/2.0" % contact,
                       "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s;rport" % (a.src, lport, rnd()),
                       "Max-Forwards: 70", "From: <sip:%s@example.org>;tag=%s" % (a.user, ftag),
                       "To: " + header(msg, "To"), "Call-ID: " + callid,
                       "CSeq: %d BYE" % (cseq + 1)]
                bye += ["Route: " + r for r in routes] + ["Content-Length: 0", "", ""]
                s.sendto("\r\n".join(bye).encode(), ("127.0.0.1", a.port))
                try:
                    while True:
                        st = status(s.recv(65536).decode("latin-1"))
                        if st >= 200:
                            break
                except socket.timeout:
                    st = 0
                print("bye %d" % st)
        return

def msg_ack(resp, ruri, src, lport, br):
    return "\r\n".join(["ACK %s SIP/2.0" % ruri,
                        "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (src, lport, br),
                        "Max-Forwards: 70", "From: " + header(resp, "From"),
                        "To: " + header(resp, "To"), "Call-ID: " + header(resp, "Call-ID"),
                        "CSeq: %s ACK" % header(resp, "CSeq").split()[0],
                        "Content-Length: 0", "", ""])

ap = argparse.ArgumentParser()
sub = ap.add_subparsers(dest="cmd", required=True)
sk = sub.add_parser("sink")
sk.add_argument("port", type=int)
sk.add_argument("out")
sk.add_argument("--answer", action="store_true")
sk.add_argument("--bounce", type=int, default=0)
sk.add_argument("--challenge", action="store_true")
sk.add_argument("--secs", type=float, default=30)
rq = sub.add_parser("request")
rq.add_argument("port", type=int)
rq.add_argument("method")
rq.add_argument("--src", default="127.0.0.1")
rq.add_argument("--user")
rq.add_argument("--pw")
rq.add_argument("--ruri")
rq.add_argument("--callid")
rq.add_argument("--ftag")
rq.add_argument("--ttag")
rq.add_argument("--cseq", type=int, default=1)
rq.add_argument("--mf", type=int, default=70)
rq.add_argument("--route", action="append", default=[])
rq.add_argument("--header", action="append", default=[])
rq.add_argument("--extra-vias", type=int, default=0)
rq.add_argument("--wait", type=float, default=3)
rq.add_argument("--show", action="store_true")
rq.add_argument("--bye-after", type=float)
a = ap.parse_args()
sink(a) if a.cmd == "sink" else request(a)
