/* hex.h - one hexadecimal digit's value. */
#ifndef YAGURA_BASE_HEX_H
#define YAGURA_BASE_HEX_H

/* 0..15 for [0-9a-fA-F], -1 otherwise. */
static inline int yg_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
