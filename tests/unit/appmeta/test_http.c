/* test_http.c - http_parse_request(): method, version and Host of
 * HTTP/1.x requests, bad request lines, and every truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "decode/appmeta.h"

static int parse(const char *s, struct http_meta *m)
{
	return http_parse_request((const uint8_t *)s, strlen(s), m);
}

static void test_simple(void **state)
{
	struct http_meta m;

	(void)state;
	assert_int_equal(parse("GET /index.html?q=secret HTTP/1.1\r\n"
			       "User-Agent: curl/8.0\r\n"
			       "Host: www.example.com\r\n"
			       "Accept: */*\r\n\r\n",
			       &m),
			 0);
	assert_string_equal(m.method, "GET");
	assert_int_equal(m.method_len, 3);
	assert_string_equal(m.version, "HTTP/1.1");
	assert_int_equal(m.version_len, 8);
	assert_string_equal(m.host, "www.example.com");
	assert_int_equal(m.host_len, 15);
}

/* Nothing of the target or other headers is copied into the struct. */
static void test_target_not_copied(void **state)
{
	struct http_meta m;
	const uint8_t *raw = (const uint8_t *)&m;

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_int_equal(parse("POST /SECRETPATH HTTP/1.0\r\nCookie: SECRETCOOKIE\r\n"
			       "Host: h\r\n\r\n",
			       &m),
			 0);
	assert_string_equal(m.method, "POST");
	assert_string_equal(m.version, "HTTP/1.0");
	assert_string_equal(m.host, "h");
	for (size_t i = 0; i + 6 <= sizeof(m); i++)
		assert_false(memcmp(raw + i, "SECRET", 6) == 0);
}

static void test_host_forms(void **state)
{
	static const struct {
		const char *req;
		const char *host;
	} cases[] = {
		{"GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", "example.com"},
		{"GET / HTTP/1.1\r\nhost: example.com\r\n\r\n", "example.com"},
		{"GET / HTTP/1.1\r\nHOST:example.com\r\n\r\n", "example.com"},
		{"GET / HTTP/1.1\r\nHost: \t example.com \t\r\n\r\n", "example.com"},
		{"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", "::1"},
		{"GET / HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n", "2001:db8::1"},
		{"GET / HTTP/1.1\r\nHost: 2001:db8::1\r\n\r\n", "2001:db8::1"}, /* bare: no port */
		{"GET / HTTP/1.1\r\nHost: 192.0.2.1:80\r\n\r\n", "192.0.2.1"},
		{"GET / HTTP/1.1\nHost: lf.example\n\n", "lf.example"},
		{"GET / HTTP/1.1\r\nX-Host: no\r\nHost: yes\r\n\r\n", "yes"},
		{"GET / HTTP/1.1\r\nHost: first\r\nHost: second\r\n\r\n", "first"},
		{"GET / HTTP/1.1\r\nHostname: x\r\n\r\n", ""},
		{"GET / HTTP/1.1\r\nHost : spaced\r\n\r\n", ""},
		{"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", ""},
		{"GET / HTTP/1.1\r\nHost: a\x01" "b\r\n\r\n", ""},
		{"GET / HTTP/1.1\r\nHost:\r\n\r\n", ""},
		{"GET / HTTP/1.1\r\nAccept: x\r\n\r\nHost: body\r\n", ""}, /* after the headers */
		{"GET / HTTP/1.1\r\nAccept: x\r\n", ""},                   /* no Host */
		{"GET / HTTP/1.1\r\nHost: cut.exam", ""},                  /* Host line cut */
		{"GET / HTTP/1.1\r\nHost: whole\r\nAcc", "whole"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_meta m;

		assert_int_equal(parse(cases[i].req, &m), 0);
		assert_string_equal(m.host, cases[i].host);
		assert_int_equal(m.host_len, strlen(cases[i].host));
	}
}

static void test_host_length(void **state)
{
	char req[600];
	struct http_meta m;
	size_t n;

	(void)state;
	n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: ");
	memset(req + n, 'a', META_NAME_MAX);
	memcpy(req + n + META_NAME_MAX, ":443\r\n\r\n", 9);
	assert_int_equal(parse(req, &m), 0);
	assert_int_equal(m.host_len, META_NAME_MAX);
	assert_int_equal(strlen(m.host), META_NAME_MAX);

	/* One more: left out, not cut. */
	memset(req + n, 'a', META_NAME_MAX + 1);
	memcpy(req + n + META_NAME_MAX + 1, "\r\n\r\n", 5);
	assert_int_equal(parse(req, &m), 0);
	assert_int_equal(m.host_len, 0);
	assert_string_equal(m.host, "");
}

static void test_methods(void **state)
{
	struct http_meta m;

	(void)state;
	assert_int_equal(parse("OPTIONS * HTTP/1.1\r\n\r\n", &m), 0);
	assert_string_equal(m.method, "OPTIONS");
	assert_int_equal(parse("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
			       &m),
			 0);
	assert_string_equal(m.method, "CONNECT");
	assert_string_equal(m.host, "example.com");
	assert_int_equal(parse("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n", &m), 0);
	assert_string_equal(m.method, "M-SEARCH");
	assert_string_equal(m.host, "239.255.255.250");
	assert_int_equal(parse("ABCDEFGHIJKLMNO / HTTP/1.1\r\n", &m), 0); /* 15 */
	assert_int_equal(m.method_len, 15);
	assert_string_equal(m.method, "ABCDEFGHIJKLMNO");
}

static void test_bad_request_line(void **state)
{
	static const char *const bad[] = {
		"",
		"get / HTTP/1.1\r\n",
		"ABCDEFGHIJKLMNOP / HTTP/1.1\r\n", /* 16-character method */
		"GET  / HTTP/1.1\r\n",
		"GET /  HTTP/1.1\r\n",
		"GET / HTTP/1.1 \r\n",
		"GET HTTP/1.1\r\n",
		"GET / HTTP/2.0\r\n",
		"GET / HTTP/1.2\r\n",
		"GET / http/1.1\r\n",
		"GET / HTTP/1.10\r\n",
		"GET /\r\n",
		"GET\r\n",
		"GET /a\tb HTTP/1.1\r\n",
		"GET / HTTP/1.1\rHost: x\r\n",
		"\r\nGET / HTTP/1.1\r\n",
		"HTTP/1.1 200 OK\r\n",
		"\x16\x03\x01\x02\x00\x01",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct http_meta m;

		assert_int_equal(parse(bad[i], &m), YG_EFORMAT);
		assert_int_equal(m.method_len, 0);
		assert_int_equal(m.version_len, 0);
		assert_int_equal(m.host_len, 0);
	}
}

/* Every prefix: EFORMAT until the version is whole, then 0 (even cut
 * between CR and LF); the Host only once its line is. */
static void test_every_length(void **state)
{
	static const char req[] = "PUT /x HTTP/1.1\r\nHost: [2001:db8::7]:8443\r\nContent-Length: 0\r\n\r\n";
	const size_t line_end = strlen("PUT /x HTTP/1.1");
	const size_t host_end = strlen("PUT /x HTTP/1.1\r\nHost: [2001:db8::7]:8443\r\n");

	(void)state;
	for (size_t n = 0; n < sizeof(req); n++) {
		struct http_meta m;
		int rc = http_parse_request((const uint8_t *)req, n, &m);

		if (n < line_end) {
			assert_int_equal(rc, YG_EFORMAT);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_string_equal(m.method, "PUT");
		assert_string_equal(m.version, "HTTP/1.1");
		assert_string_equal(m.host, n >= host_end ? "2001:db8::7" : "");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_target_not_copied),
		cmocka_unit_test(test_host_forms),
		cmocka_unit_test(test_host_length),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_bad_request_line),
		cmocka_unit_test(test_every_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
