// SPDX-License-Identifier: GPL-2.0
/* The running kernel's preemption model (preempt.h). */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <zlib.h>

#include "kernel.h"
#include "preempt.h"

static const char *const names[] = {
	[PW_PREEMPT_UNKNOWN] = "unknown",
	[PW_PREEMPT_NONE] = "none",
	[PW_PREEMPT_VOLUNTARY] = "voluntary",
	[PW_PREEMPT_FULL] = "full",
	[PW_PREEMPT_LAZY] = "lazy",
	[PW_PREEMPT_RT] = "rt",
	[PW_PREEMPT_NONE_OR_VOLUNTARY] = "none_or_voluntary",
};

const char *pw_preempt_name(int model)
{
	if (model < 0 || model > PW_PREEMPT_NONE_OR_VOLUNTARY)
		return names[PW_PREEMPT_UNKNOWN];
	return names[model];
}

static int model_of(const char *s, size_t n)
{
	for (int m = PW_PREEMPT_NONE; m <= PW_PREEMPT_LAZY; m++)
		if (strlen(names[m]) == n && !strncmp(s, names[m], n))
			return m;
	return PW_PREEMPT_UNKNOWN;
}

int pw_preempt_parse_debugfs(const char *text)
{
	const char *o = strchr(text, '('), *c;

	if (!o || !(c = strchr(o, ')')))
		return PW_PREEMPT_UNKNOWN;
	return model_of(o + 1, c - o - 1);
}

int pw_preempt_parse_cmdline(const char *cmdline)
{
	int model = PW_PREEMPT_UNKNOWN;

	for (const char *p = cmdline; (p = strstr(p, "preempt=")); p += 8) {
		if (p != cmdline && p[-1] != ' ')
			continue;
		model = model_of(p + 8, strcspn(p + 8, " \n\t"));
	}
	return model;
}

int pw_preempt_parse_config_line(const char *line, bool *dynamic)
{
	static const struct { const char *opt; int model; } opts[] = {
		{ "CONFIG_PREEMPT_RT=y", PW_PREEMPT_RT },
		{ "CONFIG_PREEMPT_LAZY=y", PW_PREEMPT_LAZY },
		{ "CONFIG_PREEMPT=y", PW_PREEMPT_FULL },
		{ "CONFIG_PREEMPT_VOLUNTARY=y", PW_PREEMPT_VOLUNTARY },
		{ "CONFIG_PREEMPT_NONE=y", PW_PREEMPT_NONE },
	};

	if (!strncmp(line, "CONFIG_PREEMPT_DYNAMIC=y", 24) && strchr("\n", line[24]))
		*dynamic = true;
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		size_t n = strlen(opts[i].opt);

		if (!strncmp(line, opts[i].opt, n) && strchr("\n", line[n]))
			return opts[i].model;
	}
	return PW_PREEMPT_UNKNOWN;
}

int pw_preempt_parse_uname_version(const char *version)
{
	static const struct { const char *word; int model; } words[] = {
		{ "PREEMPT_RT", PW_PREEMPT_RT },
		{ "PREEMPT_LAZY", PW_PREEMPT_LAZY },
		{ "PREEMPT", PW_PREEMPT_FULL },
	};
	const char *p = version;

	if (!*version)
		return PW_PREEMPT_UNKNOWN;
	if (strstr(version, "PREEMPT_DYNAMIC"))
		return PW_PREEMPT_UNKNOWN;
	while (*p) {
		size_t n;

		p += strspn(p, " ");
		n = strcspn(p, " ");
		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (n == strlen(words[i].word) && !strncmp(p, words[i].word, n))
				return words[i].model;
		p += n;
	}
	return PW_PREEMPT_NONE_OR_VOLUNTARY;
}

bool pw_preempt_only_full_lazy(int major, const char *machine)
{
	static const char *const arches[] = { "x86_64", "aarch64", "ppc64", "ppc64le",
					      "riscv64", "s390x", "loongarch64" };

	if (major < 7)
		return false;
	for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]); i++)
		if (!strcmp(machine, arches[i]))
			return true;
	return false;
}

/* The model a kernel config selects (the highest of the lines that say
 * one: RT over LAZY over PREEMPT...), UNKNOWN if the file is unreadable. */
static int config_model(const char *path, bool gz, bool *dynamic)
{
	char line[256];
	int model = PW_PREEMPT_UNKNOWN, m;

	if (gz) {
		gzFile f = gzopen(path, "rb");

		if (!f)
			return PW_PREEMPT_UNKNOWN;
		while (gzgets(f, line, sizeof(line)))
			if ((m = pw_preempt_parse_config_line(line, dynamic)) > model)
				model = m;
		gzclose(f);
	} else {
		FILE *f = fopen(path, "re");

		if (!f)
			return PW_PREEMPT_UNKNOWN;
		while (fgets(line, sizeof(line), f))
			if ((m = pw_preempt_parse_config_line(line, dynamic)) > model)
				model = m;
		fclose(f);
	}
	return model;
}

static void set(struct pw_preempt *p, int model, const char *source)
{
	p->model = model;
	p->preemptible = model != PW_PREEMPT_NONE && model != PW_PREEMPT_VOLUNTARY &&
			 model != PW_PREEMPT_NONE_OR_VOLUNTARY;
	snprintf(p->source, sizeof(p->source), "%.159s", source);
}

void pw_preempt_detect(struct pw_preempt *p)
{
	char buf[512], path[160];
	struct utsname u;
	int maj = 0, min, pat, model, cmd = PW_PREEMPT_UNKNOWN;
	bool dynamic = false;
	FILE *f;

	f = fopen("/sys/kernel/debug/sched/preempt", "re");
	if (f) {
		model = fgets(buf, sizeof(buf), f) ? pw_preempt_parse_debugfs(buf) : PW_PREEMPT_UNKNOWN;
		fclose(f);
		if (model != PW_PREEMPT_UNKNOWN)
			return set(p, model, "/sys/kernel/debug/sched/preempt");
	}
	if (uname(&u))
		u.machine[0] = u.release[0] = u.version[0] = 0;
	model = pw_preempt_parse_uname_version(u.version);
	if (model != PW_PREEMPT_UNKNOWN)
		return set(p, model, "uname -v");
	if (pw_kernel_version(&maj, &min, &pat) && pw_preempt_only_full_lazy(maj, u.machine)) {
		snprintf(path, sizeof(path), "kernel %d.x on %s: only full and lazy", maj, u.machine);
		return set(p, PW_PREEMPT_LAZY, path);
	}
	f = fopen("/proc/cmdline", "re");
	if (f) {
		if (fgets(buf, sizeof(buf), f))
			cmd = pw_preempt_parse_cmdline(buf);
		fclose(f);
	}
	snprintf(path, sizeof(path), "/boot/config-%s", u.release);
	model = config_model(path, false, &dynamic);
	if (model == PW_PREEMPT_UNKNOWN)
		model = config_model("/proc/config.gz", true, &dynamic);
	if (cmd != PW_PREEMPT_UNKNOWN && dynamic)
		return set(p, cmd, "/proc/cmdline preempt= (PREEMPT_DYNAMIC)");
	if (model != PW_PREEMPT_UNKNOWN)
		return set(p, model, "the kernel config");
	set(p, PW_PREEMPT_UNKNOWN, "not readable: no debugfs, kernel config or preempt=");
}
