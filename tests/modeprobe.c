// SPDX-License-Identifier: GPL-2.0
/* modeprobe fentry|kprobe|tracepoint: exit 0 if the kernel loads and
 * attaches the smallest program of that mode's attach type on the function
 * or tracepoint portwatch uses (tests/modeprobe.bpf.c), else exit 1 with
 * one line saying what the kernel answered. The tests decide from this,
 * never from portwatch's own output, whether a mode can run here. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l; (void)f; (void)ap;
	return 0;
}

int main(int argc, char **argv)
{
	char obj_path[4096], name[64];
	struct bpf_object *obj;
	struct bpf_program *p, *want = NULL;
	struct bpf_link *link;
	const char *slash;
	int err;

	if (argc != 2 || (strcmp(argv[1], "fentry") && strcmp(argv[1], "kprobe") &&
			  strcmp(argv[1], "tracepoint"))) {
		fprintf(stderr, "usage: modeprobe fentry|kprobe|tracepoint\n");
		return 2;
	}
	libbpf_set_print(quiet);
	/* the object lies beside the binary */
	slash = strrchr(argv[0], '/');
	snprintf(obj_path, sizeof(obj_path), "%.*smodeprobe.bpf.o",
		 slash ? (int)(slash - argv[0] + 1) : 0, argv[0]);
	snprintf(name, sizeof(name), "probe_%s", argv[1]);
	obj = bpf_object__open_file(obj_path, NULL);
	if (!obj) {
		fprintf(stderr, "modeprobe: cannot open %s: %s\n", obj_path, strerror(errno));
		return 2;
	}
	bpf_object__for_each_program(p, obj) {
		if (!strcmp(bpf_program__name(p), name))
			want = p;
		else
			bpf_program__set_autoload(p, false);
	}
	err = bpf_object__load(obj);
	if (err) {
		printf("the kernel refused to load a %s program: %s\n", argv[1], strerror(-err));
		bpf_object__close(obj);
		return 1;
	}
	link = bpf_program__attach(want);
	if (!link) {
		err = -errno;
		printf("the kernel refused to attach a %s program: %s\n", argv[1], strerror(-err));
		bpf_object__close(obj);
		return 1;
	}
	bpf_link__destroy(link);
	bpf_object__close(obj);
	printf("%s: loads and attaches\n", argv[1]);
	return 0;
}
