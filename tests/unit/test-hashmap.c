/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * core/hashmap (u64map). Oracle: a plain array searched linearly, driven
 * through a long random sequence of put/get/remove over a small key set (so
 * keys are removed and put back, tombstones pile up, the table grows and is
 * rehashed), plus keys near the reserved values.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/hashmap.h"
#include "tap.h"

#define NKEYS 3000

struct oracle {
	uint64_t key[NKEYS];
	uint32_t val[NKEYS];
	bool present[NKEYS];
	size_t n;
};

static uint64_t rng_state = 0x082efa98ec4e6c89ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* Linear search among the first n keys; -1 when absent. */
static int oracle_find(const struct oracle *o, int n, uint64_t key)
{
	for (int i = 0; i < n; i++)
		if (o->key[i] == key)
			return i;
	return -1;
}

static void test_random(void)
{
	static struct oracle o;
	struct u64map m;
	int bad_put = 0, bad_get = 0, bad_rm = 0, bad_n = 0, bad_final = 0;
	unsigned long ops[3] = { 0 };

	/* keys: small numbers, consecutive runs, multiples of 16 KiB (block numbers), random, extremes */
	for (int i = 0; i < NKEYS; i++) {
		uint64_t k;
		do {
			switch (i % 5) {
			case 0: k = (uint64_t)i; break;
			case 1: k = (uint64_t)i * 0x4000; break;
			case 2: k = rnd(); break;
			case 3: k = UINT64_MAX - 2 - (uint64_t)i; break;
			default: k = (rnd() & 0xffff0000ULL) | 1; break; /* odd: never a case-0/1 key */
			}
		} while (k >= UINT64_MAX - 1 || oracle_find(&o, i, k) >= 0);
		o.key[i] = k;
	}
	u64map_init(&m);
	for (long step = 0; step < 400000; step++) {
		/* phases: grow (mostly puts), churn, shrink (mostly removes), churn */
		unsigned phase = (unsigned)(step / 50000) % 4;
		unsigned p = (unsigned)(rnd() % 100);
		unsigned put_pct = phase == 0 ? 70 : phase == 2 ? 15 : 40;
		int i = (int)(rnd() % NKEYS);
		uint64_t k = o.key[i];
		uint32_t v = 0;

		if (p < put_pct) {
			uint32_t val = (uint32_t)rnd() % UINT32_MAX; /* any value but UINT32_MAX */
			ops[0]++;
			if (u64map_put(&m, k, val) < 0 && bad_put++ < 3)
				diag("put %llu failed", (unsigned long long)k);
			if (!o.present[i])
				o.n++;
			o.present[i] = true;
			o.val[i] = val;
		} else if (p < put_pct + 30) {
			ops[1]++;
			bool got = u64map_get(&m, k, &v);
			if ((got != o.present[i] || (got && v != o.val[i])) && bad_get++ < 3)
				diag("step %ld: get %llu: %d/%u, oracle %d/%u", step, (unsigned long long)k, got, v,
				     o.present[i], o.val[i]);
		} else {
			ops[2]++;
			bool got = u64map_remove(&m, k);
			if (got != o.present[i] && bad_rm++ < 3)
				diag("step %ld: remove %llu returned %d, oracle %d", step, (unsigned long long)k, got,
				     o.present[i]);
			if (o.present[i])
				o.n--;
			o.present[i] = false;
		}
		if (m.n != o.n && bad_n++ < 3)
			diag("step %ld: n %zu, oracle %zu", step, m.n, o.n);
	}
	diag("%lu puts, %lu gets, %lu removes; final size %zu, capacity %zu", ops[0], ops[1], ops[2], m.n, m.cap);
	is_int(bad_put, 0, "every put succeeded");
	is_int(bad_get, 0, "every get agrees with the oracle");
	is_int(bad_rm, 0, "every remove agrees with the oracle");
	is_int(bad_n, 0, "the count agrees with the oracle at every step");
	for (int i = 0; i < NKEYS; i++) {
		uint32_t v = 0;
		bool got = u64map_get(&m, o.key[i], &v);
		if ((got != o.present[i] || (got && v != o.val[i])) && bad_final++ < 3)
			diag("final get %llu: %d/%u, oracle %d/%u", (unsigned long long)o.key[i], got, v, o.present[i],
			     o.val[i]);
	}
	is_int(bad_final, 0, "every key agrees at the end");
	/* keys never inserted */
	ok(!u64map_get(&m, 0xdeadbeefcafeULL * 3, NULL), "a key never put is absent");
	ok(u64map_get(&m, o.key[0], NULL) == o.present[0], "get with a NULL value pointer");
	ok(m.used <= m.cap && m.n <= m.used, "n <= used <= cap");
	u64map_free(&m);
	ok(m.cap == 0 && m.n == 0 && m.keys == NULL, "free empties the map");
}

static void test_edges(void)
{
	struct u64map m;
	uint32_t v = 0;

	u64map_init(&m);
	ok(!u64map_get(&m, 1, &v), "empty: get");
	ok(!u64map_remove(&m, 1), "empty: remove");
	is_int(u64map_put(&m, UINT64_MAX, 1), -EINVAL, "UINT64_MAX is reserved: -EINVAL");
	ok(!u64map_get(&m, UINT64_MAX, &v), "UINT64_MAX is never present");
	is_int(u64map_put(&m, 0, UINT32_MAX), 0, "key 0 with value UINT32_MAX");
	ok(u64map_get(&m, 0, &v) && v == UINT32_MAX, "key 0 -> UINT32_MAX");
	is_int(u64map_put(&m, 0, 5), 0, "replace");
	ok(u64map_get(&m, 0, &v) && v == 5 && m.n == 1, "replaced, still one entry");
	ok(u64map_remove(&m, 0) && !u64map_get(&m, 0, &v) && m.n == 0, "removed");
	ok(!u64map_remove(&m, 0), "remove twice");
	is_int(u64map_put(&m, 0, 6), 0, "put back after remove");
	ok(u64map_get(&m, 0, &v) && v == 6 && m.n == 1, "back");

	/* the header reserves UINT64_MAX and UINT64_MAX - 1 */
	is_int(u64map_put(&m, UINT64_MAX - 1, 7), -EINVAL, "UINT64_MAX - 1 is reserved");
	ok(!u64map_get(&m, UINT64_MAX - 1, &v), "UINT64_MAX - 1 is never found");
	is_int(u64map_put(&m, UINT64_MAX - 2, 8), 0, "UINT64_MAX - 2 is a valid key");
	ok(u64map_get(&m, UINT64_MAX - 2, &v) && v == 8, "UINT64_MAX - 2 -> 8");
	u64map_free(&m);

	/* many removals and re-insertions of one key: tombstones must not fill the table */
	u64map_init(&m);
	for (uint64_t k = 0; k < 200000; k++) {
		u64map_put(&m, k, (uint32_t)k);
		u64map_remove(&m, k);
	}
	ok(m.n == 0 && m.cap <= 64, "200000 put/remove pairs: empty, capacity stays small (%zu)", m.cap);
	u64map_free(&m);
}

int main(void)
{
	test_edges();
	test_random();
	return tap_done();
}
