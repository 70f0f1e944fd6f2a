/*
 * The IAX2 key directory, as Asterisk's res_crypto reads it: NAME.pub (an
 * SPKI public key) and NAME.key (a private key, PKCS#8 or the older
 * PKCS#1 PEM, optionally passphrase-protected), looked up by NAME. A
 * private key readable or writable by others is refused, as res_crypto
 * does. A protected key stays "needs passcode" until a passphrase is given
 * (`pbxguard keys init`, `serve -i`). Signatures are RSASSA-PKCS1-v1_5 with
 * SHA-1 over the challenge, base64 on the wire: what chan_iax2 sends.
 */
#ifndef PBX_KEYS_H
#define PBX_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "core/slice.h"

#define KEY_NAME_MAX 80
/* Asterisk's res_crypto signs and verifies with 1024-bit keys only. */
#define KEY_ASTERISK_BITS 1024

struct iax_key {
	char name[KEY_NAME_MAX];
	bool is_private;
	bool needs_passcode;		/* encrypted and not yet unlocked */
	EVP_PKEY *pkey;			/* NULL while it needs a passcode */
	int bits;
	char md5[33];			/* MD5 of the file, as `keys show` prints */
	char path[4096];
};

struct keyring {
	struct iax_key *k;
	size_t n;
	char **warn;			/* keys refused or odd, file: why */
	size_t nwarn;
};

/* A missing directory is an empty ring. NULL only when out of memory or
 * the directory cannot be read (err says why). */
struct keyring *keyring_load(const char *dir, char *err, size_t errsz);
void keyring_free(struct keyring *r);
const struct iax_key *keyring_find(const struct keyring *r, struct slice name, bool is_private);
/* Unlock a protected private key; false (err) on a wrong passphrase. */
bool keyring_unlock(struct keyring *r, const char *name, const char *pass, char *err,
    size_t errsz);
/* How many keys still need a passcode. */
size_t keyring_locked(const struct keyring *r);

/* Verify sig_b64 over challenge with the public key NAME. */
bool key_verify(const struct iax_key *k, struct slice challenge, struct slice sig_b64);
/* Sign challenge with a private key; the base64 signature into out. */
bool key_sign(const struct iax_key *k, struct slice challenge, char *out, size_t outsz);

/* Asterisk's `keys show` table. */
void keyring_show(const struct keyring *r, void (*put)(void *arg, const char *line), void *arg);

#endif
