/* SPDX-License-Identifier: GPL-2.0 */
/* Names of an event's numbers: errno, cause, attach mode, family. */
#ifndef PW_NAMES_H
#define PW_NAMES_H

#include <stddef.h>
#include <linux/types.h>
#include "portwatch.h"

/* "EADDRNOTAVAIL" for 99; NULL when unknown. */
const char *pw_errno_name(int err);
/* Like pw_errno_name, but "E<n>" for unknown ones, in buf. */
const char *pw_errno_label(int err, char *buf, size_t sz);
/* The errno label of a connect() return value (-errno); NULL for 0. */
const char *pw_ret_errno_name(int ret, char *buf, size_t sz);
/* "port_range_exhausted", ...; NULL for PW_CAUSE_NONE. */
const char *pw_cause_name(unsigned int cause);
const char *pw_mode_name(unsigned int mode);
/* enum pw_op as in events and the op label: connect, bind, udp_connect,
 * udp_send; NULL for an unknown value. */
const char *pw_op_name(unsigned int op);
const char *pw_family_name(unsigned int family);

#endif /* PW_NAMES_H */
