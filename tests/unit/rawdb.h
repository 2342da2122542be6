/* qingdan tests — LMDB access to a closed store, for the tests that damage
 * one on purpose (verify) or make one look older (migrations).  Never while
 * a qd_store has the directory open: LMDB forbids opening one environment
 * twice in a process. */
#ifndef QD_TEST_RAWDB_H
#define QD_TEST_RAWDB_H

#include <lmdb.h>

typedef struct raw {
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
} raw;

/* Open the store in dir and database db in a write transaction; fails the
 * test unless both open. */
raw raw_open(const char *dir, const char *db);

/* Commit the transaction and close the environment; fails the test unless
 * the commit succeeds. */
void raw_commit(raw *r);

#endif
