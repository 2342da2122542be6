/* Unit tests: arenas for jansson trees (src/lib/jarena.c).
 *
 * What the document loader relies on: while a thread has entered an
 * arena, every jansson allocation of that thread comes from it (and only
 * that thread's); enter/leave nest; blocks from outside an arena stay
 * malloc() blocks that free() releases; a tree built in an arena is sound
 * and needs no decref; qd_jarena_free() releases everything at once and a
 * stale pointer then faults; arenas can be made and freed again and
 * again, and large blocks work. */
#include <check.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qingdan/jarena.h"

/* A new arena; the library reserves its range before main(), so one must
 * be available here. */
static qd_jarena *arena(void)
{
	qd_jarena *a = qd_jarena_new();
	ck_assert_msg(a != NULL, "no arena (address range not reserved?)");
	return a;
}

/* A small tree: {"k<i>": [i, "s<i>", 1.5, true, null], ...}. */
static json_t *tree(int n)
{
	json_t *o = json_object();
	ck_assert_ptr_nonnull(o);
	for (int i = 0; i < n; i++) {
		char key[32], str[32];
		snprintf(key, sizeof key, "k%d", i);
		snprintf(str, sizeof str, "s%d", i);
		json_t *a = json_pack("[i, s, f, b, n]", i, str, 1.5, 1);
		ck_assert_ptr_nonnull(a);
		ck_assert_int_eq(json_object_set_new(o, key, a), 0);
	}
	return o;
}

/* The tree's contents are what tree(n) put there. */
static void check_tree(json_t *o, int n)
{
	ck_assert_uint_eq(json_object_size(o), (size_t)n);
	for (int i = 0; i < n; i += 1 + n / 50) {
		char key[32], str[32];
		snprintf(key, sizeof key, "k%d", i);
		snprintf(str, sizeof str, "s%d", i);
		json_t *a = json_object_get(o, key);
		ck_assert_ptr_nonnull(a);
		ck_assert_int_eq(json_integer_value(json_array_get(a, 0)), i);
		ck_assert_str_eq(json_string_value(json_array_get(a, 1)), str);
		ck_assert(json_real_value(json_array_get(a, 2)) == 1.5);
		ck_assert(json_is_true(json_array_get(a, 3)));
		ck_assert(json_is_null(json_array_get(a, 4)));
	}
}

START_TEST(enter_leave_nest)
{
	qd_jarena *a = arena(), *b = arena();
	ck_assert_ptr_ne(a, b);
	/* No arena at first; enter returns the previous one. */
	ck_assert_ptr_null(qd_jarena_enter(a));
	qd_jarena *prev = qd_jarena_enter(b);
	ck_assert_ptr_eq(prev, a);
	json_t *in_b = json_string("b");
	qd_jarena_leave(prev);
	json_t *in_a = json_string("a");
	/* Entering NULL means plain malloc() until left. */
	qd_jarena *p2 = qd_jarena_enter(NULL);
	ck_assert_ptr_eq(p2, a);
	json_t *plain = json_string("plain");
	qd_jarena_leave(p2);
	qd_jarena_leave(NULL);
	json_t *after = json_string("after");

	ck_assert(qd_jarena_owns(b, in_b));
	ck_assert(!qd_jarena_owns(a, in_b));
	ck_assert(qd_jarena_owns(a, in_a));
	ck_assert(!qd_jarena_owns(b, in_a));
	ck_assert(!qd_jarena_owns(a, plain));
	ck_assert(!qd_jarena_owns(b, plain));
	ck_assert(!qd_jarena_owns(a, after));
	ck_assert(!qd_jarena_owns(b, after));
	/* The current arena is back to none. */
	ck_assert_ptr_null(qd_jarena_enter(NULL));
	qd_jarena_leave(NULL);

	json_decref(plain);
	json_decref(after);
	qd_jarena_free(b);
	qd_jarena_free(a);
}
END_TEST

START_TEST(owns_edge_cases)
{
	qd_jarena *a = arena();
	int on_stack = 0;
	void *heap = malloc(16);
	ck_assert(!qd_jarena_owns(a, NULL));
	ck_assert(!qd_jarena_owns(a, &on_stack));
	ck_assert(!qd_jarena_owns(a, heap));
	ck_assert(!qd_jarena_owns(NULL, heap));
	qd_jarena *prev = qd_jarena_enter(a);
	json_t *s = json_string("x");
	qd_jarena_leave(prev);
	ck_assert(qd_jarena_owns(a, s));
	ck_assert(!qd_jarena_owns(NULL, s));
	free(heap);
	qd_jarena_free(a);
	/* NULL is ignored. */
	qd_jarena_free(NULL);
}
END_TEST

START_TEST(tree_in_arena_is_sound)
{
	qd_jarena *a = arena();
	qd_jarena *prev = qd_jarena_enter(a);
	/* Enough blocks to need several runs of chunks. */
	json_t *o = tree(60000);
	json_t *copy = json_deep_copy(o);
	qd_jarena_leave(prev);
	ck_assert(qd_jarena_owns(a, o));
	ck_assert(qd_jarena_owns(a, copy));
	ck_assert(qd_jarena_owns(a, json_object_get(o, "k59999")));
	ck_assert(qd_jarena_owns(a, json_string_value(json_array_get(json_object_get(o, "k12345"), 1))));
	check_tree(o, 60000);
	check_tree(copy, 60000);
	ck_assert(json_equal(o, copy));
	/* A decref inside or outside the arena is harmless. */
	json_decref(copy);
	check_tree(o, 60000);
	/* A dump made outside the arena is a malloc() block for free(). */
	json_t *small = json_object_get(o, "k7");
	char *d = json_dumps(small, JSON_COMPACT);
	ck_assert_ptr_nonnull(d);
	ck_assert(!qd_jarena_owns(a, d));
	ck_assert_str_eq(d, "[7,\"s7\",1.5,true,null]");
	free(d);
	qd_jarena_free(a);
}
END_TEST

START_TEST(large_blocks)
{
	qd_jarena *a = arena();
	size_t sizes[] = {600 << 10, 3 << 20, 40 << 20};
	json_t *s[3];
	char *text = malloc(sizes[2] + 1);
	ck_assert_ptr_nonnull(text);
	memset(text, 'q', sizes[2]);
	qd_jarena *prev = qd_jarena_enter(a);
	json_t *before = json_integer(1);
	for (int i = 0; i < 3; i++) {
		text[sizes[i]] = '\0';
		s[i] = json_string_nocheck(text);
		ck_assert_ptr_nonnull(s[i]);
		text[sizes[i]] = 'q';
	}
	json_t *after = json_integer(2);
	qd_jarena_leave(prev);
	for (int i = 0; i < 3; i++) {
		ck_assert(qd_jarena_owns(a, s[i]));
		const char *v = json_string_value(s[i]);
		ck_assert(qd_jarena_owns(a, v));
		ck_assert_uint_eq(json_string_length(s[i]), sizes[i]);
		ck_assert_int_eq(v[0], 'q');
		ck_assert_int_eq(v[sizes[i] - 1], 'q');
		ck_assert_int_eq(v[sizes[i]], '\0');
	}
	/* Small blocks on either side of the large ones are intact. */
	ck_assert(qd_jarena_owns(a, before));
	ck_assert(qd_jarena_owns(a, after));
	ck_assert_int_eq(json_integer_value(before), 1);
	ck_assert_int_eq(json_integer_value(after), 2);
	free(text);
	qd_jarena_free(a);
}
END_TEST

/* A reset arena is empty and takes blocks again from the start of the
 * run it kept; its large blocks' runs are given back. */
START_TEST(reset_reuses_memory)
{
	qd_jarena *a = arena();
	char *text = malloc((3 << 20) + 1);
	ck_assert_ptr_nonnull(text);
	memset(text, 'r', 3 << 20);
	text[3 << 20] = '\0';
	qd_jarena *prev = qd_jarena_enter(a);
	json_t *first = json_integer(7);
	json_t *t = tree(2000);
	json_t *big = json_string_nocheck(text);
	qd_jarena_leave(prev);
	ck_assert(qd_jarena_owns(a, t));
	ck_assert(qd_jarena_owns(a, json_string_value(big)));
	const char *big_text = json_string_value(big);
	for (int round = 0; round < 3; round++) {
		qd_jarena_reset(a);
		ck_assert(!qd_jarena_owns(a, big_text));
		prev = qd_jarena_enter(a);
		json_t *again = json_integer(round);
		json_t *t2 = tree(2000);
		qd_jarena_leave(prev);
		ck_assert_ptr_eq(again, first);
		ck_assert(qd_jarena_owns(a, t2));
		check_tree(t2, 2000);
		ck_assert_int_eq(json_integer_value(again), round);
	}
	qd_jarena_reset(NULL);
	free(text);
	qd_jarena_free(a);
}
END_TEST

START_TEST(hooks_align_and_tell_blocks_apart)
{
	json_malloc_t m;
	json_free_t f;
	json_get_alloc_funcs(&m, &f);
	qd_jarena *a = arena();
	qd_jarena *prev = qd_jarena_enter(a);
	void *blocks[64];
	for (size_t i = 0; i < 64; i++) {
		blocks[i] = m(i);
		ck_assert_ptr_nonnull(blocks[i]);
		ck_assert(qd_jarena_owns(a, blocks[i]));
		/* jansson stores pointers, sizes, long long and double. */
		ck_assert_uint_eq((uintptr_t)blocks[i] % 8, 0);
		memset(blocks[i], (int)i, i);
	}
	/* Freeing an arena block does nothing: it stays readable. */
	f(blocks[40]);
	qd_jarena_leave(prev);
	for (size_t i = 1; i < 64; i++) {
		ck_assert_ptr_ne(blocks[i], blocks[i - 1]);
		for (size_t k = 0; k < i; k++)
			ck_assert_int_eq(((unsigned char *)blocks[i])[k], i);
	}
	/* Outside any arena the hook hands out malloc() blocks that both
	 * free() and the hook's free release. */
	void *p = m(100), *q = m(100);
	ck_assert(!qd_jarena_owns(a, p));
	free(p);
	f(q);
	f(NULL);
	qd_jarena_free(a);
}
END_TEST

struct other {
	qd_jarena *a;
	json_t *j;
	char *dump;
	bool owned;
};

static void *other_thread(void *arg)
{
	struct other *o = arg;
	o->j = json_pack("{s:i}", "x", 1);
	o->owned = qd_jarena_owns(o->a, o->j);
	o->dump = json_dumps(o->j, JSON_COMPACT);
	json_decref(o->j);
	return NULL;
}

START_TEST(arena_is_per_thread)
{
	qd_jarena *a = arena();
	qd_jarena *prev = qd_jarena_enter(a);
	struct other o = {.a = a};
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, other_thread, &o), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	json_t *str = json_string("mine");
	qd_jarena_leave(prev);
	/* The other thread never entered an arena: plain malloc(). */
	ck_assert(!o.owned);
	ck_assert_str_eq(o.dump, "{\"x\":1}");
	free(o.dump);
	ck_assert(qd_jarena_owns(a, str));
	qd_jarena_free(a);
}
END_TEST

START_TEST(many_arenas_reuse)
{
	/* Arenas made and freed one after another: each works, and the
	 * memory a freed one gave back is what the next one gets, so a
	 * process that loads documents for ever does not run out of range. */
	char *text = malloc((1 << 20) + 1);
	ck_assert_ptr_nonnull(text);
	memset(text, 'b', 1 << 20);
	text[1 << 20] = '\0';
	const void *first = NULL;
	for (int round = 0; round < 100; round++) {
		qd_jarena *a = arena();
		qd_jarena *prev = qd_jarena_enter(a);
		json_t *o = tree(2000);
		json_t *s = json_string_nocheck(text);
		qd_jarena_leave(prev);
		ck_assert_ptr_nonnull(s);
		ck_assert(qd_jarena_owns(a, s));
		ck_assert(qd_jarena_owns(a, o));
		ck_assert_uint_eq(json_string_length(s), 1 << 20);
		check_tree(o, 2000);
		if (round == 0)
			first = o;
		else
			ck_assert_ptr_eq(o, first);
		qd_jarena_free(a);
	}
	free(text);

	/* Several at once stay apart. */
	qd_jarena *as[8];
	json_t *js[8];
	for (int i = 0; i < 8; i++) {
		as[i] = arena();
		qd_jarena *prev = qd_jarena_enter(as[i]);
		js[i] = tree(500 + i);
		qd_jarena_leave(prev);
	}
	for (int i = 0; i < 8; i++) {
		for (int k = 0; k < 8; k++)
			ck_assert(qd_jarena_owns(as[k], js[i]) == (i == k));
		check_tree(js[i], 500 + i);
	}
	for (int i = 0; i < 8; i += 2)
		qd_jarena_free(as[i]);
	for (int i = 1; i < 8; i += 2)
		check_tree(js[i], 500 + i);
	for (int i = 1; i < 8; i += 2)
		qd_jarena_free(as[i]);
}
END_TEST

static sigjmp_buf fault_jmp;

static void on_fault(int sig)
{
	(void)sig;
	siglongjmp(fault_jmp, 1);
}

START_TEST(stale_pointer_faults)
{
	qd_jarena *a = arena();
	qd_jarena *prev = qd_jarena_enter(a);
	json_t *s = json_string("released with its arena");
	qd_jarena_leave(prev);
	const volatile char *v = json_string_value(s);
	ck_assert_int_eq(v[0], 'r');
	qd_jarena_free(a);

	/* Our handler in place of any other (a sanitizer's reports the fault
	 * as an error), so that the fault is observed and the test goes on. */
	struct sigaction sa, old_segv, old_bus;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fault;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGSEGV, &sa, &old_segv), 0);
	ck_assert_int_eq(sigaction(SIGBUS, &sa, &old_bus), 0);
	volatile int faulted = 0;
	volatile char got = 0;
	if (sigsetjmp(fault_jmp, 1) == 0)
		got = v[0];
	else
		faulted = 1;
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	ck_assert_msg(faulted, "a pointer into a freed arena was readable (read %d)", got);
}
END_TEST

static Suite *jarena_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("jarena");

	tcase_add_test(tc, enter_leave_nest);
	tcase_add_test(tc, owns_edge_cases);
	tcase_add_test(tc, tree_in_arena_is_sound);
	tcase_add_test(tc, large_blocks);
	tcase_add_test(tc, reset_reuses_memory);
	tcase_add_test(tc, hooks_align_and_tell_blocks_apart);
	tcase_add_test(tc, arena_is_per_thread);
	tcase_add_test(tc, many_arenas_reuse);
	tcase_add_test(tc, stale_pointer_faults);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jarena_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
