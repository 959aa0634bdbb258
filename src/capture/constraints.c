/* Constraint batches: copies, comparison, and whether a client buffer fits one. */
#include <drm_fourcc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "capture/capture.h"

void zc_constraints_finish(struct zc_constraints *constraints) {
	for (size_t i = 0; i < constraints->n_dmabuf_formats; i++) {
		free(constraints->dmabuf_formats[i].modifiers);
	}
	free(constraints->dmabuf_formats);
	free(constraints->shm_formats);
	memset(constraints, 0, sizeof(*constraints));
}

static void *dup_array(const void *data, size_t n, size_t size) {
	if (n == 0) {
		return NULL;
	}
	void *copy = calloc(n, size);
	if (copy != NULL) {
		memcpy(copy, data, n * size);
	}
	return copy;
}

bool zc_constraints_copy(struct zc_constraints *dst, const struct zc_constraints *src) {
	*dst = *src;
	dst->shm_formats = dup_array(src->shm_formats, src->n_shm_formats,
		sizeof(*src->shm_formats));
	dst->dmabuf_formats = dup_array(src->dmabuf_formats, src->n_dmabuf_formats,
		sizeof(*src->dmabuf_formats));
	bool ok = (dst->shm_formats != NULL || src->n_shm_formats == 0) &&
		(dst->dmabuf_formats != NULL || src->n_dmabuf_formats == 0);
	for (size_t i = 0; ok && i < dst->n_dmabuf_formats; i++) {
		const struct zc_dmabuf_format *fmt = &src->dmabuf_formats[i];
		dst->dmabuf_formats[i].modifiers = dup_array(fmt->modifiers,
			fmt->n_modifiers, sizeof(*fmt->modifiers));
		ok = dst->dmabuf_formats[i].modifiers != NULL || fmt->n_modifiers == 0;
	}
	if (!ok) {
		if (dst->dmabuf_formats == NULL) {
			dst->n_dmabuf_formats = 0;
		}
		zc_constraints_finish(dst);
	}
	return ok;
}

bool zc_constraints_equal(const struct zc_constraints *a, const struct zc_constraints *b) {
	if (a->width != b->width || a->height != b->height ||
			a->n_shm_formats != b->n_shm_formats ||
			a->has_dmabuf != b->has_dmabuf ||
			(a->has_dmabuf && a->dmabuf_device != b->dmabuf_device) ||
			a->n_dmabuf_formats != b->n_dmabuf_formats) {
		return false;
	}
	if (a->n_shm_formats > 0 && memcmp(a->shm_formats, b->shm_formats,
			a->n_shm_formats * sizeof(*a->shm_formats)) != 0) {
		return false;
	}
	for (size_t i = 0; i < a->n_dmabuf_formats; i++) {
		const struct zc_dmabuf_format *fa = &a->dmabuf_formats[i];
		const struct zc_dmabuf_format *fb = &b->dmabuf_formats[i];
		if (fa->format != fb->format || fa->n_modifiers != fb->n_modifiers ||
				(fa->n_modifiers > 0 && memcmp(fa->modifiers, fb->modifiers,
					fa->n_modifiers * sizeof(*fa->modifiers)) != 0)) {
			return false;
		}
	}
	return true;
}

bool zc_constraints_check(const struct zc_constraints *constraints,
		const struct zc_buffer_info *info, char *why, size_t why_size) {
	if (info->width != constraints->width || info->height != constraints->height) {
		snprintf(why, why_size, "buffer size %ux%u, the session wants %ux%u",
			info->width, info->height, constraints->width, constraints->height);
		return false;
	}
	if (info->type == ZC_BUFFER_SHM) {
		/* YCbCr: the luma row; 32-bit RGB otherwise. */
		int bpp = info->format == DRM_FORMAT_NV12 ? 1 : info->format == DRM_FORMAT_P010 ? 2 : 4;
		if (info->stride < (int32_t)info->width * bpp) {
			snprintf(why, why_size, "shm stride %d is shorter than a row", info->stride);
			return false;
		}
		for (size_t i = 0; i < constraints->n_shm_formats; i++) {
			if (constraints->shm_formats[i] == info->format) {
				return true;
			}
		}
		snprintf(why, why_size, "shm format 0x%08x is not advertised", info->format);
		return false;
	}
	if (!constraints->has_dmabuf) {
		snprintf(why, why_size, "dma-buf buffers are not offered");
		return false;
	}
	bool format_found = false;
	for (size_t i = 0; i < constraints->n_dmabuf_formats; i++) {
		const struct zc_dmabuf_format *fmt = &constraints->dmabuf_formats[i];
		if (fmt->format != info->format) {
			continue;
		}
		format_found = true;
		for (size_t j = 0; j < fmt->n_modifiers; j++) {
			if (fmt->modifiers[j] == info->modifier) {
				return true;
			}
		}
	}
	if (!format_found) {
		snprintf(why, why_size, "dma-buf format 0x%08x is not advertised", info->format);
	} else {
		snprintf(why, why_size, "dma-buf modifier 0x%016llx is not advertised for format "
			"0x%08x", (unsigned long long)info->modifier, info->format);
	}
	return false;
}

bool zc_constraints_accept(const struct zc_constraints *constraints,
		const struct zc_buffer_info *info) {
	char why[128];
	return zc_constraints_check(constraints, info, why, sizeof(why));
}
