#!/usr/bin/python3
"""AMI helpers for the end-to-end tests.

As a library: Client, a plain-TCP (or TLS through `openssl s_client`) AMI
client that keeps the raw bytes it got, for byte-for-byte assertions.

As a program: `ami.py upstream PORT LOG USER SECRET` runs a stand-in for
Asterisk's own AMI, written from the protocol (greeting, Challenge/MD5
login, ListCommands with each action's classes, list answers, events).
Every action it receives is appended to LOG, so a test can show that a
refused action never got there.
"""
import hashlib
import os
import secrets
import socket
import subprocess
import sys
import threading
import time


class Client:
    """One AMI connection; `raw` keeps every byte received."""

    def __init__(self, port, host="127.0.0.1", src=None, tls=None, timeout=5.0,
                 wait_greeting=True):
        self.raw = b""
        self.buf = b""
        self.proc = None
        if tls:  # tls = (cafile, extra s_client args)
            cafile, extra = tls
            cmd = ["openssl", "s_client", "-connect", "%s:%d" % (host, port), "-quiet",
                   "-CAfile", cafile, "-verify_return_error", "-verify_hostname",
                   "localhost"] + list(extra)
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL)
            os.set_blocking(self.proc.stdout.fileno(), False)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if src:
                self.sock.bind((src, 0))
            self.sock.settimeout(timeout)
            self.sock.connect((host, port))
        self.greeting = self.read_line(timeout) if wait_greeting else None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        if self.proc:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        else:
            self.sock.sendall(data)

    def _recv(self, deadline):
        while time.time() < deadline:
            if self.proc:
                try:
                    d = os.read(self.proc.stdout.fileno(), 65536)
                except BlockingIOError:
                    time.sleep(0.02)
                    continue
            else:
                self.sock.settimeout(max(0.01, deadline - time.time()))
                try:
                    d = self.sock.recv(65536)
                except socket.timeout:
                    return None
                except ConnectionResetError:
                    d = b""
            if not d:
                return b""
            self.raw += d
            self.buf += d
            return d
        return None

    def read_line(self, timeout=5.0):
        deadline = time.time() + timeout
        while b"\r\n" not in self.buf:
            d = self._recv(deadline)
            if not d:
                return None
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode(errors="replace") + "\r\n"

    def read_msg(self, timeout=5.0):
        """The next message (up to its blank line) as text, or None."""
        deadline = time.time() + timeout
        while b"\r\n\r\n" not in self.buf:
            d = self._recv(deadline)
            if not d:
                return None
        msg, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return msg.decode(errors="replace") + "\r\n\r\n"

    def closed(self, timeout=5.0):
        """True when the server closed the connection within timeout."""
        deadline = time.time() + timeout
        while True:
            d = self._recv(deadline)
            if d == b"":
                return True
            if d is None:
                return False

    def action(self, text, timeout=5.0):
        """Sends one message (lines joined with CRLF) and returns the answer."""
        self.send(text.replace("\n", "\r\n") + "\r\n\r\n")
        return self.read_msg(timeout)

    def until(self, pred, timeout=5.0):
        """Messages until one satisfies pred; returns (that one, all read)."""
        seen = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.read_msg(max(0.05, deadline - time.time()))
            if m is None:
                break
            seen.append(m)
            if pred(m):
                return m, seen
        return None, seen

    def login_md5(self, user, secret, action_id=None):
        ch = self.action("Action: Challenge\nAuthType: MD5")
        challenge = [l.split(": ", 1)[1] for l in ch.split("\r\n") if l.startswith("Challenge:")][0]
        key = hashlib.md5((challenge + secret).encode()).hexdigest()
        extra = "\nActionID: %s" % action_id if action_id else ""
        return self.action("Action: Login\nAuthType: MD5\nUsername: %s\nKey: %s%s" %
                           (user, key, extra))

    def close(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
        else:
            self.sock.close()


def header(msg, key):
    for l in msg.split("\r\n"):
        if l.lower().startswith(key.lower() + ":"):
            return l.split(":", 1)[1].strip()
    return None


# ---- a stand-in for Asterisk's AMI ------------------------------------------

ACTIONS = [  # name, synopsis, classes (as Asterisk's ListCommands prints them)
    ("Login", "Login Manager.", "<none>"),
    ("Challenge", "Generate Challenge for MD5 Auth.", "<none>"),
    ("Logoff", "Logoff Manager.", "<none>"),
    ("Ping", "Keepalive command.", "<none>"),
    ("ListCommands", "List available manager commands.", "<none>"),
    ("CoreStatus", "Show PBX core status variables.", "system,reporting,all"),
    ("Status", "List channel status.", "system,call,reporting,all"),
    ("Hangup", "Hangup channel.", "system,call,all"),
    ("Originate", "Originate a call.", "originate,all"),
    ("Command", "Execute Asterisk CLI Command.", "command,all"),
    ("GetConfig", "Retrieve configuration.", "system,config,all"),
    ("UserEvent", "Send an arbitrary event.", "user,all"),
]


def serve_upstream(port, logpath, user, secret):
    log = open(logpath, "a", buffering=1)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(8)
    clients = []

    def broadcast(text):
        for c in list(clients):
            try:
                c.sendall(text.encode())
            except OSError:
                pass

    def reply(c, m, body):
        aid = m.get("actionid")
        head = body[0] + ("ActionID: %s\r\n" % aid if aid else "")
        c.sendall((head + body[1] + "\r\n").encode())

    def session(c):
        c.sendall(b"Asterisk Call Manager/7.0.3\r\n")
        buf, challenge, authed = b"", None, False
        while True:
            try:
                d = c.recv(65536)
            except OSError:
                d = b""
            if not d:
                break
            buf += d
            while b"\r\n\r\n" in buf:
                raw, buf = buf.split(b"\r\n\r\n", 1)
                m = {}
                for l in raw.decode().split("\r\n"):
                    if ":" in l:
                        k, v = l.split(":", 1)
                        m.setdefault(k.strip().lower(), v.strip())
                act = m.get("action", "")
                log.write("%s %s\n" % (act, raw.decode().replace("\r\n", " | ")))
                a = act.lower()
                if a == "challenge":
                    challenge = str(secrets.randbelow(10**9))
                    reply(c, m, ("Response: Success\r\n", "Challenge: %s\r\n" % challenge))
                elif a == "login":
                    want = hashlib.md5((challenge or "").encode() + secret.encode()).hexdigest()
                    if m.get("username") == user and challenge and m.get("key") == want:
                        authed = True
                        clients.append(c)
                        reply(c, m, ("Response: Success\r\n", "Message: Authentication accepted\r\n"))
                        c.sendall(b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n")
                    else:
                        reply(c, m, ("Response: Error\r\n", "Message: Authentication failed\r\n"))
                        c.close()
                        return
                elif not authed:
                    reply(c, m, ("Response: Error\r\n", "Message: Permission denied\r\n"))
                elif a == "listcommands":
                    body = "".join("%s: %s (Priv: %s)\r\n" % x for x in ACTIONS)
                    reply(c, m, ("Response: Success\r\n", body))
                elif a == "ping":
                    reply(c, m, ("Response: Success\r\n", "Ping: Pong\r\nTimestamp: 1.0\r\n"))
                elif a == "status":
                    aid = m.get("actionid")
                    idl = "ActionID: %s\r\n" % aid if aid else ""
                    reply(c, m, ("Response: Success\r\n", "EventList: start\r\nMessage: Channel status will follow\r\n"))
                    c.sendall(("Event: Status\r\nPrivilege: Call\r\n%sChannel: PJSIP/100-1\r\n\r\n" % idl).encode())
                    c.sendall(("Event: StatusComplete\r\n%sEventList: Complete\r\nListItems: 1\r\n\r\n" % idl).encode())
                elif a == "userevent":
                    reply(c, m, ("Response: Success\r\n", "Message: Event Sent\r\n"))
                    n = m.get("userevent", "x")
                    broadcast("Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/%s\r\n\r\n" % n)
                    broadcast("Event: AgentCalled\r\nPrivilege: agent,all\r\nAgent: %s\r\n\r\n" % n)
                    # Asterisk copies the action's other headers, ActionID too.
                    aid = m.get("actionid")
                    broadcast("Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: %s\r\n%s\r\n"
                              % (n, "ActionID: %s\r\n" % aid if aid else ""))
                elif a in ("hangup", "originate", "command", "getconfig", "corestatus"):
                    reply(c, m, ("Response: Success\r\n", "Message: %s done upstream\r\n" % act))
                else:
                    reply(c, m, ("Response: Error\r\n", "Message: Invalid/unknown command: %s. "
                                 "Use Action: ListCommands to show available commands.\r\n" % act))
        if c in clients:
            clients.remove(c)
        c.close()

    while True:
        c, _ = srv.accept()
        threading.Thread(target=session, args=(c,), daemon=True).start()


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "upstream":
        serve_upstream(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        sys.exit("usage: ami.py upstream PORT LOG USER SECRET")
