// SPDX-License-Identifier: GPL-2.0
/* cgroup id -> path -> unit / container / pod; see workload.h.
 *
 * Why resolve on a miss in the caller's thread, and how that stays bounded:
 * the consumer thread formats events, and an event must carry its workload
 * when it is written (a line without its pod is the question unanswered).
 * A new cgroup id is rare (once per cgroup for the life of portwatch: ids
 * are never reused within a boot), and resolving one is two or three
 * syscalls (open_by_handle_at on the cgroup2 mount, readlink, close) plus a
 * readdir of the pods folder for a pod. A hostile user can make cgroups
 * quickly, though, so every thread's resolver has a budget of new ids per
 * second: past it, an event's workload fields are null (counted in
 * over_budget and said at the end), nothing is cached, and the next event of
 * that cgroup tries again. The cache is capped; when it is full it starts
 * over (counted), so memory stays bounded whatever the number of cgroups.
 * Only where handles are refused (no CAP_DAC_READ_SEARCH) is the hierarchy
 * walked, at most WALK_MAX_DIRS directories per resolution and at most
 * WALKS_PER_SECOND resolutions a second (the rest count as over budget). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include "hashtab.h"
#include "util.h"
#include "workload.h"

#define FILEID_KERNFS	0xfe	/* include/linux/exportfs.h: cgroup ids as handles */
#define WALK_MAX_DIRS	16384
#define WALKS_PER_SECOND 2	/* without handles: a walk is up to 16384 stat()s */
#define NAMES_RETRY_NS	(10ll * 1000000000)	/* a pod's log folder may come later */

const char *pw_qos_name(enum pw_qos q)
{
	switch (q) {
	case PW_QOS_GUARANTEED: return "guaranteed";
	case PW_QOS_BURSTABLE: return "burstable";
	case PW_QOS_BESTEFFORT: return "besteffort";
	default: return NULL;
	}
}

void pw_workload_clear(struct pw_workload *w)
{
	free(w->cgroup);
	free(w->unit);
	free(w->container_id);
	free(w->pod_namespace);
	free(w->pod_name);
	free(w->container);
	memset(w, 0, sizeof(*w));
}

static int dup_str(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return src && !*dst ? -ENOMEM : 0;
}

int pw_workload_copy(struct pw_workload *dst, const struct pw_workload *src)
{
	*dst = *src;
	if (dup_str(&dst->cgroup, src->cgroup) | dup_str(&dst->unit, src->unit) |
	    dup_str(&dst->container_id, src->container_id) |
	    dup_str(&dst->pod_namespace, src->pod_namespace) |
	    dup_str(&dst->pod_name, src->pod_name) | dup_str(&dst->container, src->container)) {
		pw_workload_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t l = strlen(suffix);

	return n >= l && !memcmp(s + n - l, suffix, l);
}

static bool starts_with(const char *s, size_t n, const char *prefix)
{
	size_t l = strlen(prefix);

	return n >= l && !memcmp(s, prefix, l);
}

/* A container id: hex, at least 12 digits (short ids), at most 128. */
static bool is_id(const char *s, size_t n)
{
	if (n < 12 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* A pod uid: 36 characters of hex and '-' (cgroupfs) or '_' (systemd). */
static bool is_uid(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static void set_uid(struct pw_workload *w, const char *s)
{
	for (int i = 0; i < 36; i++)
		w->pod_uid[i] = s[i] == '_' ? '-' : s[i];
	w->pod_uid[36] = '\0';
}

/* "docker-<id>.scope", "cri-containerd-<id>.scope", "crio-<id>.scope",
 * "libpod-<id>.scope" (systemd driver), or without ".scope" (cri-o with
 * cgroupfs). conmon's scopes are the runtime's monitor, not a container. */
static bool container_scope(const char *c, size_t n, struct pw_workload *w)
{
	static const struct { const char *prefix, *runtime; } kinds[] = {
		{ "docker-", "docker" },
		{ "cri-containerd-", "containerd" },
		{ "crio-", "crio" },
		{ "libpod-", "podman" },
	};

	if (ends_with(c, n, ".scope"))
		n -= 6;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		size_t l = strlen(kinds[k].prefix);

		if (starts_with(c, n, kinds[k].prefix) && is_id(c + l, n - l)) {
			free(w->container_id);
			w->container_id = strndup(c + l, n - l);
			w->runtime = kinds[k].runtime;
			return true;
		}
	}
	return false;
}

/* The systemd driver's pod slice, "<stem>-pod<uid_>.slice", a child of
 * "<stem>.slice" where stem is "kubepods", "kubepods-burstable" or
 * "kubepods-besteffort", also under a cgroup root ("kubelet-kubepods-..."):
 * stem is the parent slice's (the caller checks the chain to the root). */
static bool pod_slice(const char *c, size_t n, const char *stem, size_t stem_n,
		      struct pw_workload *w)
{
	static const struct { const char *suffix; enum pw_qos qos; } kinds[] = {
		{ "kubepods-burstable", PW_QOS_BURSTABLE },
		{ "kubepods-besteffort", PW_QOS_BESTEFFORT },
		{ "kubepods", PW_QOS_GUARANTEED },
	};

	if (n != stem_n + 4 + 36 + 6 || memcmp(c, stem, stem_n) || memcmp(c + stem_n, "-pod", 4) ||
	    !is_uid(c + stem_n + 4, 36) || !ends_with(c, n, ".slice"))
		return false;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		size_t l = strlen(kinds[k].suffix);

		if (ends_with(stem, stem_n, kinds[k].suffix) && (stem_n == l || stem[stem_n - l - 1] == '-')) {
			set_uid(w, c + stem_n + 4);
			w->qos = kinds[k].qos;
			return true;
		}
	}
	return false;
}

/* containerd's systemd-driver name made a cgroup by runc's cgroupfs driver
 * below containerd's own: "kubepods-besteffort-pod<uid_>.slice:cri-containerd:<id>". */
static bool pod_colon(const char *c, size_t n, struct pw_workload *w)
{
	const char *a = memchr(c, ':', n), *b = a ? memchr(a + 1, ':', n - (a + 1 - c)) : NULL;
	const char *dash = a ? memrchr(c, '-', a - c) : NULL;

	/* the slice's parent is not in the path: its stem is the name's */
	if (!b || !dash || !pod_slice(c, a - c, c, dash - c, w))
		return false;
	if (is_id(b + 1, n - (b + 1 - c))) {
		w->container_id = strndup(b + 1, n - (b + 1 - c));
		w->runtime = b - a - 1 == 14 && !memcmp(a + 1, "cri-containerd", 14) ? "containerd"
			     : b - a - 1 == 4 && !memcmp(a + 1, "crio", 4) ? "crio" : NULL;
	}
	return true;
}

/* Where the kubelet puts pods, and only there: from the root of the
 * hierarchy, which no delegated subtree (a user's user@UID.service, a
 * container's writable cgroup namespace) can write to. The systemd driver:
 * a chain of slices from the root, each named after its parent
 * ("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice",
 * or under a cgroup root: "kubelet.slice/kubelet-kubepods.slice/..."); the
 * cgroupfs driver: "kubepods[/burstable|/besteffort]/pod<uid>"; the
 * containerd name as a cgroup: "system.slice/<unit>.service/<name>". The
 * first one wins: a pod's container cannot make itself another pod below
 * its own cgroup. */
struct pod_walk {
	bool chain;		/* every component so far a slice named after its parent */
	const char *stem;	/* the last slice's name without ".slice" */
	size_t stem_n;
	bool cgfs;		/* "/kubepods" */
	enum pw_qos cgfs_qos;
	bool service;		/* "/system.slice/<x>.service" */
};

static bool pod_step(struct pod_walk *pw, const char *c, size_t n, unsigned int depth,
		     struct pw_workload *w)
{
	bool slice = n > 6 && ends_with(c, n, ".slice");

	if (pw->chain && slice && depth && pod_slice(c, n, pw->stem, pw->stem_n, w))
		return true;
	pw->chain = pw->chain && slice &&
		    (!depth || (n > pw->stem_n + 1 + 6 && !memcmp(c, pw->stem, pw->stem_n) &&
				c[pw->stem_n] == '-'));
	if (pw->chain) {
		pw->stem = c;
		pw->stem_n = n - 6;
	}
	if (depth == 0) {
		pw->cgfs = n == 8 && !memcmp(c, "kubepods", 8);
		pw->service = n == 12 && !memcmp(c, "system.slice", 12);
		return false;
	}
	if (depth == 1 && pw->service)
		pw->service = ends_with(c, n, ".service");
	else if (depth == 2 && pw->service && pod_colon(c, n, w))
		return true;
	if (!pw->cgfs)
		return false;
	if (depth == 1 && n == 9 && !memcmp(c, "burstable", 9)) {
		pw->cgfs_qos = PW_QOS_BURSTABLE;
	} else if (depth == 1 && n == 10 && !memcmp(c, "besteffort", 10)) {
		pw->cgfs_qos = PW_QOS_BESTEFFORT;
	} else if ((depth == 1 || (depth == 2 && pw->cgfs_qos)) && starts_with(c, n, "pod") &&
		   is_uid(c + 3, n - 3) && !memchr(c + 3, '_', 36)) {
		set_uid(w, c + 3);
		w->qos = pw->cgfs_qos ? pw->cgfs_qos : PW_QOS_GUARANTEED;
		return true;
	} else {
		pw->cgfs = false;
	}
	return false;
}

int pw_workload_parse(const char *path, struct pw_workload *w)
{
	const char *c = path, *prev = NULL;
	size_t prev_n = 0;
	unsigned int depth = 0;
	struct pod_walk pw = { .chain = true };
	bool in_pod = false;

	memset(w, 0, sizeof(*w));
	w->cgroup = strdup(path);
	if (!w->cgroup)
		return -ENOMEM;
	/* the first of each wins: a cgroup made below cannot rename what is above */
	while (*c) {
		size_t n;

		while (*c == '/')
			c++;
		n = strcspn(c, "/");
		if (!n)
			break;
		if (!in_pod && pod_step(&pw, c, n, depth, w)) {
			in_pod = true;
		} else if (w->container_id) {
			/* the container is named: what is below is its own */
		} else if (container_scope(c, n, w)) {
			/* a container's scope is not the unit to name */
		} else if (in_pod && is_id(c, n)) {
			w->container_id = strndup(c, n);	/* cgroupfs: pod<uid>/<id> */
		} else if (depth == 1 && prev_n == 6 && !memcmp(prev, "docker", 6) && is_id(c, n)) {
			w->container_id = strndup(c, n);	/* cgroupfs: /docker/<id> */
			w->runtime = "docker";
		} else if (!w->unit && !in_pod && (ends_with(c, n, ".service") || ends_with(c, n, ".scope"))) {
			const char *from = path + strspn(path, "/");

			w->unit = strndup(from, c + n - from);
		}
		prev = c;
		prev_n = n;
		c += n;
		depth++;
	}
	return 0;
}

/* "<namespace>_<pod>_<uid>": neither a namespace nor a pod name may hold
 * '_' (DNS labels and subdomains). */
static bool split_pod_folder(const char *name, const char *uid, char **ns, char **pod)
{
	const char *a = strchr(name, '_'), *b = strrchr(name, '_');

	if (!a || a == b || strcmp(b + 1, uid) || a == name || b == a + 1)
		return false;
	*ns = strndup(name, a - name);
	*pod = strndup(a + 1, b - a - 1);
	return *ns && *pod;
}

/* The container's name: the one folder of the pod's, or, for a pod of
 * several, the one whose /var/log/containers link
 * (<pods_dir>/../containers/<pod>_<ns>_<container>-<id>.log) names our id. */
static char *container_name(const char *pods_dir, const char *folder, const struct pw_workload *w)
{
	char path[PATH_MAX], only[256] = "", *found = NULL;
	unsigned int n = 0;
	struct dirent *de;
	DIR *d;

	if (snprintf(path, sizeof(path), "%s/%s", pods_dir, folder) >= (int)sizeof(path))
		return NULL;
	d = opendir(path);
	if (!d)
		return NULL;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		n++;
		snprintf(only, sizeof(only), "%s", de->d_name);
		if (w->container_id &&
		    snprintf(path, sizeof(path), "%s/../containers/%s_%s_%s-%s.log", pods_dir,
			     w->pod_name, w->pod_namespace, de->d_name, w->container_id) < (int)sizeof(path) &&
		    !access(path, F_OK))
			found = strdup(de->d_name);
	}
	closedir(d);
	if (!found && n == 1)
		found = strdup(only);
	return found;
}

bool pw_workload_pod_names(const char *pods_dir, struct pw_workload *w)
{
	struct dirent *de;
	bool hit = false;
	DIR *d;

	if (!w->pod_uid[0])
		return false;
	d = opendir(pods_dir ? pods_dir : "/var/log/pods");
	if (!d)
		return false;
	while (!hit && (de = readdir(d))) {
		char *ns = NULL, *pod = NULL;

		if (!split_pod_folder(de->d_name, w->pod_uid, &ns, &pod)) {
			free(ns);
			free(pod);
			continue;
		}
		free(w->pod_namespace);
		free(w->pod_name);
		w->pod_namespace = ns;
		w->pod_name = pod;
		free(w->container);
		/* a process in the pod's own cgroup is in no container */
		w->container = w->container_id ? container_name(pods_dir ? pods_dir : "/var/log/pods",
								de->d_name, w) : NULL;
		hit = true;
	}
	closedir(d);
	return hit;
}

/* Undo mountinfo's octal escapes (\040 for a space...). */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

bool pw_cgroup2_mount(const char *mountinfo, char *dst, size_t sz)
{
	char line[4096];
	bool hit = false;
	FILE *f = fopen(mountinfo, "re");

	if (!f)
		return false;
	/* the last one: a mount over an earlier one (a container's own
	 * cgroup2 under the host's, mounted from hostPath) is the visible one */
	while (fgets(line, sizeof(line), f)) {
		/* id parent major:minor root mountpoint opts [optional...] - fstype src opts */
		char *sep = strstr(line, " - "), *save = NULL, *tok, *mnt = NULL;
		int i = 0;

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		*sep = '\0';
		for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
			if (++i == 5)
				mnt = tok;
		if (!mnt)
			continue;
		unescape(mnt);
		hit = snprintf(dst, sz, "%s", mnt) < (int)sz;
	}
	fclose(f);
	return hit;
}

struct slot {
	uint64_t id;		/* 0 = empty */
	struct pw_workload *w;
};

struct pw_workloads {
	char root[PATH_MAX];
	size_t root_len;
	int root_fd;
	char *pods_dir;
	struct pw_htab slots;	/* struct slot, at least twice max: never full */
	size_t n, max;
	unsigned int per_second, used, walks_used;
	int64_t window;
	bool no_handles;	/* open_by_handle_at refused: walk */
	struct pw_workloads_stats st;
};

struct pw_workloads *pw_workloads_new(const char *pods_dir, size_t max_entries,
				      unsigned int per_second)
{
	struct pw_workloads *ws = calloc(1, sizeof(*ws));

	if (!ws)
		return NULL;
	ws->root_fd = -1;
	ws->max = max_entries ? max_entries : 1;
	pw_htab_init(&ws->slots, ws->max * 2 > 16 ? ws->max * 2 : 16, sizeof(struct slot), 0);
	ws->pods_dir = strdup(pods_dir ? pods_dir : "/var/log/pods");
	ws->per_second = per_second;
	ws->window = -1;
	if (!ws->slots.slots || !ws->pods_dir || !pw_cgroup2_mount("/proc/self/mountinfo", ws->root, sizeof(ws->root)) ||
	    (ws->root_fd = open(ws->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		pw_workloads_free(ws);
		return NULL;
	}
	ws->root_len = strlen(ws->root);
	while (ws->root_len > 1 && ws->root[ws->root_len - 1] == '/')
		ws->root[--ws->root_len] = '\0';
	return ws;
}

static void drop_all(struct pw_workloads *ws)
{
	for (size_t i = 0; i < pw_htab_slots(&ws->slots); i++) {
		struct slot *s = pw_htab_at(&ws->slots, i);

		if (s->w) {
			pw_workload_clear(s->w);
			free(s->w);
		}
	}
	pw_htab_clear(&ws->slots);
	ws->n = 0;
}

void pw_workloads_free(struct pw_workloads *ws)
{
	if (!ws)
		return;
	if (ws->slots.slots)
		drop_all(ws);
	pw_htab_free(&ws->slots);
	free(ws->pods_dir);
	if (ws->root_fd >= 0)
		close(ws->root_fd);
	free(ws);
}

void pw_workloads_stats(const struct pw_workloads *ws, struct pw_workloads_stats *st)
{
	*st = ws->st;
}

static enum pw_htab_slot slot_classify(const void *slot, const void *key)
{
	const struct slot *s = slot;

	if (!s->id)
		return PW_HT_EMPTY;
	return s->id == *(const uint64_t *)key ? PW_HT_MATCH : PW_HT_TAKEN;
}

/* id's slot, else the empty one it goes in (there is one: n < max). */
static struct slot *probe(struct pw_workloads *ws, uint64_t id)
{
	bool found;

	return pw_htab_find(&ws->slots, (id * PW_GOLDEN64) >> 20, slot_classify, &id, &found);
}

const struct pw_workload *pw_workloads_peek(struct pw_workloads *ws, uint64_t id)
{
	struct slot *s = probe(ws, id ? id : 1);

	return s->id ? s->w : NULL;
}

/* The walk (no handles): nftw has no argument, so its state is per thread. */
static __thread uint64_t walk_id;
static __thread unsigned int walk_dirs;
static __thread char walk_found[PATH_MAX];

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type != FTW_D)
		return FTW_CONTINUE;
	if (st->st_ino == walk_id) {
		snprintf(walk_found, sizeof(walk_found), "%s", path);
		return FTW_STOP;
	}
	return ++walk_dirs >= WALK_MAX_DIRS ? FTW_STOP : FTW_CONTINUE;
}

/* The path of cgroup id below the root ("/..."), in buf; false if gone. */
static bool id_path(struct pw_workloads *ws, uint64_t id, char *buf, size_t sz)
{
	char full[PATH_MAX], link[64];
	ssize_t n = -1;

	if (!ws->no_handles) {
		struct {
			struct file_handle fh;
			uint64_t id;
		} h = { .fh = { .handle_bytes = sizeof(uint64_t), .handle_type = FILEID_KERNFS } };
		int fd;

		memcpy(h.fh.f_handle, &id, sizeof(id));
		fd = open_by_handle_at(ws->root_fd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 && (errno == EPERM || errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL))
			ws->no_handles = true;
		if (fd >= 0) {
			snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
			n = readlink(link, full, sizeof(full) - 1);
			close(fd);
		} else if (!ws->no_handles) {
			return false;	/* ESTALE: the cgroup is gone */
		}
	}
	if (ws->no_handles) {
		ws->st.walks++;
		walk_id = id;
		walk_dirs = 0;
		walk_found[0] = '\0';
		nftw(ws->root, walk_one, 16, FTW_PHYS | FTW_MOUNT | FTW_ACTIONRETVAL);
		if (!walk_found[0])
			return false;
		n = snprintf(full, sizeof(full), "%s", walk_found);
	}
	if (n < 0 || (size_t)n < ws->root_len)
		return false;
	full[n] = '\0';
	if (memcmp(full, ws->root, ws->root_len) || (full[ws->root_len] && full[ws->root_len] != '/'))
		return false;	/* not below our view of the mount */
	snprintf(buf, sz, "%s", full[ws->root_len] ? full + ws->root_len : "/");
	return true;
}

static bool budget(struct pw_workloads *ws, int64_t now_ns)
{
	int64_t sec = now_ns / 1000000000;

	if (sec != ws->window) {
		ws->window = sec;
		ws->used = 0;
		ws->walks_used = 0;
	}
	if (ws->used >= ws->per_second || (ws->no_handles && ws->walks_used >= WALKS_PER_SECOND)) {
		ws->st.over_budget++;
		return false;
	}
	ws->used++;
	if (ws->no_handles)
		ws->walks_used++;
	return true;
}

const struct pw_workload *pw_workloads_get(struct pw_workloads *ws, uint64_t id, int64_t now_ns)
{
	struct slot *s;
	struct pw_workload *w;
	char path[PATH_MAX];

	if (!id)
		id = 1;	/* the root cgroup */
	s = probe(ws, id);
	if (s->id) {
		w = s->w;
		/* a pod whose log folder was not there yet */
		if (w->pod_uid[0] && !w->pod_name && now_ns >= w->names_retry_ns && budget(ws, now_ns)) {
			if (!pw_workload_pod_names(ws->pods_dir, w))
				w->names_retry_ns = now_ns + NAMES_RETRY_NS;
		}
		return w;
	}
	if (!budget(ws, now_ns))
		return NULL;
	if (ws->n >= ws->max) {
		drop_all(ws);
		ws->st.restarts++;
		s = probe(ws, id);
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	if (id_path(ws, id, path, sizeof(path)) && pw_workload_parse(path, w)) {
		free(w);
		return NULL;
	}
	w->id = id;
	if (w->pod_uid[0] && !pw_workload_pod_names(ws->pods_dir, w))
		w->names_retry_ns = now_ns + NAMES_RETRY_NS;
	ws->st.resolved++;
	s->id = id;
	s->w = w;
	ws->n++;
	return w;
}

int pw_cgroup_open(const char *path, char *err, size_t errsz)
{
	char root[PATH_MAX], full[PATH_MAX];
	struct statfs sfs;
	int fd;

	if (path[0] == '/')
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else
		fd = -1, errno = ENOENT;
	if (fd < 0 && pw_cgroup2_mount("/proc/self/mountinfo", root, sizeof(root))) {
		/* relative to the cgroup2 root: "system.slice/x.service" or "/kubepods.slice" */
		if (snprintf(full, sizeof(full), "%s/%s", root, path + strspn(path, "/")) < (int)sizeof(full))
			fd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0) {
		snprintf(err, errsz, "%s", strerror(errno));
		return -errno;
	}
	if (fstatfs(fd, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		snprintf(err, errsz, "not a cgroup v2 directory");
		close(fd);
		return -ENOTDIR;
	}
	return fd;
}
