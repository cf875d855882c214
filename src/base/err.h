/* err.h - one error space for yagura: 0 is success, failures are negative. */
#ifndef YAGURA_BASE_ERR_H
#define YAGURA_BASE_ERR_H

#define YG_MUST_CHECK __attribute__((warn_unused_result))

enum yg_err {
	YG_OK = 0,
	YG_ENOMEM = -1,   /* an allocation failed */
	YG_EIO = -2,      /* a read or write failed; errno says why */
	YG_EFORMAT = -3,  /* input is not in the expected format */
	YG_ETRUNC = -4,   /* input ends in the middle of a record */
	YG_EINVAL = -5,   /* an argument or option value is invalid */
	YG_ELIMIT = -6,   /* a configured limit would be exceeded */
	YG_ENOTFOUND = -7, /* nothing matches */
	YG_ECONFLICT = -8  /* already exists: a unique constraint refused a write */
};

/* Returns a static, human-readable name for an yg_err code. Thread-safe. */
const char *yg_strerror(int err);

#endif
