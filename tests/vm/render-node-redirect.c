/*
 * LD_PRELOAD shim for the vgem test VM. wlroots 0.15 insists on a DRM render
 * node, but Mesa's kms_swrast (what vgem gets) needs dumb buffers, which the
 * kernel only creates on primary nodes. Opening /dev/dri/renderDN therefore
 * opens the primary node of the same device instead; everything else, device
 * enumeration included, is left alone.
 */
#undef _FORTIFY_SOURCE
#undef _FILE_OFFSET_BITS
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODE_PATH_SIZE 300

typedef int (*open_fn)(const char *path, int flags, ...);
typedef int (*openat_fn)(int dirfd, const char *path, int flags, ...);

static open_fn real_open, real_open64;
static openat_fn real_openat, real_openat64;

__attribute__((constructor)) static void resolve_real_functions(void)
{
	if (real_open)
		return;
	real_open = (open_fn)dlsym(RTLD_NEXT, "open");
	real_open64 = (open_fn)dlsym(RTLD_NEXT, "open64");
	real_openat = (openat_fn)dlsym(RTLD_NEXT, "openat");
	real_openat64 = (openat_fn)dlsym(RTLD_NEXT, "openat64");
}

/* Whether name is prefix followed by a decimal number. */
static bool is_numbered(const char *name, const char *prefix)
{
	size_t len = strlen(prefix);
	if (strncmp(name, prefix, len) != 0 || name[len] == '\0')
		return false;
	return strspn(name + len, "0123456789") == strlen(name + len);
}

/* The primary node that shares a parent device with the render node. */
static bool find_primary_node(const char *render_name, char *out, size_t size)
{
	char dir_path[NODE_PATH_SIZE];
	snprintf(dir_path, sizeof(dir_path), "/sys/class/drm/%s/device/drm",
		render_name);
	DIR *dir = opendir(dir_path);
	if (dir) {
		struct dirent *entry;
		bool found = false;
		while (!found && (entry = readdir(dir))) {
			if (is_numbered(entry->d_name, "card")) {
				snprintf(out, size, "/dev/dri/%s", entry->d_name);
				found = true;
			}
		}
		closedir(dir);
		if (found)
			return true;
	}
	/* Without sysfs, assume the usual numbering: renderD128 + n is cardn. */
	long minor = strtol(render_name + strlen("renderD"), NULL, 10);
	if (minor < 128)
		return false;
	snprintf(out, size, "/dev/dri/card%ld", minor - 128);
	return true;
}

static const char *redirect(const char *path, char *buf, size_t size)
{
	static const char dri_dir[] = "/dev/dri/";
	if (!path || strncmp(path, dri_dir, sizeof(dri_dir) - 1) != 0)
		return path;
	const char *name = path + sizeof(dri_dir) - 1;
	if (!is_numbered(name, "renderD") || !find_primary_node(name, buf, size))
		return path;
	if (getenv("ZC_RENDER_NODE_REDIRECT_DEBUG"))
		fprintf(stderr, "render-node-redirect: %s -> %s\n", path, buf);
	return buf;
}

static bool takes_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define MODE_ARG(flags, mode) \
	do { \
		resolve_real_functions(); \
		if (takes_mode(flags)) { \
			va_list args; \
			va_start(args, flags); \
			mode = va_arg(args, mode_t); \
			va_end(args); \
		} \
	} while (0)

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	char buf[NODE_PATH_SIZE];
	MODE_ARG(flags, mode);
	return real_open(redirect(path, buf, sizeof(buf)), flags, mode);
}

int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	char buf[NODE_PATH_SIZE];
	MODE_ARG(flags, mode);
	return real_open64(redirect(path, buf, sizeof(buf)), flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	char buf[NODE_PATH_SIZE];
	MODE_ARG(flags, mode);
	return real_openat(dirfd, redirect(path, buf, sizeof(buf)), flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	char buf[NODE_PATH_SIZE];
	MODE_ARG(flags, mode);
	return real_openat64(dirfd, redirect(path, buf, sizeof(buf)), flags, mode);
}

/* Entry points of _FORTIFY_SOURCE builds; they never create files. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

int __open_2(const char *path, int flags)
{
	return open(path, flags);
}

int __open64_2(const char *path, int flags)
{
	return open64(path, flags);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	return openat(dirfd, path, flags);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	return openat64(dirfd, path, flags);
}
