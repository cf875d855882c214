/* report_int.h - private to report validation. report_fields.c holds the
 * tables of what each object of a report may hold; report.c walks a body
 * against them and collects the errors.
 *
 * What a report may hold is tables: each object of a report lists its
 * fields with a type and bounds, and the walk refuses any key that no table
 * names, at every depth, so that nothing a client sends is stored unread
 * (a 3 MB blob under "impact" once was). Every string has a maximum length
 * in characters and every array a maximum count. */
#ifndef YAGURA_TOWER_REPORT_INT_H
#define YAGURA_TOWER_REPORT_INT_H

#include <stddef.h>

#include "tower/report.h"

enum ftype {
	F_TEXT,	   /* a string of at most max characters */
	F_ENUM,	   /* one of the strings of list */
	F_TIME,	   /* an RFC 3339 time of detection */
	F_COUNT,   /* a whole number, 0 or more */
	F_ID,	   /* the id of a registered asset: 1 or more */
	F_BOOL,	   /* true or false */
	F_LIST,	   /* at most max strings of 1 to item characters, each accepted by check */
	F_OBJECT,  /* an object holding the fields of sub */
	F_OBJECTS, /* at most max objects, each holding the fields of sub */
};

#define F_LINE 0x1 /* one line: no control characters */

struct shape;

struct field {
	const char *name;
	enum ftype type;
	size_t max;  /* characters of an F_TEXT; items of an F_LIST or F_OBJECTS */
	size_t item; /* characters of each string of an F_LIST */
	int req;     /* required from stage req - 1 on; 0: optional */
	const char *unless; /* not required when the object has this field */
	unsigned flags;	    /* F_LINE */
	unsigned cats;	    /* for category_details: the categories (CAT_*) it describes */
	const char *const *list;	   /* F_ENUM */
	int (*check)(const char *);	   /* F_LIST */
	const char *what;		   /* F_LIST: what check wants, for the reason */
	const struct shape *sub;	   /* F_OBJECT, F_OBJECTS */
};

#define REQ(stage) ((stage) + 1)

enum shape_kind {
	SHAPE_REPORT,	/* the report itself */
	SHAPE_NESTED,	/* an object inside it */
	SHAPE_CATEGORY, /* category_details: fields by the report's category */
};

struct shape {
	enum shape_kind kind;
	const struct field *f; /* ends with a field without name */
};

/* The categories a report may name, ending in NULL; a report's category is
 * an index of it (and a bit of struct field's cats). */
extern const char *const report_categories[];

/* The report itself: the root of the tables. */
extern const struct shape report_shape;

#endif
