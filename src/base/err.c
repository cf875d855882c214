#include "base/err.h"

const char *yg_strerror(int err)
{
	switch (err) {
	case YG_OK:
		return "success";
	case YG_ENOMEM:
		return "out of memory";
	case YG_EIO:
		return "input/output error";
	case YG_EFORMAT:
		return "invalid format";
	case YG_ETRUNC:
		return "truncated";
	case YG_EINVAL:
		return "invalid argument";
	case YG_ELIMIT:
		return "limit exceeded";
	case YG_ENOTFOUND:
		return "not found";
	case YG_ECONFLICT:
		return "already exists";
	}
	return "unknown error";
}
