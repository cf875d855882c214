#include "base/json.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

static void *json_alloc(size_t n)
{
	return yg_malloc(n);
}

static void json_init_once(void)
{
	json_set_alloc_funcs(json_alloc, free);
}

void yg_json_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, json_init_once);
}

static void set_oom(json_error_t *err)
{
	if (err == NULL)
		return;
	memset(err, 0, sizeof(*err));
	err->line = err->column = -1;
	snprintf(err->text, sizeof(err->text), "out of memory");
	/* Where json_error_code() reads the code (jansson.h). */
	err->text[JSON_ERROR_TEXT_LENGTH - 1] = (char)json_error_out_of_memory;
}

void yg_json_err_clean(json_error_t *err)
{
	if (err == NULL)
		return;
	for (size_t i = 0; i < JSON_ERROR_TEXT_LENGTH - 1 && err->text[i] != '\0'; i++)
		if ((unsigned char)err->text[i] < 0x20 || err->text[i] == 0x7f)
			err->text[i] = '?';
}

json_t *yg_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err)
{
	unsigned long failed;
	json_t *j;

	yg_json_init();
	failed = yg_alloc_failed_here();
	j = json_loadb(buf, len, flags, err);
	if (yg_alloc_failed_here() != failed) {
		json_decref(j);
		set_oom(err);
		return NULL;
	}
	if (j == NULL)
		yg_json_err_clean(err);
	return j;
}

json_t *yg_json_loads(const char *s, size_t flags, json_error_t *err)
{
	return yg_json_loadb(s, strlen(s), flags, err);
}

char *yg_json_dumps(const json_t *j, size_t flags)
{
	unsigned long failed;
	char *s;

	yg_json_init();
	failed = yg_alloc_failed_here();
	s = json_dumps(j, flags);
	if (yg_alloc_failed_here() != failed) {
		free(s);
		return NULL;
	}
	return s;
}

int yg_json_oom(const json_error_t *err)
{
	return json_error_code(err) == json_error_out_of_memory;
}
