// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/workload.c: the cgroup path parser on every driver
 * and runtime shape, the pods folder (namespace, pod, container names),
 * the cgroup2 mount in a mountinfo file, and the resolver's bounds. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "workload.h"

#define CID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID "6f1e2c3a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
#define UID_ "6f1e2c3a_1b2c_4d5e_8f90_a1b2c3d4e5f6"
#define CID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define UID2 "11111111-2222-3333-4444-555555555555"
#define UID2_ "11111111_2222_3333_4444_555555555555"

struct expect {
	const char *path, *unit, *cid, *runtime, *uid;
	enum pw_qos qos;
};

static void check(const struct expect *x)
{
	struct pw_workload w;

	assert_int_equal(pw_workload_parse(x->path, &w), 0);
	assert_string_equal(w.cgroup, x->path);
	if (x->unit)
		assert_string_equal(w.unit ? w.unit : "(null)", x->unit);
	else
		assert_null(w.unit);
	if (x->cid)
		assert_string_equal(w.container_id ? w.container_id : "(null)", x->cid);
	else
		assert_null(w.container_id);
	if (x->runtime)
		assert_string_equal(w.runtime ? w.runtime : "(null)", x->runtime);
	else
		assert_null(w.runtime);
	assert_string_equal(w.pod_uid, x->uid ? x->uid : "");
	assert_int_equal(w.qos, x->qos);
	pw_workload_clear(&w);
}

static void test_parse_shapes(void **state)
{
	static const struct expect cases[] = {
		{ "/", NULL, NULL, NULL, NULL, PW_QOS_NONE },
		{ "/system.slice/nginx.service", "system.slice/nginx.service", NULL, NULL, NULL, 0 },
		{ "/system.slice/nginx.service/worker", "system.slice/nginx.service", NULL, NULL, NULL, 0 },
		{ "/user.slice/user-1000.slice/session-3.scope", "user.slice/user-1000.slice/session-3.scope",
		  NULL, NULL, NULL, 0 },
		{ "/init.scope", "init.scope", NULL, NULL, NULL, 0 },
		{ "/system.slice", NULL, NULL, NULL, NULL, 0 },
		/* docker, systemd and cgroupfs drivers */
		{ "/system.slice/docker-" CID ".scope", NULL, CID, "docker", NULL, 0 },
		{ "/docker/" CID, NULL, CID, "docker", NULL, 0 },
		/* podman */
		{ "/machine.slice/libpod-" CID ".scope", NULL, CID, "podman", NULL, 0 },
		{ "/machine.slice/libpod-" CID ".scope/container", NULL, CID, "podman", NULL, 0 },
		{ "/machine.slice/libpod-conmon-" CID ".scope", "machine.slice/libpod-conmon-" CID ".scope",
		  NULL, NULL, NULL, 0 },
		/* kubelet, systemd driver: containerd, cri-o, docker; each QoS */
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/cri-containerd-" CID ".scope",
		  NULL, CID, "containerd", UID, PW_QOS_BURSTABLE },
		{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice/crio-" CID ".scope",
		  NULL, CID, "crio", UID, PW_QOS_BESTEFFORT },
		{ "/kubepods.slice/kubepods-pod" UID_ ".slice/docker-" CID ".scope",
		  NULL, CID, "docker", UID, PW_QOS_GUARANTEED },
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice",
		  NULL, NULL, NULL, UID, PW_QOS_BURSTABLE },
		{ "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" CID ".scope",
		  NULL, CID, "containerd", UID, PW_QOS_BESTEFFORT },
		/* containerd's systemd driver naming outside kubepods.slice */
		{ "/system.slice/containerd.service/kubepods-besteffort-pod" UID_ ".slice:cri-containerd:" CID,
		  "system.slice/containerd.service", CID, "containerd", UID, PW_QOS_BESTEFFORT },
		/* kubelet, cgroupfs driver: the runtime is not in the path */
		{ "/kubepods/burstable/pod" UID "/" CID, NULL, CID, NULL, UID, PW_QOS_BURSTABLE },
		{ "/kubepods/besteffort/pod" UID "/" CID, NULL, CID, NULL, UID, PW_QOS_BESTEFFORT },
		{ "/kubepods/pod" UID "/" CID, NULL, CID, NULL, UID, PW_QOS_GUARANTEED },
		{ "/kubepods/burstable/pod" UID "/crio-" CID, NULL, CID, "crio", UID, PW_QOS_BURSTABLE },
		{ "/kubepods/pod" UID, NULL, NULL, NULL, UID, PW_QOS_GUARANTEED },
		/* look-alikes that are none of these */
		{ "/kubepods/burstable/podnot-a-uid/" CID, NULL, NULL, NULL, NULL, 0 },
		{ "/pod" UID "/" CID, NULL, NULL, NULL, NULL, 0 },
		{ "/system.slice/docker-xyz.scope", "system.slice/docker-xyz.scope", NULL, NULL, NULL, 0 },
		{ "/docker/notanid", NULL, NULL, NULL, NULL, 0 },
		{ "/a-pod" UID_ ".slice", NULL, NULL, NULL, NULL, 0 },
		/* a pod's names below a delegated subtree (a user's, a container's
		 * cgroup namespace) are not that pod: pods are found from the root */
		{ "/user.slice/user-1000.slice/user@1000.service/kubepods/burstable/pod" UID "/" CID,
		  "user.slice/user-1000.slice/user@1000.service", NULL, NULL, NULL, 0 },
		{ "/user.slice/user-1000.slice/user@1000.service/kubepods/pod" UID "/" CID,
		  "user.slice/user-1000.slice/user@1000.service", NULL, NULL, NULL, 0 },
		{ "/user.slice/user-1000.slice/user@1000.service/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice",
		  "user.slice/user-1000.slice/user@1000.service", NULL, NULL, NULL, 0 },
		{ "/system.slice/kubepods.slice/kubepods-pod" UID_ ".slice", NULL, NULL, NULL, NULL, 0 },
		{ "/system.slice/x.service/y/kubepods-besteffort-pod" UID_ ".slice:cri-containerd:" CID,
		  "system.slice/x.service", NULL, NULL, NULL, 0 },
		{ "/foo/kubepods/pod" UID "/" CID, NULL, NULL, NULL, NULL, 0 },
		{ "/kubepods/besteffort/burstable/pod" UID, NULL, NULL, NULL, NULL, 0 },
		/* a pod slice not below its own parent slice */
		{ "/kubepods.slice/kubepods-burstable-pod" UID_ ".slice", NULL, NULL, NULL, NULL, 0 },
		{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-burstable-pod" UID_ ".slice",
		  NULL, NULL, NULL, NULL, 0 },
		/* nested below a pod's container: the first pod and container win */
		{ "/kubepods/burstable/pod" UID "/" CID "/kubepods/pod" UID2 "/" CID2,
		  NULL, CID, NULL, UID, PW_QOS_BURSTABLE },
		{ "/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" CID ".scope/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID2_ ".slice/crio-" CID2 ".scope",
		  NULL, CID, "containerd", UID, PW_QOS_GUARANTEED },
		{ "/docker/" CID "/docker/" CID2, NULL, CID, "docker", NULL, 0 },
		{ "/x/docker/" CID, NULL, NULL, NULL, NULL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("  %s\n", cases[i].path);
		check(&cases[i]);
	}
}

static char tmp[64];

static void mk(const char *fmt, const char *arg)
{
	char p[512];

	snprintf(p, sizeof(p), fmt, tmp, arg);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void test_pod_names(void **state)
{
	struct pw_workload w;
	char pods[128], p[512];
	FILE *f;

	(void)state;
	strcpy(tmp, "/tmp/pw-test-pods.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	snprintf(pods, sizeof(pods), "%s/pods", tmp);
	mk("%s/%s", "pods");
	mk("%s/%s", "containers");
	mk("%s/pods/%s", "shop_web-7d9f_" UID);
	mk("%s/pods/%s", "shop_web-7d9f_" UID "/app");
	mk("%s/pods/%s", "other_x_11111111-2222-3333-4444-555555555555");

	/* one container: its name */
	assert_int_equal(pw_workload_parse("/kubepods/burstable/pod" UID "/" CID, &w), 0);
	assert_true(pw_workload_pod_names(pods, &w));
	assert_string_equal(w.pod_namespace, "shop");
	assert_string_equal(w.pod_name, "web-7d9f");
	assert_string_equal(w.container, "app");
	pw_workload_clear(&w);

	/* two: the one /var/log/containers links to our id */
	mk("%s/pods/%s", "shop_web-7d9f_" UID "/sidecar");
	assert_int_equal(pw_workload_parse("/kubepods/burstable/pod" UID "/" CID, &w), 0);
	assert_true(pw_workload_pod_names(pods, &w));
	assert_null(w.container);	/* ambiguous: not guessed */
	pw_workload_clear(&w);
	snprintf(p, sizeof(p), "%s/containers/web-7d9f_shop_sidecar-" CID ".log", tmp);
	assert_non_null(f = fopen(p, "w"));
	fclose(f);
	assert_int_equal(pw_workload_parse("/kubepods/burstable/pod" UID "/" CID, &w), 0);
	assert_true(pw_workload_pod_names(pods, &w));
	assert_string_equal(w.container, "sidecar");
	pw_workload_clear(&w);

	/* the pod's own cgroup is no container; an unknown pod has no names */
	assert_int_equal(pw_workload_parse("/kubepods/burstable/pod" UID, &w), 0);
	assert_true(pw_workload_pod_names(pods, &w));
	assert_null(w.container);
	assert_string_equal(w.pod_name, "web-7d9f");
	pw_workload_clear(&w);
	assert_int_equal(pw_workload_parse("/kubepods/pod99999999-2222-3333-4444-555555555555/" CID, &w), 0);
	assert_false(pw_workload_pod_names(pods, &w));
	assert_null(w.pod_name);
	pw_workload_clear(&w);
	assert_int_equal(pw_workload_parse("/system.slice/a.service", &w), 0);
	assert_false(pw_workload_pod_names(pods, &w));
	pw_workload_clear(&w);

	snprintf(p, sizeof(p), "rm -rf %s", tmp);
	assert_int_equal(system(p), 0);
}

static void test_mountinfo(void **state)
{
	char path[] = "/tmp/pw-test-mi.XXXXXX", dst[256];
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	(void)state;
	fputs("25 30 0:23 / /sys rw,nosuid - sysfs sysfs rw\n"
	      "33 25 0:28 / /sys/fs/cgroup ro shared:9 - tmpfs tmpfs ro,mode=755\n"
	      "34 33 0:29 / /sys/fs/cgroup/unified\\040x rw shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
	      "35 33 0:30 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n", f);
	fclose(f);
	assert_true(pw_cgroup2_mount(path, dst, sizeof(dst)));
	assert_string_equal(dst, "/sys/fs/cgroup/unified x");
	/* mounted over: the last one is what the path shows */
	f = fopen(path, "a");
	fputs("36 25 0:31 / /host/cgroup rw - cgroup2 cgroup2 rw\n", f);
	fclose(f);
	assert_true(pw_cgroup2_mount(path, dst, sizeof(dst)));
	assert_string_equal(dst, "/host/cgroup");
	assert_false(pw_cgroup2_mount(path, dst, 8));	/* does not fit: no partial path */
	f = fopen(path, "w");
	fputs("25 30 0:23 / /sys rw,nosuid - sysfs sysfs rw\n", f);
	fclose(f);
	assert_false(pw_cgroup2_mount(path, dst, sizeof(dst)));
	unlink(path);
}

/* The resolver on this host's hierarchy: the root resolves to "/", a
 * missing id to an entry of nulls, the budget and the cap hold. */
static void test_resolver_bounds(void **state)
{
	struct pw_workloads *ws = pw_workloads_new(NULL, 4, 3);
	struct pw_workloads_stats st;
	const struct pw_workload *w;

	(void)state;
	if (!ws) {
		print_message("  no cgroup2 mount here: resolver not tested\n");
		skip();
	}
	w = pw_workloads_get(ws, 1, 0);
	assert_non_null(w);
	if (w->cgroup)	/* needs CAP_DAC_READ_SEARCH or a readable hierarchy */
		assert_string_equal(w->cgroup, "/");
	/* ids that do not exist: resolved once each, within 3 per second */
	assert_non_null(pw_workloads_get(ws, 0xfffffffff1ull, 0));
	assert_null(pw_workloads_get(ws, 0xfffffffff1ull, 0)->cgroup);
	assert_non_null(pw_workloads_get(ws, 0xfffffffff2ull, 0));
	assert_null(pw_workloads_get(ws, 0xfffffffff3ull, 0));	/* budget spent */
	pw_workloads_stats(ws, &st);
	assert_int_equal(st.resolved, 3);
	assert_int_equal(st.over_budget, 1);
	assert_null(pw_workloads_peek(ws, 0xfffffffff3ull));	/* not cached */
	/* the next second: more; the 5th entry restarts the cache of 4 */
	assert_non_null(pw_workloads_get(ws, 0xfffffffff3ull, 1000000000));
	assert_non_null(pw_workloads_get(ws, 0xfffffffff4ull, 1000000000));
	assert_non_null(pw_workloads_get(ws, 0xfffffffff5ull, 1000000000));
	pw_workloads_stats(ws, &st);
	assert_int_equal(st.restarts, 1);
	assert_null(pw_workloads_peek(ws, 0xfffffffff1ull));
	assert_non_null(pw_workloads_peek(ws, 0xfffffffff5ull));
	pw_workloads_free(ws);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_shapes),
		cmocka_unit_test(test_pod_names),
		cmocka_unit_test(test_mountinfo),
		cmocka_unit_test(test_resolver_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
