/* The IAX2 door without sockets: the frame and IE codec, call tokens, the
 * reliability rules, both authentication methods with the shared vectors,
 * the key directory and the iax.conf reader. */
#include "testutil.h"

#include <sys/stat.h>
#include <netinet/in.h>

#include "core/atomicfile.h"
#include "core/log.h"
#include "guard/guard.h"
#include "iax2/call.h"
#include "iax2/frame.h"
#include "iax2/token.h"
#include "store/iaxusers.h"
#include "store/keys.h"
#include "store/store.h"

/* A line "kind|a|b|want" of tests/vectors/challenge-auth.txt. */
static bool
vector(const char *kind, char *a, char *b, char *want, size_t sz)
{
	FILE *f = fopen("tests/vectors/challenge-auth.txt", "r");
	char line[1024];
	bool found = false;

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, kind, strlen(kind)) != 0 || line[strlen(kind)] != '|')
			continue;
		line[strcspn(line, "\r\n")] = '\0';
		char *p = line + strlen(kind) + 1, *q = strchr(p, '|'), *r = q ? strchr(q + 1, '|') : NULL;
		assert_non_null(r);
		*q++ = '\0';
		*r++ = '\0';
		snprintf(a, sz, "%s", p);
		snprintf(b, sz, "%s", q);
		snprintf(want, sz, "%s", r);
		found = true;
	}
	fclose(f);
	return found;
}

/* ---- frames ---------------------------------------------------------------- */

static void
test_full_frame(void **state)
{
	/* A NEW from call 0x1234 with two IEs, by hand from RFC 5456 section 8.1.1. */
	const uint8_t raw[] = { 0x92, 0x34, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x06, 0x01,
		IAX_IE_USERNAME, 5, 'a', 'l', 'i', 'c', 'e', IAX_IE_CALLTOKEN, 0 };
	struct iax_frame f;
	struct iax_ies ies;
	const char *why;
	(void)state;

	assert_true(iax_frame_parse(raw, sizeof(raw), &f));
	assert_int_equal(f.kind, IAX_FULL);
	assert_int_equal(f.scallno, 0x1234);
	assert_int_equal(f.dcallno, 0);
	assert_false(f.retrans);
	assert_int_equal(f.ts, 5);
	assert_int_equal(f.type, IAX_T_IAX);
	assert_int_equal(f.subclass, IAX_NEW);
	assert_true(iax_ies_parse(f.data, &ies, &why));
	assert_slice_equal(ies.v[IAX_IE_USERNAME], "alice");
	/* Present and empty is not absent: that is how a token is asked for. */
	assert_true(iax_ie_present(&ies, IAX_IE_CALLTOKEN));
	assert_int_equal(ies.v[IAX_IE_CALLTOKEN].n, 0);
	assert_false(iax_ie_present(&ies, IAX_IE_PASSWORD));

	/* A length that overruns the frame makes it undecodable, whole. */
	assert_false(iax_ies_parse((struct slice){ (const char *)raw + 12, 6 }, &ies, &why));
	assert_string_equal(why, "an information element longer than the frame");
	assert_false(iax_ies_parse((struct slice){ (const char *)raw + 12, 1 }, &ies, &why));
	/* A full frame shorter than its header, a 0 source call number. */
	assert_false(iax_frame_parse(raw, 11, &f));
	uint8_t zero[12] = { 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 6, 1 };
	assert_false(iax_frame_parse(zero, sizeof(zero), &f));

	/* The R bit, and a compressed subclass: 0x80 | 2 is 1 << 2 (ulaw). */
	uint8_t voice[] = { 0x80, 0x02, 0x80, 0x07, 0, 0, 0, 20, 3, 4, IAX_T_VOICE, 0x82, 0xff };
	assert_true(iax_frame_parse(voice, sizeof(voice), &f));
	assert_true(f.retrans);
	assert_int_equal(f.dcallno, 7);
	assert_int_equal(f.subclass, 4);
	assert_int_equal(f.oseqno, 3);
	assert_int_equal(f.iseqno, 4);
	voice[11] = 0xff; /* Asterisk's "no subclass" is not a frame */
	assert_false(iax_frame_parse(voice, sizeof(voice), &f));
}

static void
test_mini_meta_and_build(void **state)
{
	const uint8_t mini[] = { 0x00, 0x2a, 0x12, 0x34, 1, 2, 3 };
	const uint8_t meta[] = { 0x00, 0x00, 0x80, 0x01 };
	struct iax_frame f;
	struct iax_out o;
	bool ok;
	(void)state;

	assert_true(iax_frame_parse(mini, sizeof(mini), &f));
	assert_int_equal(f.kind, IAX_MINI);
	assert_int_equal(f.scallno, 42);
	assert_int_equal(f.ts, 0x1234);
	assert_int_equal(f.data.n, 3);
	assert_true(iax_frame_parse(meta, sizeof(meta), &f));
	assert_int_equal(f.kind, IAX_META);
	assert_false(iax_frame_parse(mini, 3, &f));

	iax_out_full(&o, 0x1234, 0x0567, 0x01020304, 9, 10, IAX_T_IAX, IAX_REGACK);
	iax_out_ie_str(&o, IAX_IE_USERNAME, "bob");
	iax_out_ie_u16(&o, IAX_IE_REFRESH, 60);
	const uint8_t want[] = { 0x92, 0x34, 0x05, 0x67, 1, 2, 3, 4, 9, 10, 6, 15,
		6, 3, 'b', 'o', 'b', 19, 2, 0, 60 };
	assert_int_equal(o.n, sizeof(want));
	assert_memory_equal(o.buf, want, sizeof(want));
	assert_false(o.overflow);
	assert_int_equal(iax_compress_subclass(1u << 2, &ok), 4); /* small: as it is */
	assert_int_equal(iax_compress_subclass(1u << 8, &ok), 0x88);
	assert_true(ok);
	iax_compress_subclass(6, &ok);
	assert_true(ok);
	iax_compress_subclass(0x300, &ok); /* two bits: not sayable */
	assert_false(ok);
	/* An IE longer than 255 bytes cannot be said either. */
	char big[300];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	iax_out_ie_str(&o, IAX_IE_CAUSE, big);
	assert_true(o.overflow);
}

static void
test_apparent_addr_and_datetime(void **state)
{
	struct addr a;
	uint8_t b[16];
	(void)state;

	assert_true(addr_parse(S("192.0.2.7:4570"), &a));
	iax_apparent_addr(&a.ss, b);
	uint16_t fam;
	memcpy(&fam, b, 2);
	assert_int_equal(fam, AF_INET); /* host order, as chan_iax2 copies it */
	const uint8_t rest[] = { 0x11, 0xda, 192, 0, 2, 7, 0, 0, 0, 0, 0, 0, 0, 0 };
	assert_memory_equal(b + 2, rest, sizeof(rest));

	setenv("TZ", "UTC", 1);
	tzset();
	/* 2026-11-22 20:15:42 UTC: 42/2, 15, 20, 22, 11, 26 packed as Asterisk does. */
	uint32_t v = iax_datetime(1795378542);
	assert_int_equal(v & 0x1f, 21);
	assert_int_equal(v >> 5 & 0x3f, 15);
	assert_int_equal(v >> 11 & 0x1f, 20);
	assert_int_equal(v >> 16 & 0x1f, 22);
	assert_int_equal(v >> 21 & 0xf, 11);
	assert_int_equal(v >> 25, 26);
}

/* ---- call tokens ------------------------------------------------------------ */

static void
test_tokens(void **state)
{
	uint8_t key[32] = { 1, 2, 3 }, other[32] = { 9 };
	struct addr a, b, c;
	char t[IAX_TOKEN_LEN + 1];
	(void)state;

	assert_true(addr_parse(S("198.51.100.4:4569"), &a));
	assert_true(addr_parse(S("198.51.100.5:4569"), &b));
	assert_true(addr_parse(S("198.51.100.4:4570"), &c));
	iax_token_make(key, &a, 1795378542, t);
	/* Asterisk's shape: "<time>?<40 hex>". */
	assert_int_equal(strlen(t), 51);
	assert_memory_equal(t, "1795378542?", 11);
	assert_int_equal(iax_token_check(key, &a, S(t), 1795378542, 10), IAX_TOKEN_OK);
	assert_int_equal(iax_token_check(key, &a, S(t), 1795378552, 10), IAX_TOKEN_OK);
	assert_int_equal(iax_token_check(key, &a, S(t), 1795378553, 10), IAX_TOKEN_EXPIRED);
	assert_int_equal(iax_token_check(key, &a, S(t), 1795378500, 10), IAX_TOKEN_EXPIRED);
	/* Bound to the address and the port, and to our key. */
	assert_int_equal(iax_token_check(key, &b, S(t), 1795378542, 10), IAX_TOKEN_FORGED);
	assert_int_equal(iax_token_check(key, &c, S(t), 1795378542, 10), IAX_TOKEN_FORGED);
	assert_int_equal(iax_token_check(other, &a, S(t), 1795378542, 10), IAX_TOKEN_FORGED);
	/* A later time with the same hash is not ours. */
	char moved[IAX_TOKEN_LEN + 1];
	snprintf(moved, sizeof(moved), "1795378549%s", t + 10);
	assert_int_equal(iax_token_check(key, &a, S(moved), 1795378550, 10), IAX_TOKEN_FORGED);
	t[20] = t[20] == 'a' ? 'b' : 'a';
	assert_int_equal(iax_token_check(key, &a, S(t), 1795378542, 10), IAX_TOKEN_FORGED);
	assert_int_equal(iax_token_check(key, &a, S("1795378542"), 1795378542, 10),
	    IAX_TOKEN_MALFORMED);
	assert_int_equal(iax_token_check(key, &a, S("x?0123456789012345678901234567890123456789"),
	    1795378542, 10), IAX_TOKEN_MALFORMED);
	assert_int_equal(iax_token_check(key, &a, S("1?zz23456789012345678901234567890123456789"),
	    1795378542, 10), IAX_TOKEN_MALFORMED);
}

/* ---- reliability ------------------------------------------------------------- */

static size_t nsent;
static uint8_t last_sent[64];

static void
capture(void *arg, const struct addr *to, const uint8_t *buf, size_t n)
{
	(void)arg;
	(void)to;
	nsent++;
	memcpy(last_sent, buf, n < sizeof(last_sent) ? n : sizeof(last_sent));
}

static void
test_sequence_numbers(void **state)
{
	struct iax_calls *t = calloc(1, sizeof(*t));
	struct addr a;
	struct iax_out o;
	(void)state;

	assert_non_null(t);
	assert_true(addr_parse(S("127.0.0.1:4569"), &a));
	struct iax_leg *l = iax_leg_new(t, &a, 1000);
	assert_non_null(l);
	assert_true(l->local >= 2 && l->local <= IAX_MAX_CALLNO);
	iax_leg_bind_remote(t, l, 77);
	assert_ptr_equal(iax_leg_by_remote(t, &a, 77), l);
	assert_null(iax_leg_by_remote(t, &a, 78));

	/* Outbound: 300 frames, so the 8-bit numbers wrap; each waits for its ACK. */
	for (int i = 0; i < 300; i++) {
		iax_out_full(&o, 0, 0, (uint32_t)i + 1, 0, 0, IAX_T_IAX, IAX_PING);
		assert_true(iax_leg_stamp(l, &o, 1000));
		assert_int_equal(o.buf[8], (uint8_t)i);
		/* Now and then the peer's iseqno says it has all up to two frames ago. */
		if (i % 3 == 2)
			iax_leg_acked(l, (uint8_t)(i - 2));
	}
	size_t queued = 0;
	for (struct iax_sent *s = l->queue; s; s = s->next)
		queued++;
	assert_int_equal(queued, 3); /* 297, 298, 299 */
	assert_int_equal(l->queue->oseqno, (uint8_t)297);
	/* An iseqno outside what we sent (a spoofed or stale ACK) acknowledges nothing. */
	iax_leg_acked(l, (uint8_t)(299 + 5));
	assert_int_equal(l->queue->oseqno, (uint8_t)297);
	iax_leg_acked(l, (uint8_t)100);
	assert_int_equal(l->queue->oseqno, (uint8_t)297);
	/* ACK frames take no number and wait for nothing. */
	iax_out_full(&o, 0, 0, 5, 0, 0, IAX_T_IAX, IAX_ACK);
	iax_leg_stamp(l, &o, 1000);
	assert_int_equal(o.buf[8], (uint8_t)300);
	assert_int_equal(l->oseqno, (uint8_t)300);

	/* Retransmission: at 1 s with the R bit, backing off, dead after IAX_MAX_TRIES. */
	nsent = 0;
	assert_int_equal(iax_leg_retransmit(l, 1500, false, capture, NULL), 0);
	assert_int_equal(nsent, 0);
	assert_int_equal(iax_leg_retransmit(l, 2000, false, capture, NULL), 0);
	assert_int_equal(nsent, 3);
	assert_true(last_sent[2] & 0x80);
	assert_int_equal(iax_leg_retransmit(l, 3000, false, capture, NULL), 0);
	assert_int_equal(nsent, 3); /* next at 2000 + 2 s */
	int r = 0;
	for (uint64_t now = 4000; now < 200000 && r == 0; now += 1000)
		r = iax_leg_retransmit(l, now, false, capture, NULL);
	assert_int_equal(r, -1);
	iax_leg_acked(l, (uint8_t)300);
	assert_null(l->queue);

	/* Inbound: in order, duplicates behind, gaps ahead, across the wrap. */
	struct iax_frame f = { .kind = IAX_FULL, .type = IAX_T_VOICE, .subclass = 4 };
	for (int i = 0; i < 260; i++) {
		f.oseqno = (uint8_t)i;
		assert_int_equal(iax_leg_in_order(l, &f), 1);
	}
	f.oseqno = (uint8_t)258;
	assert_int_equal(iax_leg_in_order(l, &f), 0);
	f.oseqno = (uint8_t)262;
	assert_int_equal(iax_leg_in_order(l, &f), -1);
	f.type = IAX_T_IAX;
	f.subclass = IAX_ACK; /* unnumbered: always taken */
	assert_int_equal(iax_leg_in_order(l, &f), 1);
	assert_int_equal(l->iseqno, (uint8_t)260);

	/* Per-source counts. */
	struct ipkey k;
	ipkey_from_addr(&a, &k);
	iax_source_add(t, &k, 1);
	iax_source_add(t, &k, 1);
	assert_int_equal(iax_source_count(t, &k), 2);
	iax_source_add(t, &k, -2);
	assert_int_equal(iax_source_count(t, &k), 0);
	iax_leg_free(t, l);
	assert_int_equal(t->n, 0);
	assert_null(t->all);
	free(t);
}

/* ---- keys ------------------------------------------------------------------ */

static void
copy_file(const char *from, const char *to, mode_t mode)
{
	char *data = NULL, err[256];
	size_t n = 0;
	assert_int_equal(file_read_all(from, 1 << 20, &data, &n, err, sizeof(err)), 0);
	FILE *f = fopen(to, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	fclose(f);
	assert_int_equal(chmod(to, mode), 0);
	free(data);
}

static void
put(void *arg, const char *line)
{
	strncat(arg, line, 2047 - strlen(arg));
	strncat(arg, "\n", 2047 - strlen(arg));
}

static void
test_keys_and_rsa_vector(void **state)
{
	char dir[64], p[256], err[256], ch[256], name[256], want[512], sig[1400];
	(void)state;

	assert_true(vector("iax2-rsa", ch, name, want, sizeof(want)));
	test_tmpdir(dir, sizeof(dir));
	snprintf(p, sizeof(p), "%s/iaxtest.key", dir);
	copy_file("tests/vectors/keys/iaxtest.key", p, 0600);
	snprintf(p, sizeof(p), "%s/iaxtest.pub", dir);
	copy_file("tests/vectors/keys/iaxtest.pub", p, 0644);
	/* A private key others can read is refused, as res_crypto does. */
	snprintf(p, sizeof(p), "%s/loose.key", dir);
	copy_file("tests/vectors/keys/iaxtest.key", p, 0640);
	snprintf(p, sizeof(p), "%s/notakey.pub", dir);
	write_file(p, "hello\n");

	struct keyring *r = keyring_load(dir, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(r->n, 2);
	assert_int_equal(r->nwarn, 2);
	bool loose = false;
	for (size_t i = 0; i < r->nwarn; i++)
		loose |= strstr(r->warn[i], "loose.key: private key file has bad permissions (mode "
		    "640): refused") != NULL;
	assert_true(loose);
	const struct iax_key *priv = keyring_find(r, S(name), true);
	const struct iax_key *pub = keyring_find(r, S(name), false);
	assert_non_null(priv);
	assert_non_null(pub);
	assert_int_equal(priv->bits, 1024);
	assert_null(keyring_find(r, S("loose"), true));

	/* The signature openssl dgst -sha1 -sign made, byte for byte (PKCS#1 v1.5 is
	 * deterministic), and it verifies; another challenge does not. */
	assert_true(key_sign(priv, S(ch), sig, sizeof(sig)));
	assert_string_equal(sig, want);
	assert_true(key_verify(pub, S(ch), S(want)));
	assert_false(key_verify(pub, S("123456780"), S(want)));
	assert_false(key_verify(pub, S(ch), S("AAAA")));
	assert_false(key_verify(pub, S(ch), S("not base64!")));
	assert_false(key_verify(NULL, S(ch), S(want)));
	/* The public key cannot sign. */
	assert_false(key_sign(pub, S(ch), sig, sizeof(sig)));

	/* Asterisk's keys show: name, type, status, MD5 of the file. */
	char table[2048] = "";
	keyring_show(r, put, table);
	assert_non_null(strstr(table, "Key Name           Type     Status           Sum"));
	assert_non_null(strstr(table, "iaxtest            PRIVATE  [Loaded]         "));
	assert_non_null(strstr(table, "2 known RSA keys."));
	keyring_free(r);
}

static void
test_passphrase_key(void **state)
{
	char dir[64], p[256], cmd[512], err[256];
	(void)state;

	test_tmpdir(dir, sizeof(dir));
	/* astgenkey's protected key, as Debian's openssl writes it. */
	snprintf(cmd, sizeof(cmd), "openssl genrsa -aes256 -passout pass:s3cret -out %s/locked.key "
	    "1024 2>/dev/null && chmod 600 %s/locked.key", dir, dir);
	assert_int_equal(system(cmd), 0);
	struct keyring *r = keyring_load(dir, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(r->n, 1);
	assert_true(r->k[0].needs_passcode);
	assert_null(r->k[0].pkey);
	assert_int_equal(keyring_locked(r), 1);
	char table[2048] = "";
	keyring_show(r, put, table);
	assert_non_null(strstr(table, "[Needs Passcode]"));
	char sig[1400];
	assert_false(key_sign(&r->k[0], S("1"), sig, sizeof(sig)));
	assert_false(keyring_unlock(r, "locked", "wrong", err, sizeof(err)));
	assert_string_equal(err, "'locked': wrong passcode");
	assert_true(keyring_unlock(r, "locked", "s3cret", err, sizeof(err)));
	assert_int_equal(keyring_locked(r), 0);
	assert_true(key_sign(&r->k[0], S("1"), sig, sizeof(sig)));
	assert_false(keyring_unlock(r, "locked", "s3cret", err, sizeof(err)));
	keyring_free(r);
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	assert_int_equal(system(p), 0);
}

/* ---- iax.conf and the guard ------------------------------------------------ */

static const char iax_conf[] =
    "[general]\n"
    "bindport = 4569\n"
    "[phones](!)\n"
    "type = friend\n"
    "host = dynamic\n"
    "context = from-phones\n"
    "[alice](phones)\n"
    "secret = old-one\\;s3cr3t-Pass\n"
    "[iaxtest](phones)\n"
    "auth = rsa\n"
    "inkeys = nosuch:iaxtest\n"
    "[trunk]\n"
    "type = user\n"
    "auth = md5,plaintext\n"
    "secret = trunkpw\n"
    "permit = 127.0.0.0/255.0.0.0\n"
    "requirecalltoken = no\n"
    "[fixed]\n"
    "type = peer\n"
    "host = 192.0.2.1\n"
    "secret = x\n"
    "[untyped]\n"
    "secret = y\n"
    "mystery = 1\n";

static void
test_iax_users(void **state)
{
	struct config cfg;
	char err[512];
	(void)state;

	config_defaults(&cfg);
	struct iax_users *u = iax_users_parse(iax_conf, strlen(iax_conf), "iax.conf", &cfg, err,
	    sizeof(err));
	assert_non_null(u);
	assert_int_equal(u->n, 4);
	const struct iax_user *a = iax_users_find(u, S("alice"));
	assert_non_null(a);
	assert_true(a->can_call && a->can_register);
	assert_int_equal(a->nsecrets, 2);
	assert_string_equal(a->secrets[1], "s3cr3t-Pass");
	assert_int_equal(a->auth, IAXU_AUTH_MD5);
	assert_null(iax_users_find(u, S("Alice"))); /* case-sensitive, as chan_iax2 */
	const struct iax_user *k = iax_users_find(u, S("iaxtest"));
	assert_int_equal(k->auth, IAXU_AUTH_RSA);
	assert_int_equal(k->ninkeys, 2);
	assert_string_equal(k->inkeys[1], "iaxtest");
	const struct iax_user *t = iax_users_find(u, S("trunk"));
	assert_true(t->can_call && !t->can_register);
	assert_int_equal(t->auth, IAXU_AUTH_MD5 | IAXU_AUTH_PLAINTEXT);
	assert_int_equal(t->requirecalltoken, IAXU_TOKEN_NO);
	assert_int_equal(t->ha.n, 1);
	assert_false(iax_users_find(u, S("fixed"))->can_register);
	assert_null(iax_users_find(u, S("untyped")));
	size_t hits = 0;
	for (size_t i = 0; i < u->nwarn; i++)
		hits += strstr(u->warn[i], "[untyped] has no type") != NULL ||
		    strstr(u->warn[i], "[fixed] has a fixed host") != NULL ||
		    strstr(u->warn[i], "'mystery' is not used") != NULL;
	assert_int_equal(hits, 3);
	iax_users_free(u);

	assert_null(iax_users_parse("[x]\ntype = gateway\n", 18, "iax.conf", &cfg, err,
	    sizeof(err)));
	assert_string_equal(err, "iax.conf:2: [x]: type: expected user, peer or friend, got "
	    "'gateway'");
	assert_null(iax_users_parse("[x]\ntype=user\nauth=md5,kerberos\n", 31, "iax.conf", &cfg,
	    err, sizeof(err)));
	assert_non_null(strstr(err, "auth: 'kerberos'"));
	config_free(&cfg);
}

static void
test_guard_login(void **state)
{
	struct config cfg;
	struct config_errors e = { 0 };
	char err[512], dir[64], p[256], ch[256], secret[256], want[512], md5[33];
	struct addr remote, local;
	(void)state;

	/* The shared MD5 vector: hex MD5(challenge || secret). */
	assert_true(vector("iax2-md5", ch, secret, want, sizeof(want)));
	guard_iax_md5(S(ch), S(secret), md5);
	assert_string_equal(md5, want);

	assert_true(config_load(&cfg, NULL, &e));
	config_errors_free(&e);
	cfg.bans_enabled = false;
	struct store *st = store_file_open("tests/vectors/userdb", err, sizeof(err));
	struct guard *g = guard_new(&cfg, st);
	struct iax_users *u = iax_users_parse(iax_conf, strlen(iax_conf), "iax.conf", &cfg, err,
	    sizeof(err));
	test_tmpdir(dir, sizeof(dir));
	snprintf(p, sizeof(p), "%s/iaxtest.pub", dir);
	copy_file("tests/vectors/keys/iaxtest.pub", p, 0644);
	struct keyring *r = keyring_load(dir, err, sizeof(err));
	assert_true(addr_parse(S("127.0.0.5:4570"), &remote));
	assert_true(addr_parse(S("127.0.0.1:4569"), &local));
	struct guard_source src = { &remote, &local, "UDP", "IAX2", CONFIG_NO_ACL };
	struct guard_verdict v;
	struct guard_iax_login rq = { .src = &src, .users = u, .keys = r, .reg = true,
		.challenge = S(ch), .now = 1000 };

	/* md5 with the second of two secrets */
	rq.username = S("alice");
	rq.has_md5 = true;
	rq.md5 = S(want);
	assert_non_null(guard_iax_login(g, &rq, &v));
	assert_int_equal(v.event, SECEVENT_SUCCESSFUL_AUTH);
	/* ... upper-case hex too (chan_iax2 compares with strcasecmp) */
	char upper[33];
	for (int i = 0; i < 33; i++)
		upper[i] = (char)(want[i] >= 'a' && want[i] <= 'f' ? want[i] - 32 : want[i]);
	rq.md5 = S(upper);
	assert_non_null(guard_iax_login(g, &rq, &v));
	rq.md5 = S("0371a90c481eb00a9210189e523a8dc1");
	assert_null(guard_iax_login(g, &rq, &v));
	assert_int_equal(v.event, SECEVENT_CHALLENGE_RESPONSE_FAILED);
	assert_true(v.strike);
	/* the same answer, for a challenge never sent (empty) */
	rq.md5 = S(want);
	rq.challenge = S("");
	assert_null(guard_iax_login(g, &rq, &v));
	rq.challenge = S(ch);

	/* An unknown name: InvalidAccountID, a strike, and the offer was md5 as for anyone. */
	rq.username = S("mallory");
	assert_null(guard_iax_login(g, &rq, &v));
	assert_int_equal(v.event, SECEVENT_INVALID_ACCOUNT_ID);
	assert_true(v.strike);
	assert_int_equal(guard_iax_methods(u, S("mallory"), true), IAXU_AUTH_MD5);
	assert_int_equal(guard_iax_methods(u, S("iaxtest"), true), IAXU_AUTH_RSA);
	/* trunk is a user, not a peer: it cannot register (the same refusal as unknown). */
	rq.username = S("trunk");
	assert_null(guard_iax_login(g, &rq, &v));
	assert_int_equal(v.event, SECEVENT_INVALID_ACCOUNT_ID);

	/* RSA: the vector's signature against inkeys (the first key is missing). */
	char rch[256], rname[256], rsig[512];
	assert_true(vector("iax2-rsa", rch, rname, rsig, sizeof(rsig)));
	rq = (struct guard_iax_login){ .src = &src, .users = u, .keys = r, .reg = true,
		.username = S("iaxtest"), .challenge = S(rch), .has_rsa = true, .rsa = S(rsig),
		.now = 1000 };
	assert_non_null(guard_iax_login(g, &rq, &v));
	rq.challenge = S("987654321");
	assert_null(guard_iax_login(g, &rq, &v));
	assert_string_equal(v.reason, "RSA signature matches none of the inkeys");
	/* An MD5 answer where only rsa is allowed is no way in. */
	rq.challenge = S(rch);
	rq.has_rsa = false;
	rq.has_md5 = true;
	rq.md5 = S(want);
	assert_null(guard_iax_login(g, &rq, &v));

	/* plaintext only where the account says so; permit applies. */
	rq = (struct guard_iax_login){ .src = &src, .users = u, .keys = r, .reg = false,
		.username = S("trunk"), .challenge = S(ch), .has_password = true,
		.password = S("trunkpw"), .now = 1000 };
	assert_non_null(guard_iax_login(g, &rq, &v));
	rq.username = S("alice");
	rq.password = S("s3cr3t-Pass");
	assert_null(guard_iax_login(g, &rq, &v));
	assert_int_equal(v.event, SECEVENT_INVALID_PASSWORD);
	struct addr far;
	assert_true(addr_parse(S("192.0.2.9:4569"), &far));
	src.remote = &far;
	rq.username = S("trunk");
	rq.password = S("trunkpw");
	assert_null(guard_iax_login(g, &rq, &v));
	assert_int_equal(v.event, SECEVENT_FAILED_ACL);
	assert_string_equal(v.acl_name, "permit/deny");

	/* Token refusals: a token not ours is a strike, a missing one is not. */
	guard_iax_token_refused(S("alice"), S("REGREQ"), "invalid call token", true, 1000, &v);
	assert_int_equal(v.event, SECEVENT_REQUEST_NOT_ALLOWED);
	assert_true(v.strike);
	assert_int_equal(v.outcome, GUARD_FORBIDDEN);
	assert_slice_equal(v.request_type, "REGREQ");
	guard_iax_token_refused(S("modem1"), S("REGREQ"), "call token required", false, 1000, &v);
	assert_false(v.strike);

	keyring_free(r);
	iax_users_free(u);
	guard_free(g);
	store_free(st);
	config_free(&cfg);
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	assert_int_equal(system(p), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_frame),
		cmocka_unit_test(test_mini_meta_and_build),
		cmocka_unit_test(test_apparent_addr_and_datetime),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_sequence_numbers),
		cmocka_unit_test(test_keys_and_rsa_vector),
		cmocka_unit_test(test_passphrase_key),
		cmocka_unit_test(test_iax_users),
		cmocka_unit_test(test_guard_login),
	};
	log_set_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
