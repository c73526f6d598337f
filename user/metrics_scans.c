// SPDX-License-Identifier: GPL-2.0
/* The scans collector: connect() attempts, port selections and their
 * duration, ports checked per selection. */
#include <errno.h>
#include <sys/socket.h>
#include "metrics_internal.h"

/* Scan-time buckets: le = 2^b ns for these b (1 us .. 4.3 s). */
#define SCAN_B_MIN	10

#define SCAN_B_MAX	32

/* ports_checked buckets: le = 2^b ports (1 .. 65536). */
#define PORTS_B_MAX	16

static const int families[] = { AF_INET, AF_INET6 };

void pw_collect_attempts(FILE *f, const struct pw_accounts *a)
{
	uint64_t att[2] = {}, scans[2][PW_SCAN_RESULTS] = {};
	size_t total = a->n + a->nexpired;

	for (size_t i = 0; i < total; i++) {
		const struct pw_row *r = i < a->n ? &a->rows[i] : &a->expired[i - a->n];
		int fi = r->key.family == AF_INET6;
		struct pw_proc_val t;

		if (PW_KEY_OP(r->key.family) != PW_OP_CONNECT)
			continue;	/* not a connect() (--ops) */
		pw_row_total(r, &t);
		att[fi] += t.count;
		if (r->key.err == 0)
			scans[fi][PW_SCAN_OK] += t.scans;
		else if (r->key.err == EADDRNOTAVAIL)
			scans[fi][PW_SCAN_EXHAUSTED] += t.scans;
	}
	pw_prom_header(f, "portwatch_connect_attempts_total", "counter",
		       "connect() calls traced, by address family.");
	for (int i = 0; i < 2; i++)
		fprintf(f, "portwatch_connect_attempts_total{family=\"%s\"} %llu\n",
			pw_family_name(families[i]), (unsigned long long)att[i]);
	pw_prom_header(f, "portwatch_port_scans_total", "counter",
		       "Ephemeral port selections, by address family and result.");
	for (int i = 0; i < 2; i++) {
		fprintf(f, "portwatch_port_scans_total{family=\"%s\",result=\"ok\"} %llu\n",
			pw_family_name(families[i]), (unsigned long long)scans[i][PW_SCAN_OK]);
		fprintf(f, "portwatch_port_scans_total{family=\"%s\",result=\"exhausted\"} %llu\n",
			pw_family_name(families[i]), (unsigned long long)scans[i][PW_SCAN_EXHAUSTED]);
	}
}

void pw_collect_scan_duration(FILE *f, const struct pw_metrics_input *in)
{
	static const char *const results[PW_SCAN_RESULTS] = { "ok", "exhausted" };
	const struct pw_accounts *a = in->acc;
	uint64_t sum_ns[PW_SCAN_RESULTS] = {};
	size_t total = a->n + a->nexpired;

	for (size_t i = 0; i < total; i++) {
		const struct pw_row *r = i < a->n ? &a->rows[i] : &a->expired[i - a->n];
		struct pw_proc_val t;

		pw_row_total(r, &t);
		if (r->key.err == 0)
			sum_ns[PW_SCAN_OK] += t.scan_ns;
		else if (r->key.err == EADDRNOTAVAIL)
			sum_ns[PW_SCAN_EXHAUSTED] += t.scan_ns;
	}
	pw_prom_header(f, "portwatch_port_scan_duration_seconds", "histogram",
		       "Time in ephemeral port selection (timed scans only), by result.");
	for (int res = 0; res < PW_SCAN_RESULTS; res++) {
		uint64_t cum = 0;
		int b = 0;

		for (; b <= SCAN_B_MAX; b++) {
			cum += in->scan_hist[res][b];
			if (b >= SCAN_B_MIN)
				fprintf(f, "portwatch_port_scan_duration_seconds_bucket{result=\"%s\",le=\"%.10g\"} %llu\n",
					results[res], (double)(1ull << b) / 1e9, (unsigned long long)cum);
		}
		for (; b < PW_HIST_SLOTS; b++)
			cum += in->scan_hist[res][b];
		fprintf(f, "portwatch_port_scan_duration_seconds_bucket{result=\"%s\",le=\"+Inf\"} %llu\n",
			results[res], (unsigned long long)cum);
		fprintf(f, "portwatch_port_scan_duration_seconds_sum{result=\"%s\"} %.9f\n",
			results[res], sum_ns[res] / 1e9);
		fprintf(f, "portwatch_port_scan_duration_seconds_count{result=\"%s\"} %llu\n",
			results[res], (unsigned long long)cum);
	}
}

void pw_collect_ports_checked(FILE *f, const struct pw_metrics_input *in)
{
	uint64_t cum = 0;
	int b = 0;

	pw_prom_header(f, "portwatch_ports_checked", "histogram",
		       "Ports checked per port selection (with --scan-depth).");
	for (; b <= PORTS_B_MAX; b++) {
		cum += in->ports_hist[b];
		fprintf(f, "portwatch_ports_checked_bucket{le=\"%llu\"} %llu\n",
			1ull << b, (unsigned long long)cum);
	}
	for (; b < PW_HIST_SLOTS; b++)
		cum += in->ports_hist[b];
	fprintf(f, "portwatch_ports_checked_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	fprintf(f, "portwatch_ports_checked_sum %llu\n", (unsigned long long)in->ports_sum);
	fprintf(f, "portwatch_ports_checked_count %llu\n", (unsigned long long)cum);
}
