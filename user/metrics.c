// SPDX-License-Identifier: GPL-2.0
/* The exposition: each collector in turn, in a fixed order; the kernel's
 * counters, the census and the attach mode's own families. */
#include <stdlib.h>
#include <string.h>
#include "metrics_internal.h"

/* From the last periodic census: the destinations with the most ports held
 * (at most 20, so the series stay few; then by usage), each netns's own:
 * the netns label (its inode) keeps the same address and port in two netns
 * two series; how many pairs holding ports were left out, exactly. */
static void pressure_gauges(FILE *f, const struct pw_metrics_input *in)
{
	char addr[64];

	pw_prom_header(f, "portwatch_ephemeral_ports_in_use", "gauge",
		       "Local ports held towards a destination (top 20 by ports held, then usage; last "
		       "census).");
	for (size_t i = 0; i < in->ntop; i++) {
		pw_addr_text(addr, sizeof(addr), in->top[i].dest.family, in->top[i].dest.addr);
		fprintf(f, "portwatch_ephemeral_ports_in_use{daddr=\"%s\",dport=\"%u\",netns=\"%llu\"} %u\n",
			addr, in->top[i].dest.port, (unsigned long long)in->top[i].netns,
			in->top[i].held);
	}
	pw_prom_header(f, "portwatch_ephemeral_port_usage_ratio", "gauge",
		       "Share of the usable ephemeral range held towards a destination (top 20).");
	for (size_t i = 0; i < in->ntop; i++) {
		pw_addr_text(addr, sizeof(addr), in->top[i].dest.family, in->top[i].dest.addr);
		fprintf(f, "portwatch_ephemeral_port_usage_ratio{daddr=\"%s\",dport=\"%u\",netns=\"%llu\"} %.6g\n",
			addr, in->top[i].dest.port, (unsigned long long)in->top[i].netns,
			in->top[i].usage);
	}
	pw_prom_header(f, "portwatch_ephemeral_port_pairs_folded", "gauge",
		       "(netns, destination) pairs holding ports in the last census that are not among "
		       "the 20 exported by portwatch_ephemeral_ports_in_use.");
	if (in->top_on)
		fprintf(f, "portwatch_ephemeral_port_pairs_folded %llu\n",
			(unsigned long long)in->top_folded);
}

/* The same for UDP's own port space, per network namespace (UDP autobind
 * draws from the range but not from TCP's ports: never added to those). */
static void udp_gauges(FILE *f, const struct pw_metrics_input *in)
{
	pw_prom_header(f, "portwatch_udp_ephemeral_ports_in_use", "gauge",
		       "Ports of a network namespace's ephemeral range (minus reserved ports) held by "
		       "UDP sockets: UDP's port space, apart from TCP's (top 20 by ports held, then usage; "
		       "last census).");
	for (size_t i = 0; i < in->nudp_top; i++)
		fprintf(f, "portwatch_udp_ephemeral_ports_in_use{netns=\"%llu\"} %u\n",
			(unsigned long long)in->udp_top[i].netns, in->udp_top[i].held);
	pw_prom_header(f, "portwatch_udp_ephemeral_port_usage_ratio", "gauge",
		       "Share of a network namespace's ephemeral range (minus reserved ports) held by "
		       "UDP sockets (top 20).");
	for (size_t i = 0; i < in->nudp_top; i++)
		fprintf(f, "portwatch_udp_ephemeral_port_usage_ratio{netns=\"%llu\"} %.6g\n",
			(unsigned long long)in->udp_top[i].netns, in->udp_top[i].usage);
	pw_prom_header(f, "portwatch_udp_ephemeral_netns_folded", "gauge",
		       "Network namespaces whose UDP sockets held ports of the range in the last census "
		       "that are not among the 20 exported by portwatch_udp_ephemeral_ports_in_use.");
	if (in->top_on && in->sockets_on)
		fprintf(f, "portwatch_udp_ephemeral_netns_folded %llu\n",
			(unsigned long long)in->udp_top_folded);
}

/* Runs of portwatch's programs the kernel skipped, per program kind; and
 * whether the attach mode can be skipped on this kernel at all. */
static void missed_runs(FILE *f, const struct pw_metrics_input *in)
{
	static const char *const kinds[PW_MISS_KINDS] = {
		[PW_MISS_FENTRY] = "fentry",
		[PW_MISS_KPROBE] = "kprobe",
		[PW_MISS_KRETPROBE_MAXACTIVE] = "kretprobe_maxactive",
		[PW_MISS_TRACEPOINT] = "tracepoint",
	};

	pw_prom_header(f, "portwatch_bpf_program_missed_runs_total", "counter",
		       "Runs of portwatch's BPF programs the kernel skipped, by program kind: the program "
		       "was already running on that CPU (a preempted fentry or tracepoint program, or for "
		       "kprobe another BPF program or a bpf() map syscall on that CPU), or no kretprobe "
		       "instance was free (maxactive). Each may be a connect() outcome not counted: the "
		       "true failure counts lie between the counted ones and the counted ones plus this. "
		       "0 means the counts are exact.");
	for (int k = 0; k < PW_MISS_KINDS; k++)
		if (in->missed_runs[k] >= 0)
			fprintf(f, "portwatch_bpf_program_missed_runs_total{kind=\"%s\"} %lld\n",
				kinds[k], in->missed_runs[k]);
	if (!in->preempt_model)
		return;
	pw_prom_header(f, "portwatch_exact_under_contention", "gauge",
		       "1 if the attach mode's programs cannot be skipped when a task is preempted inside "
		       "one on this kernel; 0 on a preemptible kernel (model label) in fentry or "
		       "tracepoint mode, where --mode=kprobe is exact, and in kprobe mode there when "
		       "portwatch's own map reads run without the SCHED_FIFO guard.");
	fprintf(f, "portwatch_exact_under_contention{preempt_model=\"%s\"} %d\n", in->preempt_model,
		in->exact_under_contention ? 1 : 0);
}

/* The node's ephemeral port range; none when it was not read. */
static void port_range(FILE *f, const struct pw_metrics_input *in)
{
	if (in->range_size < 0)
		return;
	pw_prom_header(f, "portwatch_local_port_range_size", "gauge",
		       "Ports in net.ipv4.ip_local_port_range of the node's network namespace "
		       "(labelled netns: portwatch's own, when the node's is not reachable).");
	if (in->range_netns)
		fprintf(f, "portwatch_local_port_range_size{netns=\"%llu\"} %ld\n",
			(unsigned long long)in->range_netns, in->range_size);
	else
		fprintf(f, "portwatch_local_port_range_size %ld\n", in->range_size);
}

/* What the census could not read, and the connect() outcomes the kernel
 * side could not count or attribute. */
static void outcome_counters(FILE *f, const struct pw_metrics_input *in)
{
	pw_prom_counter(f, "portwatch_census_netns_skipped_total",
		"Network namespaces the census found but could not read (setns needs CAP_SYS_ADMIN) "
		"or left out (over 256).", in->census_netns_skipped);
	pw_prom_counter(f, "portwatch_census_processes_skipped_total",
		"Processes whose network namespace the census could not open (needs CAP_SYS_PTRACE).",
		in->census_processes_skipped);
	pw_prom_counter(f, "portwatch_events_lost_total",
		"Events dropped because the ring buffer was full (counts stay exact).", in->events_lost);
	pw_prom_counter(f, "portwatch_sampled_events_lost_total",
		"-q: sampled failures' events dropped because the ring buffer was full (their "
		"diagnoses wait for a later failure; counts stay exact).", in->samples_lost);
	pw_prom_counter(f, "portwatch_counts_dropped_total",
		"connect() outcomes not counted: the kernel per-process map was full and their "
		"events were lost (ring buffer full) or found the queue of event counts full.",
		in->counts_dropped);
	pw_prom_counter(f, "portwatch_untraced_connects_total",
		"connect() calls not traced: the kernel per-thread state map was full.", in->untraced);
	pw_prom_counter(f, "portwatch_counted_from_events_total",
		"connect() outcomes counted from their events: the kernel per-process map was full "
		"(counts stay exact).", in->counted_from_events);
	pw_prom_counter(f, "portwatch_unmatched_outcomes_total",
		"connect() outcomes whose start state was evicted by newer connects (or began "
		"before the attach): not counted.", in->unmatched);
	pw_prom_counter(f, "portwatch_unattributed_outcomes_total",
		"connect() outcomes other than EADDRNOTAVAIL counted without their process (no "
		"room kept for new per-process keys): in the pid 0 \"(unattributed)\" rows.",
		in->unattributed);
}

void pw_metrics_memory_free(struct pw_metrics_memory *m)
{
	free(m->rows_shown);
	free(m->wl_shown);
	free(m->comm.names);
	free(m->comm.floors);
	free(m->comm.other);
	free(m->comm.prev);
	memset(m, 0, sizeof(*m));
}

size_t pw_metrics_render(FILE *f, const struct pw_metrics_input *in)
{
	size_t dropped;

	pw_collect_attempts(f, in->acc);
	pw_collect_comms(f, in->acc, &in->memory->comm);
	dropped = pw_collect_pids(f, in);
	pw_prom_header(f, "portwatch_process_series_dropped", "gauge",
		       "Processes with failures left out of the per-process series (over --max-pids).");
	fprintf(f, "portwatch_process_series_dropped %zu\n", dropped);
	if (in->workload) {
		size_t wdropped = pw_collect_workloads(f, in);

		pw_prom_header(f, "portwatch_workload_series_dropped", "gauge",
			       "Workloads with failures left out of the per-workload series (over --max-pids).");
		fprintf(f, "portwatch_workload_series_dropped %zu\n", wdropped);
	}
	pw_collect_scan_duration(f, in);
	if (in->scan_depth)
		pw_collect_ports_checked(f, in);
	port_range(f, in);
	pressure_gauges(f, in);
	udp_gauges(f, in);
	pw_collect_sockets(f, in);
	outcome_counters(f, in);
	missed_runs(f, in);
	pw_prom_header(f, "portwatch_build_info", "gauge", "portwatch build and attach mode.");
	fprintf(f, "portwatch_build_info{version=\"%s\",libbpf_version=\"%s\",mode=\"%s\"} 1\n",
		in->version, in->libbpf_version, in->mode);
	return dropped;
}
