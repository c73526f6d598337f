// SPDX-License-Identifier: GPL-2.0
/* Names of the event's numbers (names.h): errno, cause, mode, family. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/socket.h>
#include "names.h"

static const struct {
	int err;
	const char *name;
} errnos[] = {
	{ EPERM, "EPERM" },		{ ENOENT, "ENOENT" },
	{ EINTR, "EINTR" },		{ EBADF, "EBADF" },
	{ EAGAIN, "EAGAIN" },		{ ENOMEM, "ENOMEM" },
	{ EACCES, "EACCES" },		{ EFAULT, "EFAULT" },
	{ EBUSY, "EBUSY" },		{ EINVAL, "EINVAL" },
	{ ENFILE, "ENFILE" },		{ EMFILE, "EMFILE" },
	{ ENOSPC, "ENOSPC" },		{ EPIPE, "EPIPE" },
	{ ENOTSOCK, "ENOTSOCK" },	{ EDESTADDRREQ, "EDESTADDRREQ" },
	{ EPROTOTYPE, "EPROTOTYPE" },	{ ENOPROTOOPT, "ENOPROTOOPT" },
	{ EPROTONOSUPPORT, "EPROTONOSUPPORT" },
	{ EOPNOTSUPP, "EOPNOTSUPP" },	{ EAFNOSUPPORT, "EAFNOSUPPORT" },
	{ EADDRINUSE, "EADDRINUSE" },	{ EADDRNOTAVAIL, "EADDRNOTAVAIL" },
	{ ENETDOWN, "ENETDOWN" },	{ ENETUNREACH, "ENETUNREACH" },
	{ ENETRESET, "ENETRESET" },	{ ECONNABORTED, "ECONNABORTED" },
	{ ECONNRESET, "ECONNRESET" },	{ ENOBUFS, "ENOBUFS" },
	{ EISCONN, "EISCONN" },		{ ENOTCONN, "ENOTCONN" },
	{ ETIMEDOUT, "ETIMEDOUT" },	{ ECONNREFUSED, "ECONNREFUSED" },
	{ EHOSTDOWN, "EHOSTDOWN" },	{ EHOSTUNREACH, "EHOSTUNREACH" },
	{ EALREADY, "EALREADY" },	{ EINPROGRESS, "EINPROGRESS" },
	/* a failure whose errno the attach mode cannot see (tracepoint mode,
	 * after_port_selection): the key in the summary's errors and metrics */
	{ PW_ERR_UNKNOWN, "unknown" },
};

const char *pw_errno_name(int err)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].err == err)
			return errnos[i].name;
	return NULL;
}

const char *pw_errno_label(int err, char *buf, size_t sz)
{
	const char *name = pw_errno_name(err);

	if (name)
		return name;
	snprintf(buf, sz, "E%d", err);
	return buf;
}

const char *pw_cause_name(unsigned int cause)
{
	switch (cause) {
	case PW_CAUSE_RANGE_EXHAUSTED: return "port_range_exhausted";
	case PW_CAUSE_BOUND_CONFLICT:  return "bound_port_conflict";
	case PW_CAUSE_NO_SOURCE:       return "no_source_address";
	case PW_CAUSE_OTHER:           return "other";
	case PW_CAUSE_AFTER_PORT_SELECTION: return "after_port_selection";
	case PW_CAUSE_PORT_IN_USE:     return "port_in_use";
	default:                       return NULL;
	}
}

const char *pw_op_name(unsigned int op)
{
	switch (op) {
	case PW_OP_CONNECT:     return "connect";
	case PW_OP_BIND:        return "bind";
	case PW_OP_UDP_CONNECT: return "udp_connect";
	case PW_OP_UDP_SEND:    return "udp_send";
	case PW_OP_BIND_PORT:   return "bind_port";
	default:                return NULL;
	}
}

const char *pw_mode_name(unsigned int mode)
{
	switch (mode) {
	case PW_MODE_FENTRY:     return "fentry";
	case PW_MODE_KPROBE:     return "kprobe";
	case PW_MODE_TRACEPOINT: return "tracepoint";
	default:                 return "unknown";
	}
}

const char *pw_family_name(unsigned int family)
{
	switch (family) {
	case AF_INET:  return "inet";
	case AF_INET6: return "inet6";
	default:       return "unknown";
	}
}

/* INT_MIN (no errno, but it is what an event can carry) has no negation. */
const char *pw_ret_errno_name(int ret, char *buf, size_t sz)
{
	return ret ? pw_errno_label(ret == INT_MIN ? INT_MIN : -ret, buf, sz) : NULL;
}
