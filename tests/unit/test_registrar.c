#include "testutil.h"

#include "sip/registrar.h"

static struct config cfg;

static struct reg_request
req(const char *callid, uint32_t cseq, const char *contact, unsigned expires)
{
	struct reg_request r = { .callid = S(callid), .cseq = cseq };
	if (contact) {
		r.contacts[0] = (struct reg_contact){ S(contact), expires, SLICE_NULL };
		r.ncontacts = 1;
	}
	return r;
}

static void
test_bindings(void **state)
{
	size_t n;
	(void)state;
	config_defaults(&cfg);
	cfg.max_contacts_by_aor = 2;
	struct registrar *r = registrar_new(&cfg);
	struct reg_request rq = req("c1", 1, "sip:a@1.1.1.1", 60);

	assert_int_equal(registrar_update(r, S("a@x"), &rq, 100), REG_OK);
	const struct reg_binding *b = registrar_lookup(r, S("a@x"), 100, &n);
	assert_int_equal(n, 1);
	assert_string_equal(b[0].contact, "sip:a@1.1.1.1");
	assert_int_equal(b[0].expires_at, 160);

	rq = req("c1", 2, "sip:a@1.1.1.1", 120); /* refresh */
	assert_int_equal(registrar_update(r, S("a@x"), &rq, 110), REG_OK);
	b = registrar_lookup(r, S("a@x"), 110, &n);
	assert_int_equal(n, 1);
	assert_int_equal(b[0].expires_at, 230);

	rq = req("c1", 1, "sip:a@1.1.1.1", 0); /* older CSeq: refused */
	assert_int_equal(registrar_update(r, S("a@x"), &rq, 110), REG_OUT_OF_ORDER);
	rq = req("c2", 1, "sip:a@2.2.2.2", 60);
	assert_int_equal(registrar_update(r, S("a@x"), &rq, 110), REG_OK);
	rq = req("c3", 1, "sip:a@3.3.3.3", 500); /* over the cap: soonest expiry goes */
	assert_int_equal(registrar_update(r, S("a@x"), &rq, 110), REG_OK);
	b = registrar_lookup(r, S("a@x"), 110, &n);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(b[i].contact, "sip:a@2.2.2.2");

	/* Expiry. */
	b = registrar_lookup(r, S("a@x"), 300, &n);
	assert_int_equal(n, 1);
	assert_string_equal(b[0].contact, "sip:a@3.3.3.3");

	/* Removal by expires=0, and Contact: *. */
	rq = req("c3", 2, "sip:a@3.3.3.3", 0);
	assert_int_equal(registrar_update(r, S("a@x"), &rq, 300), REG_OK);
	assert_null(registrar_lookup(r, S("a@x"), 300, &n));
	assert_int_equal(registrar_count(r), 0);
	rq = req("c4", 1, "sip:a@4.4.4.4", 60);
	registrar_update(r, S("a@x"), &rq, 300);
	rq = req("c4", 2, NULL, 0);
	rq.star = true;
	assert_int_equal(registrar_update(r, S("a@x"), &rq, 300), REG_OK);
	assert_null(registrar_lookup(r, S("a@x"), 300, &n));

	for (int i = 0; i < 3000; i++) {
		char aor[32];
		snprintf(aor, sizeof(aor), "u%d@x", i);
		rq = req("c", 1, "sip:u@1.1.1.1", 10 + (unsigned)(i % 2) * 100);
		registrar_update(r, S(aor), &rq, 0);
	}
	assert_int_equal(registrar_count(r), 3000);
	assert_int_equal(registrar_sweep(r, 50), 1500);
	registrar_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bindings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
