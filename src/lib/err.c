#include "qingdan/err.h"

const char *qd_strerror(int err)
{
	switch (err) {
	case QD_OK: return "success";
	case QD_EINVAL: return "invalid input";
	case QD_ENOENT: return "not found";
	case QD_ENOSPC: return "storage full";
	case QD_ENOMEM: return "out of memory";
	case QD_EIO: return "storage or system error";
	case QD_ECONFLICT: return "precondition failed";
	case QD_ESYNTAX: return "not valid JSON";
	case QD_EGONE: return "version no longer retained";
	default: return "unknown error";
	}
}
