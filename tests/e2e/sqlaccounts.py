#!/usr/bin/env python3
"""SQL that makes the accounts table(s) of t230 and the SQL benchmark.

usage: sqlaccounts.py SHAPE COUNT [PREFIX]
Users PREFIX1..PREFIXn @ example.org, password pw-PREFIXk-Secret. Shapes:
  default   Flexisip's default request (one MD5 column): accounts(login,
            domain, password), every password an MD5 A1
  flexisip  Flexisip's documented "password and algorithm" request:
            accounts(login, domain, password, algorithm); user k stores
            CLRTXT (k%3==0), MD5 (k%3==1) or MD5 and SHA-256 rows (k%3==2)
  flexiapi  the Flexisip Account Manager's tables: accounts(id, username,
            domain) and passwords(account_id, password, algorithm), the
            same mix as flexisip
Plain SQL that PostgreSQL, MariaDB and SQLite all read.
"""
import hashlib, sys

shape, n = sys.argv[1], int(sys.argv[2])
prefix = sys.argv[3] if len(sys.argv) > 3 else "u"


def a1(h, user, pw):
    return hashlib.new(h, f"{user}:example.org:{pw}".encode()).hexdigest()


def rows(k):
    user, pw = f"{prefix}{k}", f"pw-{prefix}{k}-Secret"
    if shape == "default" or k % 3 == 1:
        return user, [(a1("md5", user, pw), "MD5")]
    if k % 3 == 0:
        return user, [(pw, "CLRTXT")]
    return user, [(a1("md5", user, pw), "MD5"), (a1("sha256", user, pw), "SHA-256")]


out = []
if shape == "flexiapi":
    out.append("CREATE TABLE accounts (id INTEGER PRIMARY KEY, username VARCHAR(64) NOT NULL,"
               " domain VARCHAR(64) NOT NULL);")
    out.append("CREATE TABLE passwords (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL,"
               " password VARCHAR(255) NOT NULL, algorithm VARCHAR(16) NOT NULL);")
elif shape == "flexisip":
    out.append("CREATE TABLE accounts (login VARCHAR(64) NOT NULL, domain VARCHAR(64) NOT NULL,"
               " password VARCHAR(255), algorithm VARCHAR(16));")
else:
    out.append("CREATE TABLE accounts (login VARCHAR(64) NOT NULL, domain VARCHAR(64) NOT NULL,"
               " password VARCHAR(255));")
pid = 0
for k in range(1, n + 1):
    user, rs = rows(k)
    if shape == "flexiapi":
        out.append(f"INSERT INTO accounts VALUES ({k}, '{user}', 'example.org');")
        for h, alg in rs:
            pid += 1
            out.append(f"INSERT INTO passwords VALUES ({pid}, {k}, '{h}', '{alg}');")
    elif shape == "flexisip":
        for h, alg in rs:
            out.append(f"INSERT INTO accounts VALUES ('{user}', 'example.org', '{h}', '{alg}');")
    else:
        out.append(f"INSERT INTO accounts VALUES ('{user}', 'example.org', '{rs[0][0]}');")
print("BEGIN;")
print("\n".join(out))
print("COMMIT;")
