/* The unit tests' checks: counted, each failure printed with its line. */
#ifndef ZT_UNIT_CHECK_H
#define ZT_UNIT_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int passed, failed;

#define CHECK(cond, ...) check((cond), #cond, __LINE__, __VA_ARGS__)

static void check(bool ok, const char *expr, int line, const char *fmt, ...) {
	if (ok) {
		passed++;
		return;
	}
	failed++;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FAIL line %d (%s): ", line, expr);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

#endif
