/*
 * Checks that the interfaces generated from our protocol XML match the upstream wire format:
 * interface names and versions, every request and event in opcode order with its name,
 * signature (including since-version prefix and nullability) and argument interfaces, and the
 * enum values and since-versions the implementation relies on.
 *
 * Expected values come from wayland-protocols 1.37 staging (ext-image-capture-source-v1,
 * ext-image-copy-capture-v1), wayland-protocols staging ext-foreign-toplevel-list-v1 and
 * wlr-protocols wlr-screencopy-unstable-v1 at version 3 (as vendored by wlroots 0.15.1).
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wayland-client.h>

#include "ext-foreign-toplevel-list-v1-client-protocol.h"
#include "ext-image-capture-source-v1-client-protocol.h"
#include "ext-image-copy-capture-v1-client-protocol.h"
#include "wlr-screencopy-unstable-v1-client-protocol.h"

#define MAX_ARGS 8

struct expected_message {
	const char *name;
	const char *signature;
	/* Interface name of each argument in order; NULL for arguments without one. */
	const char *types[MAX_ARGS];
};

struct expected_interface {
	const struct wl_interface *interface;
	const char *name;
	int version;
	const struct expected_message *requests;
	int request_count;
	const struct expected_message *events;
	int event_count;
};

#define MESSAGES(array) (array), (int)(sizeof(array) / sizeof((array)[0]))
#define NO_MESSAGES NULL, 0

static int passed = 0;
static int failed = 0;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...) {
	if (ok) {
		passed++;
		return;
	}
	failed++;
	va_list args;
	va_start(args, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, args);
	fprintf(stderr, "\n");
	va_end(args);
}

static void check_int(const char *what, const char *where, long actual, long expected) {
	if (actual == expected) {
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "FAIL: %s %s: got %ld, expected %ld\n", where, what, actual, expected);
}

static bool str_eq(const char *a, const char *b) {
	if (a == NULL || b == NULL) {
		return a == b;
	}
	return strcmp(a, b) == 0;
}

static const char *str_or_null(const char *s) {
	return s != NULL ? s : "(null)";
}

/* Number of arguments in a signature: skip the since-version digits and '?' markers. */
static int signature_arg_count(const char *signature) {
	int count = 0;
	for (const char *p = signature; *p != '\0'; p++) {
		if ((*p >= '0' && *p <= '9') || *p == '?') {
			continue;
		}
		count++;
	}
	return count;
}

static void check_message(const char *iface_name, const char *kind, int opcode,
		const struct wl_message *actual, const struct expected_message *expected) {
	char where[256];
	snprintf(where, sizeof(where), "%s %s #%d (%s)", iface_name, kind, opcode, expected->name);

	check(str_eq(actual->name, expected->name), "%s: name is '%s', expected '%s'", where,
		str_or_null(actual->name), expected->name);
	check(str_eq(actual->signature, expected->signature),
		"%s: signature is '%s', expected '%s'", where, str_or_null(actual->signature),
		expected->signature);
	if (actual->signature == NULL || !str_eq(actual->signature, expected->signature)) {
		return;
	}

	int nargs = signature_arg_count(expected->signature);
	if (nargs == 0) {
		return;
	}
	if (nargs > MAX_ARGS) {
		check(false, "%s: too many arguments for this test", where);
		return;
	}
	check(actual->types != NULL, "%s: types table is NULL", where);
	if (actual->types == NULL) {
		return;
	}
	for (int i = 0; i < nargs; i++) {
		const struct wl_interface *type = actual->types[i];
		const char *type_name = type != NULL ? type->name : NULL;
		char arg_where[300];
		snprintf(arg_where, sizeof(arg_where), "%s arg %d", where, i);
		check(str_eq(type_name, expected->types[i]), "%s: interface is '%s', expected '%s'",
			arg_where, str_or_null(type_name), str_or_null(expected->types[i]));
	}
}

static void check_interface(const struct expected_interface *exp) {
	const struct wl_interface *iface = exp->interface;

	check(str_eq(iface->name, exp->name), "interface name is '%s', expected '%s'",
		str_or_null(iface->name), exp->name);
	check_int("version", exp->name, iface->version, exp->version);
	check_int("method_count", exp->name, iface->method_count, exp->request_count);
	check_int("event_count", exp->name, iface->event_count, exp->event_count);

	if (iface->method_count == exp->request_count) {
		for (int i = 0; i < exp->request_count; i++) {
			check_message(exp->name, "request", i, &iface->methods[i], &exp->requests[i]);
		}
	}
	if (iface->event_count == exp->event_count) {
		for (int i = 0; i < exp->event_count; i++) {
			check_message(exp->name, "event", i, &iface->events[i], &exp->events[i]);
		}
	}
}

/* ext-image-capture-source-v1 */

static const struct expected_message source_requests[] = {
	{"destroy", "", {NULL}},
};

static const struct expected_message output_source_manager_requests[] = {
	{"create_source", "no", {"ext_image_capture_source_v1", "wl_output"}},
	{"destroy", "", {NULL}},
};

static const struct expected_message toplevel_source_manager_requests[] = {
	{"create_source", "no", {"ext_image_capture_source_v1", "ext_foreign_toplevel_handle_v1"}},
	{"destroy", "", {NULL}},
};

/* ext-image-copy-capture-v1 */

static const struct expected_message copy_manager_requests[] = {
	{"create_session", "nou",
		{"ext_image_copy_capture_session_v1", "ext_image_capture_source_v1", NULL}},
	{"create_pointer_cursor_session", "noo",
		{"ext_image_copy_capture_cursor_session_v1", "ext_image_capture_source_v1",
			"wl_pointer"}},
	{"destroy", "", {NULL}},
};

static const struct expected_message session_requests[] = {
	{"create_frame", "n", {"ext_image_copy_capture_frame_v1"}},
	{"destroy", "", {NULL}},
};

static const struct expected_message session_events[] = {
	{"buffer_size", "uu", {NULL}},
	{"shm_format", "u", {NULL}},
	{"dmabuf_device", "a", {NULL}},
	{"dmabuf_format", "ua", {NULL}},
	{"done", "", {NULL}},
	{"stopped", "", {NULL}},
};

static const struct expected_message frame_requests[] = {
	{"destroy", "", {NULL}},
	{"attach_buffer", "o", {"wl_buffer"}},
	{"damage_buffer", "iiii", {NULL}},
	{"capture", "", {NULL}},
};

static const struct expected_message frame_events[] = {
	{"transform", "u", {NULL}},
	{"damage", "iiii", {NULL}},
	{"presentation_time", "uuu", {NULL}},
	{"ready", "", {NULL}},
	{"failed", "u", {NULL}},
};

static const struct expected_message cursor_session_requests[] = {
	{"destroy", "", {NULL}},
	{"get_capture_session", "n", {"ext_image_copy_capture_session_v1"}},
};

static const struct expected_message cursor_session_events[] = {
	{"enter", "", {NULL}},
	{"leave", "", {NULL}},
	{"position", "ii", {NULL}},
	{"hotspot", "ii", {NULL}},
};

/* ext-foreign-toplevel-list-v1 */

static const struct expected_message toplevel_list_requests[] = {
	{"stop", "", {NULL}},
	{"destroy", "", {NULL}},
};

static const struct expected_message toplevel_list_events[] = {
	{"toplevel", "n", {"ext_foreign_toplevel_handle_v1"}},
	{"finished", "", {NULL}},
};

static const struct expected_message toplevel_handle_requests[] = {
	{"destroy", "", {NULL}},
};

static const struct expected_message toplevel_handle_events[] = {
	{"closed", "", {NULL}},
	{"done", "", {NULL}},
	{"title", "s", {NULL}},
	{"app_id", "s", {NULL}},
	{"identifier", "s", {NULL}},
};

/* wlr-screencopy-unstable-v1, version 3 */

static const struct expected_message screencopy_manager_requests[] = {
	{"capture_output", "nio", {"zwlr_screencopy_frame_v1", NULL, "wl_output"}},
	{"capture_output_region", "nioiiii", {"zwlr_screencopy_frame_v1", NULL, "wl_output"}},
	{"destroy", "", {NULL}},
};

static const struct expected_message screencopy_frame_requests[] = {
	{"copy", "o", {"wl_buffer"}},
	{"destroy", "", {NULL}},
	{"copy_with_damage", "2o", {"wl_buffer"}},
};

static const struct expected_message screencopy_frame_events[] = {
	{"buffer", "uuuu", {NULL}},
	{"flags", "u", {NULL}},
	{"ready", "uuu", {NULL}},
	{"failed", "", {NULL}},
	{"damage", "2uuuu", {NULL}},
	{"linux_dmabuf", "3uuu", {NULL}},
	{"buffer_done", "3", {NULL}},
};

static const struct expected_interface expected_interfaces[] = {
	{&ext_image_capture_source_v1_interface, "ext_image_capture_source_v1", 1,
		MESSAGES(source_requests), NO_MESSAGES},
	{&ext_output_image_capture_source_manager_v1_interface,
		"ext_output_image_capture_source_manager_v1", 1,
		MESSAGES(output_source_manager_requests), NO_MESSAGES},
	{&ext_foreign_toplevel_image_capture_source_manager_v1_interface,
		"ext_foreign_toplevel_image_capture_source_manager_v1", 1,
		MESSAGES(toplevel_source_manager_requests), NO_MESSAGES},
	{&ext_image_copy_capture_manager_v1_interface, "ext_image_copy_capture_manager_v1", 1,
		MESSAGES(copy_manager_requests), NO_MESSAGES},
	{&ext_image_copy_capture_session_v1_interface, "ext_image_copy_capture_session_v1", 1,
		MESSAGES(session_requests), MESSAGES(session_events)},
	{&ext_image_copy_capture_frame_v1_interface, "ext_image_copy_capture_frame_v1", 1,
		MESSAGES(frame_requests), MESSAGES(frame_events)},
	{&ext_image_copy_capture_cursor_session_v1_interface,
		"ext_image_copy_capture_cursor_session_v1", 1,
		MESSAGES(cursor_session_requests), MESSAGES(cursor_session_events)},
	{&ext_foreign_toplevel_list_v1_interface, "ext_foreign_toplevel_list_v1", 1,
		MESSAGES(toplevel_list_requests), MESSAGES(toplevel_list_events)},
	{&ext_foreign_toplevel_handle_v1_interface, "ext_foreign_toplevel_handle_v1", 1,
		MESSAGES(toplevel_handle_requests), MESSAGES(toplevel_handle_events)},
	{&zwlr_screencopy_manager_v1_interface, "zwlr_screencopy_manager_v1", 3,
		MESSAGES(screencopy_manager_requests), NO_MESSAGES},
	{&zwlr_screencopy_frame_v1_interface, "zwlr_screencopy_frame_v1", 3,
		MESSAGES(screencopy_frame_requests), MESSAGES(screencopy_frame_events)},
};

#define CHECK_CONST(name, expected) check_int("value", #name, (long)(name), (long)(expected))

static void check_constants(void) {
	CHECK_CONST(EXT_IMAGE_COPY_CAPTURE_MANAGER_V1_ERROR_INVALID_OPTION, 1);
	CHECK_CONST(EXT_IMAGE_COPY_CAPTURE_MANAGER_V1_OPTIONS_PAINT_CURSORS, 1);
	CHECK_CONST(EXT_IMAGE_COPY_CAPTURE_SESSION_V1_ERROR_DUPLICATE_FRAME, 1);
	CHECK_CONST(EXT_IMAGE_COPY_CAPTURE_FRAME_V1_ERROR_NO_BUFFER, 1);
	CHECK_CONST(EXT_IMAGE_COPY_CAPTURE_FRAME_V1_ERROR_INVALID_BUFFER_DAMAGE, 2);
	CHECK_CONST(EXT_IMAGE_COPY_CAPTURE_FRAME_V1_ERROR_ALREADY_CAPTURED, 3);
	CHECK_CONST(EXT_IMAGE_COPY_CAPTURE_FRAME_V1_FAILURE_REASON_UNKNOWN, 0);
	CHECK_CONST(EXT_IMAGE_COPY_CAPTURE_FRAME_V1_FAILURE_REASON_BUFFER_CONSTRAINTS, 1);
	CHECK_CONST(EXT_IMAGE_COPY_CAPTURE_FRAME_V1_FAILURE_REASON_STOPPED, 2);
	CHECK_CONST(EXT_IMAGE_COPY_CAPTURE_CURSOR_SESSION_V1_ERROR_DUPLICATE_SESSION, 1);

	CHECK_CONST(ZWLR_SCREENCOPY_FRAME_V1_ERROR_ALREADY_USED, 0);
	CHECK_CONST(ZWLR_SCREENCOPY_FRAME_V1_ERROR_INVALID_BUFFER, 1);
	CHECK_CONST(ZWLR_SCREENCOPY_FRAME_V1_FLAGS_Y_INVERT, 1);
	CHECK_CONST(ZWLR_SCREENCOPY_FRAME_V1_COPY_WITH_DAMAGE_SINCE_VERSION, 2);
	CHECK_CONST(ZWLR_SCREENCOPY_FRAME_V1_DAMAGE_SINCE_VERSION, 2);
	CHECK_CONST(ZWLR_SCREENCOPY_FRAME_V1_LINUX_DMABUF_SINCE_VERSION, 3);
	CHECK_CONST(ZWLR_SCREENCOPY_FRAME_V1_BUFFER_DONE_SINCE_VERSION, 3);
	CHECK_CONST(ZWLR_SCREENCOPY_MANAGER_V1_CAPTURE_OUTPUT_REGION_SINCE_VERSION, 1);

	/* Request opcodes as the client marshals them. */
	CHECK_CONST(EXT_IMAGE_COPY_CAPTURE_MANAGER_V1_CREATE_POINTER_CURSOR_SESSION, 1);
	CHECK_CONST(EXT_IMAGE_COPY_CAPTURE_FRAME_V1_CAPTURE, 3);
	CHECK_CONST(EXT_FOREIGN_TOPLEVEL_IMAGE_CAPTURE_SOURCE_MANAGER_V1_CREATE_SOURCE, 0);
	CHECK_CONST(ZWLR_SCREENCOPY_FRAME_V1_COPY_WITH_DAMAGE, 2);
}

int main(void) {
	size_t n = sizeof(expected_interfaces) / sizeof(expected_interfaces[0]);
	for (size_t i = 0; i < n; i++) {
		check_interface(&expected_interfaces[i]);
	}
	check_constants();

	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
