#include "guard/pwpolicy.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <zxcvbn.h>

#include "core/atomicfile.h"
#include "core/rand.h"
#include "core/slice.h"

#define BLOCKLIST_MAX_SIZE (256u << 20)
#define WORD_MAX 128

struct pwpolicy {
	struct config_pwpolicy pw;
	struct config_pinpolicy pin;
	char *arena;		/* the words, NUL-terminated, lower case */
	size_t arena_len, arena_cap;
	size_t *slot;		/* open addressing: offset + 1 into arena, 0 empty */
	size_t nslot, nwords;
};

/*
 * Always refused, whatever the list file says: the defaults of the
 * systems pbxguard guards and of the seeds (ScopTEL's admin/admin and
 * root/scopserv, FreePBX's amp111/amp109, Asterisk's sample secrets), and
 * the words every SIP scanner tries first.
 */
static const char *const classics[] = {
	"admin", "administrator", "password", "passw0rd", "secret", "s3cret", "changeme",
	"default", "guest", "test", "testing", "letmein", "welcome", "qwerty", "root", "toor",
	"asterisk", "freepbx", "scopserv", "scoptel", "amp111", "amp109", "mysecret", "blah",
	"voip", "sip", "pbx", "phone", "telephone", "trixbox", "elastix", "issabel", "vicidial",
	"goautodial", "1234", "12345", "123456", "1234567", "12345678", "123456789",
	"1234567890", "0000", "00000000", "1111", "11111111", "iloveyou", "monkey", "dragon",
	"master", "manager", "operator", "support", "service", "user", "demo", "sipsecret",
};

/* Trivial PINs: the top of every leaked PIN list, and keypad lines. */
static const char *const trivial_pins[] = {
	"0000", "1111", "2222", "3333", "4444", "5555", "6666", "7777", "8888", "9999",
	"1234", "4321", "1212", "1122", "1313", "1004", "2000", "2001", "1010", "2580",
	"0852", "1470", "0741", "3690", "0963", "1379", "1397", "6969", "4242", "1235",
	"123456", "654321", "111111", "000000", "121212", "112233", "123123", "696969",
	"159753", "147258", "789456", "147852", "123321", "666666", "555555", "987654",
};

static uint64_t
hash_word(const char *w, size_t n)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a: the list is ours, not an attacker's */
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)w[i];
		h *= 1099511628211ull;
	}
	return h;
}

static bool
lookup(const struct pwpolicy *p, const char *w, size_t n)
{
	if (p->nslot == 0)
		return false;
	for (size_t i = hash_word(w, n) & (p->nslot - 1);; i = (i + 1) & (p->nslot - 1)) {
		if (!p->slot[i])
			return false;
		const char *s = p->arena + p->slot[i] - 1;
		if (strlen(s) == n && memcmp(s, w, n) == 0)
			return true;
	}
}

static bool
grow_slots(struct pwpolicy *p)
{
	size_t n = p->nslot ? p->nslot * 2 : 8192;
	size_t *s = calloc(n, sizeof(*s));
	if (!s)
		return false;
	for (size_t i = 0; i < p->nslot; i++) {
		if (!p->slot[i])
			continue;
		const char *w = p->arena + p->slot[i] - 1;
		size_t j = hash_word(w, strlen(w)) & (n - 1);
		while (s[j])
			j = (j + 1) & (n - 1);
		s[j] = p->slot[i];
	}
	free(p->slot);
	p->slot = s;
	p->nslot = n;
	return true;
}

/* Adds w lower-cased; empty words and duplicates are skipped. */
static bool
add_word(struct pwpolicy *p, const char *w, size_t n)
{
	char low[WORD_MAX];

	if (n == 0 || n >= sizeof(low))
		return true;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)w[i]);
	if (lookup(p, low, n))
		return true;
	if ((p->nwords + 1) * 2 > p->nslot && !grow_slots(p))
		return false;
	if (p->arena_len + n + 1 > p->arena_cap) {
		size_t cap = p->arena_cap ? p->arena_cap * 2 : 65536;
		while (cap < p->arena_len + n + 1)
			cap *= 2;
		char *a = realloc(p->arena, cap);
		if (!a)
			return false;
		p->arena = a;
		p->arena_cap = cap;
	}
	memcpy(p->arena + p->arena_len, low, n);
	p->arena[p->arena_len + n] = '\0';
	size_t j = hash_word(low, n) & (p->nslot - 1);
	while (p->slot[j])
		j = (j + 1) & (p->nslot - 1);
	p->slot[j] = p->arena_len + 1;
	p->arena_len += n + 1;
	p->nwords++;
	return true;
}

/* One word per line; John's "#!comment:" lines and blank lines skipped. */
static bool
load_list(struct pwpolicy *p, const char *data, size_t n)
{
	size_t i = 0;
	while (i < n) {
		const char *nl = memchr(data + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - data) : n, len = end - i;
		if (len && data[i + len - 1] == '\r')
			len--;
		if (!(len >= 2 && data[i] == '#' && data[i + 1] == '!') &&
		    !add_word(p, data + i, len))
			return false;
		i = end + 1;
	}
	return true;
}

struct pwpolicy *
pwpolicy_new(const struct config_pwpolicy *pw, const struct config_pinpolicy *pin, char *warn,
    size_t warnsz, char *err, size_t errsz)
{
	struct pwpolicy *p = calloc(1, sizeof(*p));
	char *data = NULL, ferr[256];
	size_t n = 0;

	if (warnsz)
		warn[0] = '\0';
	if (!p)
		goto nomem;
	p->pw = *pw;
	p->pin = *pin;
	for (size_t i = 0; i < sizeof(classics) / sizeof(classics[0]); i++)
		if (!add_word(p, classics[i], strlen(classics[i])))
			goto nomem;
	if (pw->blocklist[0]) {
		struct stat st;
		/* The default list comes with a package that may be missing; a
		 * list the administrator named must be there. */
		if (strcmp(pw->blocklist, CONFIG_DEFAULT_BLOCKLIST) == 0 &&
		    stat(pw->blocklist, &st) != 0 && errno == ENOENT) {
			snprintf(warn, warnsz, "[password-policy] blocklist %s is missing "
			    "(Debian's john-data): only the embedded list of %zu classics is "
			    "used", pw->blocklist, p->nwords);
		} else if (file_read_all(pw->blocklist, BLOCKLIST_MAX_SIZE, &data, &n, ferr,
		    sizeof(ferr)) != 0) {
			snprintf(err, errsz, "[password-policy] blocklist: %s", ferr);
			goto fail;
		} else if (!load_list(p, data, n)) {
			goto nomem;
		}
	}
	free(data);
	return p;
nomem:
	snprintf(err, errsz, "password policy: out of memory");
fail:
	free(data);
	pwpolicy_free(p);
	return NULL;
}

void
pwpolicy_free(struct pwpolicy *p)
{
	if (!p)
		return;
	free(p->arena);
	free(p->slot);
	free(p);
}

size_t
pwpolicy_blocklist_size(const struct pwpolicy *p)
{
	return p->nwords;
}

bool
pwpolicy_enforced(const struct pwpolicy *p)
{
	return p->pw.enforce;
}

static void __attribute__((format(printf, 2, 3)))
reason(struct pw_verdict *v, const char *fmt, ...)
{
	va_list ap;
	if (v->n == PW_MAX_REASONS)
		return;
	va_start(ap, fmt);
	vsnprintf(v->why[v->n++], PW_REASON_MAX, fmt, ap);
	va_end(ap);
}

const char *
pw_verdict_str(const struct pw_verdict *v, char *dst, size_t dstsz)
{
	size_t off = 0;
	dst[0] = '\0';
	for (size_t i = 0; i < v->n && off < dstsz; i++) {
		int k = snprintf(dst + off, dstsz - off, "%s%s", i ? "; " : "", v->why[i]);
		if (k < 0)
			break;
		off += (size_t)k;
	}
	return dst;
}

/* Case-insensitive substring search in a bounded haystack. */
static bool
contains_ci(const char *h, size_t hn, const char *needle, size_t nn)
{
	if (nn == 0 || nn > hn)
		return false;
	for (size_t i = 0; i + nn <= hn; i++)
		if (strncasecmp(h + i, needle, nn) == 0)
			return true;
	return false;
}

static bool
reversed_eq_ci(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++)
		if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[bn - 1 - i]))
			return false;
	return true;
}

/* Equal to, containing or reversing one identity word. min: shortest word
 * that counts as "contained" (a one-letter user is in every password). */
static void
check_identity(const char *pw, size_t len, const char *word, const char *what, size_t min,
    struct pw_verdict *v)
{
	if (!word || !*word)
		return;
	size_t wn = strlen(word);
	if (wn == len && strncasecmp(pw, word, len) == 0) {
		reason(v, "equals the %s", what);
		v->first_guess = true;
	} else if (wn >= min && contains_ci(pw, len, word, wn))
		reason(v, "contains the %s", what);
	else if (wn >= min && reversed_eq_ci(pw, len, word, wn))
		reason(v, "is the %s reversed", what);
}

/* The longest run of one character. */
static size_t
longest_repeat(const char *s, size_t n)
{
	size_t best = n ? 1 : 0, run = 1;
	for (size_t i = 1; i < n; i++) {
		run = s[i] == s[i - 1] ? run + 1 : 1;
		if (run > best)
			best = run;
	}
	return best;
}

/* The longest run of consecutive characters, up or down ("abcd", "4321",
 * "7890" with digits wrapping), letters compared without case. */
static size_t
longest_sequence(const char *s, size_t n, bool *down)
{
	size_t best = n ? 1 : 0, run = 1;
	int dir = 0;

	*down = false;
	for (size_t i = 1; i < n; i++) {
		int a = tolower((unsigned char)s[i - 1]), b = tolower((unsigned char)s[i]);
		int d = 0;
		bool digits = isdigit(a) && isdigit(b), letters = isalpha(a) && isalpha(b);
		if (digits || letters) {
			if (b == a + 1 || (digits && a == '9' && b == '0'))
				d = 1;
			else if (b == a - 1 || (digits && a == '0' && b == '9'))
				d = -1;
		}
		run = d != 0 && d == dir ? run + 1 : (d != 0 ? 2 : 1);
		dir = d;
		if (run > best) {
			best = run;
			*down = dir < 0;
		}
	}
	return best;
}

static void
deleet(const char *s, size_t n, char *dst)
{
	static const char from[] = "0134578@$!|", to[] = "oieastbasil";
	for (size_t i = 0; i < n; i++) {
		const char *f = s[i] ? strchr(from, s[i]) : NULL;
		dst[i] = f ? to[f - from] : s[i];
	}
}

/* The word inside what people add around it: leading and trailing digits
 * and symbols. True when something was stripped and 4 letters remain. */
static bool
strip(const char *s, size_t n, size_t *a, size_t *b)
{
	*a = 0;
	while (*a < n && !isalpha((unsigned char)s[*a]))
		(*a)++;
	*b = n;
	while (*b > *a && !isalpha((unsigned char)s[*b - 1]))
		(*b)--;
	return *b - *a >= 4 && (*a > 0 || *b < n);
}

/* "Passw0rd!" -> is "password" in the list?  The checks NIST names: a
 * breach-list word as it is, with digits or symbols around it, or in
 * leetspeak. */
static void
check_blocklist(const struct pwpolicy *p, const char *pw, size_t len, struct pw_verdict *v)
{
	char low[WORD_MAX] = "", leet[WORD_MAX] = "";
	size_t a, b;

	if (len >= WORD_MAX)
		return;
	for (size_t i = 0; i < len; i++)
		low[i] = (char)tolower((unsigned char)pw[i]);
	if (lookup(p, low, len)) {
		reason(v, "in the list of common passwords");
		v->first_guess = true;
		return;
	}
	if (strip(low, len, &a, &b) && lookup(p, low + a, b - a)) {
		reason(v, "a common password with digits or symbols added");
		return;
	}
	deleet(low, len, leet);
	if (memcmp(leet, low, len) != 0 && lookup(p, leet, len)) {
		reason(v, "a common password in leetspeak");
		return;
	}
	/* Strip first ("Pa$$w0rd!": the '!' is an addition), then de-leet. */
	if (strip(low, len, &a, &b)) {
		deleet(low + a, b - a, leet);
		if (lookup(p, leet, b - a)) {
			reason(v, "a common password in leetspeak, with digits or symbols added");
			return;
		}
	}
	deleet(low, len, leet);
	if (strip(leet, len, &a, &b) && lookup(p, leet + a, b - a))
		reason(v, "a common password in leetspeak, with digits or symbols added");
}

/* zxcvbn 4's score from log2(guesses): 10^3, 10^6, 10^8, 10^10. */
static int
zx_score(const char *pw, size_t len, const struct pw_context *who)
{
	char buf[256];
	const char *dict[5];
	size_t nd = 0;

	if (len >= sizeof(buf))
		return 4;	/* zxcvbn looks at 100 characters anyway */
	memcpy(buf, pw, len);
	buf[len] = '\0';
	if (who) {
		const char *w[] = { who->user, who->extension, who->domain, who->realm };
		for (size_t i = 0; i < 4; i++)
			if (w[i] && *w[i])
				dict[nd++] = w[i];
	}
	dict[nd] = NULL;
	double bits = ZxcvbnMatch(buf, dict, NULL);
	OPENSSL_cleanse(buf, sizeof(buf));
	static const double limit[] = { 9.966, 19.932, 26.575, 33.219 };
	int s = 0;
	while (s < 4 && bits >= limit[s])
		s++;
	return s;
}

bool
pwpolicy_check(const struct pwpolicy *p, const char *pw, size_t len,
    const struct pw_context *who, struct pw_verdict *v)
{
	const struct config_pwpolicy *r = &p->pw;
	unsigned have = 0;
	bool ctl = false, down;

	memset(v, 0, sizeof(*v));
	v->score = -1;
	if (len == 0) {
		reason(v, "empty");
		v->first_guess = true;
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)pw[i];
		if (c < 0x20 || c == 0x7f)
			ctl = true;
		else if (isupper(c))
			have |= PW_CLASS_UPPER;
		else if (islower(c))
			have |= PW_CLASS_LOWER;
		else if (isdigit(c))
			have |= PW_CLASS_DIGIT;
		else
			have |= PW_CLASS_SPECIAL;
	}
	if (ctl)
		reason(v, "contains a control character");
	if (len < r->min_length)
		reason(v, "too short: %zu character%s, at least %u", len, len == 1 ? "" : "s",
		    r->min_length);
	if (len > r->max_length)
		reason(v, "too long: %zu characters, at most %u", len, r->max_length);
	if ((r->classes & PW_CLASS_UPPER) && !(have & PW_CLASS_UPPER))
		reason(v, "no upper-case letter");
	if ((r->classes & PW_CLASS_LOWER) && !(have & PW_CLASS_LOWER))
		reason(v, "no lower-case letter");
	if ((r->classes & PW_CLASS_DIGIT) && !(have & PW_CLASS_DIGIT))
		reason(v, "no digit");
	if ((r->classes & PW_CLASS_SPECIAL) && !(have & PW_CLASS_SPECIAL))
		reason(v, "no special character (like ! $ %% ^)");
	if (have == PW_CLASS_DIGIT && !r->digits_only)
		reason(v, "only digits: number ranges are what svcrack tries by default");
	if (who) {
		/* A numeric SIP user is the extension: say so. */
		bool same = who->user && who->extension && strcasecmp(who->user, who->extension) == 0;
		if (!same)
			check_identity(pw, len, who->user, "username", 3, v);
		check_identity(pw, len, who->extension, "extension", 3, v);
		check_identity(pw, len, who->domain, "domain", 4, v);
		if (!who->domain || strcasecmp(who->domain, who->realm ? who->realm : "") != 0)
			check_identity(pw, len, who->realm, "realm", 4, v);
		/* "example" of example.org counts as the domain too. */
		if (who->domain) {
			size_t l = strcspn(who->domain, ".");
			if (l >= 4 && who->domain[l] && contains_ci(pw, len, who->domain, l) &&
			    !contains_ci(pw, len, who->domain, strlen(who->domain)))
				reason(v, "contains the domain's name");
		}
	}
	size_t rep = longest_repeat(pw, len);
	if (rep > r->max_repeat)
		reason(v, "repeats one character %zu times in a row (at most %u)", rep,
		    r->max_repeat);
	size_t seq = longest_sequence(pw, len, &down);
	if (seq > r->max_sequence)
		reason(v, "has a run of %zu %s characters (at most %u)", seq,
		    down ? "descending" : "ascending", r->max_sequence);
	check_blocklist(p, pw, len, v);
	v->score = zx_score(pw, len, who);
	if ((unsigned)v->score < r->min_score)
		reason(v, "too easy to guess: zxcvbn score %d of 4, at least %u", v->score,
		    r->min_score);
	return v->n == 0;
}

bool
pwpolicy_check_pin(const struct pwpolicy *p, const char *pin, size_t len, const char *mailbox,
    struct pw_verdict *v)
{
	const struct config_pinpolicy *r = &p->pin;
	bool down;

	memset(v, 0, sizeof(*v));
	v->score = -1;
	if (len == 0) {
		reason(v, "empty");
		v->first_guess = true;
		return false;
	}
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)pin[i])) {
			reason(v, "not only digits (a phone keypad cannot type it)");
			return false;
		}
	if (len < r->min_length)
		reason(v, "too short: %zu digit%s, at least %u", len, len == 1 ? "" : "s",
		    r->min_length);
	if (len > r->max_length)
		reason(v, "too long: %zu digits, at most %u", len, r->max_length);
	if (mailbox && *mailbox)
		check_identity(pin, len, mailbox, "mailbox number", 3, v);
	size_t rep = longest_repeat(pin, len);
	if (rep > r->max_repeat)
		reason(v, "repeats one digit %zu times in a row (at most %u)", rep, r->max_repeat);
	for (size_t k = 1; k <= len / 2 && rep <= r->max_repeat; k++)
		if (len % k == 0) {
			bool same = true;
			for (size_t i = k; i < len && same; i++)
				same = pin[i] == pin[i - k];
			if (same) {
				reason(v, "one short pattern repeated (like 1212)");
				break;
			}
		}
	size_t seq = longest_sequence(pin, len, &down);
	if (seq > r->max_sequence)
		reason(v, "has a run of %zu %s digits (at most %u)", seq,
		    down ? "descending" : "ascending", r->max_sequence);
	for (size_t i = 0; i < sizeof(trivial_pins) / sizeof(trivial_pins[0]); i++)
		if (strlen(trivial_pins[i]) == len && memcmp(trivial_pins[i], pin, len) == 0) {
			reason(v, "in the list of trivial PINs");
			v->first_guess = true;
			break;
		}
	return v->n == 0;
}

/* Uniform in [0, n): rejection sampling over one random byte. */
static unsigned
pick(unsigned n)
{
	unsigned char b;
	unsigned lim = 256 - 256 % n;
	do
		rand_bytes(&b, 1);
	while (b >= lim);
	return b % n;
}

bool
pwpolicy_generate(const struct pwpolicy *p, const struct pw_context *who, char *out,
    size_t outsz)
{
	/* No 0/O, 1/l/I: read aloud to a phone's owner, they stay unambiguous. */
	static const char alphabet[] =
	    "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.+";
	size_t len = p->pw.generated_length;
	struct pw_verdict v;

	if (len < p->pw.min_length)
		len = p->pw.min_length;
	if (len + 1 > outsz)
		return false;
	for (int tries = 0; tries < 100; tries++) {
		for (size_t i = 0; i < len; i++)
			out[i] = alphabet[pick(sizeof(alphabet) - 1)];
		out[len] = '\0';
		if (pwpolicy_check(p, out, len, who, &v))
			return true;
	}
	OPENSSL_cleanse(out, outsz);
	return false;
}

bool
pwpolicy_generate_pin(const struct pwpolicy *p, const char *mailbox, char *out, size_t outsz)
{
	size_t len = p->pin.min_length;
	struct pw_verdict v;

	if (len + 1 > outsz)
		return false;
	for (int tries = 0; tries < 100; tries++) {
		for (size_t i = 0; i < len; i++)
			out[i] = (char)('0' + pick(10));
		out[len] = '\0';
		if (pwpolicy_check_pin(p, out, len, mailbox, &v))
			return true;
	}
	OPENSSL_cleanse(out, outsz);
	return false;
}
