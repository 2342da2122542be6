/* qingdan tests — LMDB access to a closed store (see rawdb.h). */
#include <check.h>

#include "rawdb.h"

raw raw_open(const char *dir, const char *db)
{
	raw r;
	ck_assert_int_eq(mdb_env_create(&r.env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(r.env, 16), 0);
	int rc = mdb_env_open(r.env, dir, 0, 0640);
	ck_assert_msg(rc == 0, "mdb_env_open: %s", mdb_strerror(rc));
	ck_assert_int_eq(mdb_txn_begin(r.env, NULL, 0, &r.txn), 0);
	rc = mdb_dbi_open(r.txn, db, 0, &r.dbi);
	ck_assert_msg(rc == 0, "mdb_dbi_open(%s): %s", db, mdb_strerror(rc));
	return r;
}

void raw_commit(raw *r)
{
	ck_assert_int_eq(mdb_txn_commit(r->txn), 0);
	mdb_env_close(r->env);
}
