/* notice.c - abuse notices for the hosting provider of a notice case: a
 * plain-text mail and X-ARF-like JSON carrying the same facts. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "counter/counter_int.h"

static const char *office_of(const struct cm_config *cfg)
{
	return cfg && cfg->office && cfg->office[0] ? cfg->office : "yagura";
}

static int check(const struct cm_case *c, const struct cm_config *cfg, struct cm_target *t)
{
	if (c->action != CM_NOTICE || cm_case_check(c, cfg, NULL, 0) < 0 ||
	    (cfg && cm_config_check(cfg, NULL, 0) < 0) || cm_target_parse(c->target, t) < 0)
		return YG_EINVAL;
	return 0;
}

static void put_target(struct jbuf *b, const struct cm_target *t)
{
	char pfx[CM_PREFIX_STRLEN];

	if (t->kind == CM_TARGET_DOMAIN) {
		jbuf_puts(b, t->name);
		return;
	}
	cm_prefix_fmt(t, 0, pfx);
	jbuf_puts(b, pfx);
}

/* Free text indented by two spaces, so that no line of it can pass for
 * a header or a field of the notice. */
static void put_indented(struct jbuf *b, const char *s)
{
	jbuf_lit(b, "  ");
	for (; *s; s++) {
		jbuf_putc(b, *s);
		if (*s == '\n' && s[1] != '\0')
			jbuf_lit(b, "  ");
	}
	if (b->len > 0 && b->buf[b->len - 1] != '\n')
		jbuf_putc(b, '\n');
}

int cm_notice_text(const struct cm_case *c, const struct cm_config *cfg, struct jbuf *out)
{
	struct cm_target t;
	size_t mark = out->len;

	if (check(c, cfg, &t) < 0)
		return YG_EINVAL;
	jbuf_lit(out, "To: ");
	jbuf_puts(out, c->contact);
	jbuf_lit(out, "\nFrom: ");
	jbuf_puts(out, office_of(cfg));
	jbuf_lit(out, "\nSubject: [case ");
	jbuf_u64(out, (uint64_t)c->id);
	jbuf_lit(out, "] Abuse notice for ");
	put_target(out, &t);
	jbuf_lit(out, "\nContent-Type: text/plain; charset=utf-8\n\n"
	              "Dear abuse team,\n\n");
	jbuf_puts(out, office_of(cfg));
	jbuf_lit(out, " reports abuse from a host or domain that your network\n"
	              "serves, and asks you to stop it.\n\n  Target:      ");
	put_target(out, &t);
	jbuf_lit(out, "\n  Case:        ");
	jbuf_u64(out, (uint64_t)c->id);
	jbuf_lit(out, "\n  Approved:    ");
	cm_put_time(out, c->approved);
	jbuf_lit(out, "\n  Valid until: ");
	cm_put_time(out, c->expires);
	jbuf_lit(out, "\n\nWhy:\n");
	put_indented(out, c->justification && c->justification[0] ? c->justification : "-");
	jbuf_lit(out, "\nEvidence:\n");
	if (c->nevidence == 0)
		jbuf_lit(out, "  -\n");
	for (size_t i = 0; i < c->nevidence; i++) {
		jbuf_lit(out, "  - ");
		jbuf_puts(out, c->evidence[i]);
		jbuf_putc(out, '\n');
	}
	jbuf_lit(out, "\nThis notice follows an order approved by an independent oversight\n"
	              "committee. Please reply to this address with what you did.\n");
	if (out->err) {
		out->len = mark;
		return out->err;
	}
	return 0;
}

static int set_str(json_t *o, const char *key, const char *v)
{
	json_t *s = json_string(v);

	return s == NULL ? -1 : json_object_set_new(o, key, s);
}

static int set_time(json_t *o, const char *key, int64_t us)
{
	struct jbuf b;
	int rc;

	if (jbuf_init(&b, 32, 64) < 0)
		return -1;
	cm_put_time(&b, us);
	jbuf_putc(&b, '\0');
	rc = b.err ? -1 : set_str(o, key, b.buf);
	jbuf_fini(&b);
	return rc;
}

int cm_notice_json(const struct cm_case *c, const struct cm_config *cfg, struct jbuf *out)
{
	struct cm_target t;
	char pfx[CM_PREFIX_STRLEN];
	json_t *o = NULL, *ev = NULL;
	char *text = NULL;
	int rc = YG_ENOMEM;

	if (check(c, cfg, &t) < 0)
		return YG_EINVAL;
	if (t.kind == CM_TARGET_PREFIX)
		cm_prefix_fmt(&t, 0, pfx);
	o = json_object();
	ev = json_array();
	if (o == NULL || ev == NULL)
		goto out;
	for (size_t i = 0; i < c->nevidence; i++)
		if (json_array_append_new(ev, json_string(c->evidence[i])) < 0)
			goto out;
	/* X-ARF 0.2 field names where one fits, in JSON. */
	if (set_str(o, "Version", "0.2") < 0 || set_str(o, "Category", "abuse") < 0 ||
	    set_str(o, "Report-Type", "countermeasure-notice") < 0 ||
	    set_str(o, "User-Agent", "yagura") < 0 ||
	    set_str(o, "Reported-From", office_of(cfg)) < 0 ||
	    set_str(o, "Recipient", c->contact) < 0 || set_time(o, "Date", c->approved) < 0 ||
	    set_time(o, "Valid-Until", c->expires) < 0 ||
	    set_str(o, "Source", t.kind == CM_TARGET_DOMAIN ? t.name : pfx) < 0 ||
	    set_str(o, "Source-Type",
	            t.kind == CM_TARGET_DOMAIN ? "domain"
	            : t.addr.family == 4       ? "ipv4"
	                                       : "ipv6") < 0 ||
	    json_object_set_new(o, "Case", json_integer(c->id)) < 0 ||
	    set_str(o, "Justification", c->justification ? c->justification : "") < 0 ||
	    json_object_set(o, "Evidence", ev) < 0)
		goto out;
	text = yg_json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text == NULL)
		goto out;
	jbuf_puts(out, text);
	jbuf_putc(out, '\n');
	rc = out->err;
out:
	free(text);
	json_decref(ev);
	json_decref(o);
	return rc;
}
