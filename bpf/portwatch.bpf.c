// SPDX-License-Identifier: GPL-2.0
/* portwatch kernel side: follows each TCP connect() from entry to outcome,
 * counts outcomes per (process, errno) and streams failures to a ring buffer.
 * Three program sets, chosen by userspace with set_autoload():
 *   fe_/fx_  fentry/fexit        (needs BPF trampolines)
 *   kp_/krp_ kprobe/kretprobe    (needs CONFIG_KPROBES)
 *   tp_      tp_btf/inet_sock_set_state (no kprobes, no trampolines)
 * and, in every mode with --ops, the sc_ syscall exit tracepoints of the
 * other operations that need a local port (ops.bpf.h).
 * Every helper call and return is costly where return-thunk mitigations are
 * on (SRSO "safe RET" and the like): the hot paths keep them few (docs/performance.md
 * has what each step costs).
 * One compilation unit: the parts included below, in this order (each uses
 * only what comes before it), make one object and one skeleton with the
 * maps, programs and CO-RE relocations of a single file. Separate objects
 * linked by bpftool would need extern maps and .rodata shared across files. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "portwatch.h"

char LICENSE[] SEC("license") = "GPL";

#define PW_AF_INET		2
#define PW_AF_INET6		10
#define PW_EADDRNOTAVAIL	99
#define PW_EEXIST		17
#define PW_IPPROTO_TCP		6

#include "state.bpf.h"
#include "account.bpf.h"
#include "caller.bpf.h"
#include "sock.bpf.h"
#include "event.bpf.h"
#include "connect.bpf.h"
#include "scan.bpf.h"
#include "fentry.bpf.h"
#include "kprobe.bpf.h"
#include "tracepoint.bpf.h"
#include "ops.bpf.h"
