/* SPDX-License-Identifier: GPL-2.0 */
/* Who is failing: the workload behind a cgroup v2 id, without the
 * Kubernetes API. The id is resolved to its path in the cgroup2 hierarchy
 * (found in /proc/self/mountinfo: /sys/fs/cgroup, or /sys/fs/cgroup/unified
 * on hybrid hosts), the path is parsed into a systemd unit, a container id
 * (docker, containerd, cri-o, podman scopes; the cgroupfs driver's paths)
 * and a Kubernetes pod uid and QoS class (both kubelet cgroup drivers), and
 * the pod's namespace, name and the container's name come from the
 * kubelet's log folders (<pods_dir>/<namespace>_<pod>_<uid>/<container>/).
 *
 * A resolver is one thread's: no locks. Lookups of a known id are a hash
 * probe; a new id costs open_by_handle_at + readlink (or, where handles are
 * refused, a bounded walk of the hierarchy) and a scan of the pods folder,
 * within a budget of resolutions per second (see pw_workloads_get). */
#ifndef PW_WORKLOAD_H
#define PW_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pw_qos {
	PW_QOS_NONE = 0,
	PW_QOS_GUARANTEED,
	PW_QOS_BURSTABLE,
	PW_QOS_BESTEFFORT,
};

/* What one cgroup path says. Strings are NULL when unknown (JSON null). */
struct pw_workload {
	uint64_t id;
	char *cgroup;		/* path below the cgroup2 root, "/" for the root */
	char *unit;		/* "system.slice/nginx.service" (not for containers) */
	char *container_id;	/* the runtime's id (64 hex for docker/containerd/cri-o) */
	const char *runtime;	/* "docker", "containerd", "crio", "podman", or NULL */
	char pod_uid[40];	/* "" when not a pod */
	enum pw_qos qos;
	char *pod_namespace;	/* from the pods folder */
	char *pod_name;
	char *container;	/* the container's name */
	int64_t names_retry_ns;	/* pod without names yet: look again after this */
};

/* Parse a cgroup path ("/kubepods.slice/...", as in the cgroup2 hierarchy)
 * into w's unit, container_id, runtime, pod_uid and qos (w->cgroup is set to
 * a copy of path). 0, or -ENOMEM. Pure: no I/O. */
int pw_workload_parse(const char *path, struct pw_workload *w);
/* Fill pod_namespace, pod_name and container from pods_dir for w->pod_uid.
 * True if the pod's folder was found. */
bool pw_workload_pod_names(const char *pods_dir, struct pw_workload *w);
void pw_workload_clear(struct pw_workload *w);
/* dst: a copy of src with strings of its own (pw_workload_clear frees
 * them), valid whatever the resolver does next. 0, or -ENOMEM (dst cleared). */
int pw_workload_copy(struct pw_workload *dst, const struct pw_workload *src);
const char *pw_qos_name(enum pw_qos q);

/* The mount point of the cgroup2 hierarchy, from a mountinfo file
 * ("/proc/self/mountinfo"); false if there is none. */
bool pw_cgroup2_mount(const char *mountinfo, char *dst, size_t sz);

struct pw_workloads;

/* A resolver: at most max_entries ids cached (then the cache starts over,
 * counted), at most per_second new ids resolved per second (burst of as
 * many). pods_dir NULL: /var/log/pods. NULL on failure or without cgroup2. */
struct pw_workloads *pw_workloads_new(const char *pods_dir, size_t max_entries,
				      unsigned int per_second);
void pw_workloads_free(struct pw_workloads *ws);
/* The workload of cgroup id at now_ns (CLOCK_MONOTONIC); NULL when the
 * budget of this second is spent (counted, nothing cached: a later lookup
 * tries again) or out of memory. An id whose cgroup is gone gives an entry
 * with every string NULL. The pointer is valid until the next call (which
 * may start the cache over and free it): to keep several, copy them
 * (pw_workload_copy). */
const struct pw_workload *pw_workloads_get(struct pw_workloads *ws, uint64_t id, int64_t now_ns);
/* The id's workload if it is cached, without resolving; NULL otherwise. */
const struct pw_workload *pw_workloads_peek(struct pw_workloads *ws, uint64_t id);

struct pw_workloads_stats {
	uint64_t resolved;	/* ids resolved (cache misses served) */
	uint64_t over_budget;	/* lookups left unresolved: budget spent */
	uint64_t restarts;	/* the cache was full and started over */
	uint64_t walks;		/* resolutions that walked the hierarchy */
};
void pw_workloads_stats(const struct pw_workloads *ws, struct pw_workloads_stats *st);

/* Path (absolute, or relative to the cgroup2 root) of a cgroup -> an open
 * O_RDONLY|O_DIRECTORY fd of it, checked to be on cgroup2; -errno with a
 * reason in err. */
int pw_cgroup_open(const char *path, char *err, size_t errsz);

#endif /* PW_WORKLOAD_H */
