/* placeholder: replaced by the CSV importer */
#include "qingdan/csvdoc.h"
#include "qingdan/err.h"
int qd_csv_to_listdoc(const char *buf, size_t len, const char *charset, const qd_listdoc *base, qd_listdoc **out, qd_problems *problems)
{ (void)buf; (void)len; (void)charset; (void)base; (void)out; (void)problems; return QD_EINVAL; }
