// SPDX-License-Identifier: GPL-2.0
/* A libcurl client as services use it, and not named curl: N requests to
 * URL, each with an easy handle of its own (created, performed, cleaned
 * up: a new connection each time). Prints what it observed as one JSON
 * line, {"pid":P,"ok":N,"couldnt_connect":N,"other":N}, then, with a FIFO,
 * stays alive until something opens the FIFO for writing (the test lets it
 * go once portwatch has seen it), so that the process can be inspected.
 *   fetcher URL N [FIFO] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <curl/curl.h>

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

int main(int argc, char **argv)
{
	unsigned long n, ok = 0, cc = 0, other = 0;
	int fd;

	if (argc < 3 || !(n = strtoul(argv[2], NULL, 10))) {
		fprintf(stderr, "usage: fetcher URL N [FIFO]\n");
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return 1;
	for (unsigned long i = 0; i < n; i++) {
		CURL *h = curl_easy_init();
		CURLcode rc;

		if (!h)
			return 1;
		curl_easy_setopt(h, CURLOPT_URL, argv[1]);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
		rc = curl_easy_perform(h);
		if (rc == CURLE_OK)
			ok++;
		else if (rc == CURLE_COULDNT_CONNECT)
			cc++;
		else
			other++;
		curl_easy_cleanup(h);	/* the connection goes with it */
	}
	printf("{\"pid\":%d,\"ok\":%lu,\"couldnt_connect\":%lu,\"other\":%lu}\n", (int)getpid(), ok,
	       cc, other);
	fflush(stdout);
	if (argc > 3 && (fd = open(argv[3], O_RDONLY)) >= 0)
		close(fd);
	curl_global_cleanup();
	return 0;
}
