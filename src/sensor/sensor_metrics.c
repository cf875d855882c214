/* sensor_metrics.c - a sensor's counters for Prometheus (--metrics
 * ADDR:PORT): GET /metrics on a small HTTP server of its own (src/http,
 * which also answers /healthz). The run loop hands over its counters now
 * and then (sensor_metrics_update); the counters are moved by the
 * difference, so that they only ever grow as Prometheus expects. */
#include "sensor/sensor_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "http/http.h"

enum {
	M_PACKETS,
	M_BYTES,
	M_UNAUTHORIZED,
	M_MALFORMED,
	M_FLOWS,
	M_EVICTED,
	M_ALERTS,
	M_RECEIVED,
	M_DROPPED,
	M_IF_DROPPED,
	M_COUNTERS
};

static const struct {
	const char *name, *help;
} counters[M_COUNTERS] = {
	{"yagura_sensor_packets_total", "Packets read"},
	{"yagura_sensor_bytes_total", "Bytes of the packets read, as on the wire"},
	{"yagura_sensor_packets_unauthorized_total",
	 "Packets outside every monitoring authorization, dropped after their IP header"},
	{"yagura_sensor_packets_malformed_total", "Packets that could not be decoded"},
	{"yagura_sensor_flows_total", "Flows made"},
	{"yagura_sensor_flows_evicted_total", "Flows ended early because the flow table was full"},
	{"yagura_sensor_alerts_total", "Alerts raised"},
	{"yagura_capture_received_total", "Frames the kernel passed to the sensor"},
	{"yagura_capture_dropped_total", "Frames the kernel dropped: the ring was full"},
	{"yagura_capture_interface_dropped_total", "Frames the interface or its driver dropped"},
};

/* One worker's series. */
struct worker_metrics {
	struct http_metric *packets, *flows, *dropped, *ring_used;
	uint64_t last[3];
};

struct sensor_metrics {
	struct http_server *srv;
	struct worker_metrics *w;
	int nw;
	struct http_metric *c[M_COUNTERS];
	uint64_t last[M_COUNTERS];
	struct http_metric *flows_active, *ring_blocks, *ring_used;
};

int sensor_metrics_start(const char *listen, struct sensor_metrics **out, char *err, size_t n)
{
	struct sensor_metrics *m = yg_calloc(1, sizeof(*m));
	struct http_config hc;
	struct http_metrics *reg;

	*out = NULL;
	if (m == NULL) {
		snprintf(err, n, "out of memory");
		return YG_ENOMEM;
	}
	memset(&hc, 0, sizeof(hc));
	hc.listen = listen;
	hc.threads = 1;
	hc.max_connections = 64;
	if (http_server_new(&hc, &m->srv) < 0) {
		snprintf(err, n, "'%s' is not an address and port to listen on", listen);
		free(m);
		return YG_EINVAL;
	}
	reg = http_server_metrics(m->srv);
	for (int i = 0; i < M_COUNTERS; i++)
		m->c[i] = http_metrics_counter(reg, counters[i].name, NULL, counters[i].help);
	m->flows_active = http_metrics_gauge(reg, "yagura_sensor_flows_active", NULL, "Flows live now");
	m->ring_blocks = http_metrics_gauge(reg, "yagura_capture_ring_blocks", NULL,
					    "Blocks of the AF_PACKET ring");
	m->ring_used = http_metrics_gauge(reg, "yagura_capture_ring_used", NULL,
					  "Blocks of the ring filled and not yet read");
	if (http_server_start(m->srv) < 0) {
		snprintf(err, n, "cannot listen on %s", listen);
		sensor_metrics_free(m);
		return YG_EIO;
	}
	*out = m;
	return 0;
}

void sensor_metrics_update(struct sensor_metrics *m, const struct pipeline_totals *t,
			   const struct capture_stats *cs)
{
	const struct pipeline_stats *s = &t->s;
	const struct flow_stats *fs = &t->f;
	uint64_t now[M_COUNTERS] = {0}, bad = 0;

	if (m == NULL)
		return;
	for (int i = 0; i < DC_MAX; i++)
		if (decode_counter_is_error(i))
			bad += s->decode[i];
	now[M_PACKETS] = s->packets;
	now[M_BYTES] = s->bytes;
	now[M_UNAUTHORIZED] = s->unauthorized;
	now[M_MALFORMED] = bad;
	now[M_FLOWS] = fs->created;
	now[M_EVICTED] = fs->evicted;
	now[M_ALERTS] = t->d.alerts;
	if (cs != NULL) {
		now[M_RECEIVED] = cs->received;
		now[M_DROPPED] = cs->dropped;
		now[M_IF_DROPPED] = cs->if_dropped;
		http_metric_set(m->ring_blocks, (double)cs->ring_blocks);
		http_metric_set(m->ring_used, (double)cs->ring_used);
	}
	for (int i = 0; i < M_COUNTERS; i++) {
		if (now[i] > m->last[i])
			http_metric_add(m->c[i], now[i] - m->last[i]);
		m->last[i] = now[i] > m->last[i] ? now[i] : m->last[i];
	}
	http_metric_set(m->flows_active, (double)fs->active);
}

int sensor_metrics_workers(struct sensor_metrics *m, int n)
{
	struct http_metrics *reg;
	char labels[32];

	if (m == NULL)
		return 0;
	if ((m->w = yg_calloc((size_t)n, sizeof(*m->w))) == NULL)
		return YG_ENOMEM;
	m->nw = n;
	reg = http_server_metrics(m->srv);
	for (int i = 0; i < n; i++) {
		snprintf(labels, sizeof(labels), "worker=\"%d\"", i);
		m->w[i].packets = http_metrics_counter(reg, "yagura_sensor_worker_packets_total",
						       labels, "Packets a worker read");
		m->w[i].flows = http_metrics_counter(reg, "yagura_sensor_worker_flows_total", labels,
						     "Flows a worker made");
		m->w[i].dropped = http_metrics_counter(
		    reg, "yagura_capture_worker_dropped_total", labels,
		    "Frames the kernel dropped for a worker's socket: its ring was full");
		m->w[i].ring_used = http_metrics_gauge(reg, "yagura_capture_worker_ring_used", labels,
						       "Blocks of a worker's ring filled and not yet read");
	}
	return 0;
}

void sensor_metrics_worker(struct sensor_metrics *m, int i, const struct pipeline_totals *t,
			   const struct capture_stats *cs)
{
	struct worker_metrics *w;
	uint64_t now[3];

	if (m == NULL || i < 0 || i >= m->nw)
		return;
	w = &m->w[i];
	now[0] = t->s.packets;
	now[1] = t->f.created;
	now[2] = cs->dropped;
	for (int k = 0; k < 3; k++)
		if (now[k] > w->last[k]) {
			http_metric_add(k == 0 ? w->packets : k == 1 ? w->flows : w->dropped,
					now[k] - w->last[k]);
			w->last[k] = now[k];
		}
	http_metric_set(w->ring_used, (double)cs->ring_used);
}

void sensor_metrics_free(struct sensor_metrics *m)
{
	if (m == NULL)
		return;
	free(m->w);
	http_server_free(m->srv);
	free(m);
}
