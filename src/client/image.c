#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "client-private.h"

/* Byte offsets of each channel in a little-endian pixel; -1: no alpha. */
struct format_info {
	uint32_t format;
	const char *name;
	int bpp;
	int r, g, b, a;
};

static const struct format_info formats[] = {
	{ WL_SHM_FORMAT_ARGB8888, "argb8888", 4, 2, 1, 0, 3 },
	{ WL_SHM_FORMAT_XRGB8888, "xrgb8888", 4, 2, 1, 0, -1 },
	{ WL_SHM_FORMAT_ABGR8888, "abgr8888", 4, 0, 1, 2, 3 },
	{ WL_SHM_FORMAT_XBGR8888, "xbgr8888", 4, 0, 1, 2, -1 },
	{ WL_SHM_FORMAT_RGBA8888, "rgba8888", 4, 3, 2, 1, 0 },
	{ WL_SHM_FORMAT_RGBX8888, "rgbx8888", 4, 3, 2, 1, -1 },
	{ WL_SHM_FORMAT_BGRA8888, "bgra8888", 4, 1, 2, 3, 0 },
	{ WL_SHM_FORMAT_BGRX8888, "bgrx8888", 4, 1, 2, 3, -1 },
	{ WL_SHM_FORMAT_RGB888, "rgb888", 3, 2, 1, 0, -1 },
	{ WL_SHM_FORMAT_BGR888, "bgr888", 3, 0, 1, 2, -1 },
};

static const struct format_info *find_format(uint32_t format) {
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (formats[i].format == format) {
			return &formats[i];
		}
	}
	return NULL;
}

const char *zcc_format_name(uint32_t format) {
	const struct format_info *info = find_format(format);
	return info != NULL ? info->name : NULL;
}

bool zcc_format_from_name(const char *name, uint32_t *format) {
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (strcasecmp(formats[i].name, name) == 0) {
			*format = formats[i].format;
			return true;
		}
	}
	return false;
}

int zcc_format_bytes_per_pixel(uint32_t format) {
	const struct format_info *info = find_format(format);
	return info != NULL ? info->bpp : 0;
}

bool zcc_format_has_alpha(uint32_t format) {
	const struct format_info *info = find_format(format);
	return info != NULL && info->a >= 0;
}

struct zcc_image zcc_buffer_image(const struct zcc_buffer *buffer) {
	return (struct zcc_image){
		.data = buffer->data,
		.format = buffer->format,
		.width = buffer->width,
		.height = buffer->height,
		.stride = buffer->stride,
	};
}

static bool image_valid(const struct zcc_image *image, const struct format_info *info) {
	return info != NULL && image->data != NULL && image->width > 0 && image->height > 0
		&& image->stride >= image->width * info->bpp;
}

bool zcc_image_pixel(const struct zcc_image *image, int32_t x, int32_t y, uint32_t *argb) {
	const struct format_info *info = find_format(image->format);
	if (!image_valid(image, info) || x < 0 || y < 0 || x >= image->width
			|| y >= image->height) {
		return false;
	}
	const uint8_t *p = (const uint8_t *)image->data + (size_t)y * image->stride
		+ (size_t)x * info->bpp;
	uint32_t a = info->a >= 0 ? p[info->a] : 0xff;
	*argb = a << 24 | (uint32_t)p[info->r] << 16 | (uint32_t)p[info->g] << 8 | p[info->b];
	return true;
}

/* Converts one row to 8-bit RGB (channels 3) or RGBA (channels 4). */
static void convert_row(const struct zcc_image *image, const struct format_info *info,
		int32_t y, uint8_t *out, int channels) {
	const uint8_t *row = (const uint8_t *)image->data + (size_t)y * image->stride;
	for (int32_t x = 0; x < image->width; x++) {
		const uint8_t *p = row + (size_t)x * info->bpp;
		uint8_t *o = out + (size_t)x * channels;
		o[0] = p[info->r];
		o[1] = p[info->g];
		o[2] = p[info->b];
		if (channels == 4) {
			o[3] = info->a >= 0 ? p[info->a] : 0xff;
		}
	}
}

bool zcc_image_write_png(const struct zcc_image *image, FILE *out) {
	const struct format_info *info = find_format(image->format);
	if (!image_valid(image, info)) {
		fprintf(stderr, "zcclient: cannot write format 0x%08x as PNG\n", image->format);
		return false;
	}
	int channels = info->a >= 0 ? 4 : 3;
	uint8_t *row = malloc((size_t)image->width * channels);
	if (row == NULL) {
		return false;
	}
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info_ptr = png != NULL ? png_create_info_struct(png) : NULL;
	if (info_ptr == NULL) {
		png_destroy_write_struct(&png, NULL);
		free(row);
		return false;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info_ptr);
		free(row);
		return false;
	}
	png_init_io(png, out);
	png_set_IHDR(png, info_ptr, (png_uint_32)image->width, (png_uint_32)image->height, 8,
		channels == 4 ? PNG_COLOR_TYPE_RGBA : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	/* Screenshots are large: favour speed over size. */
	png_set_compression_level(png, 1);
	png_write_info(png, info_ptr);
	for (int32_t y = 0; y < image->height; y++) {
		convert_row(image, info, y, row, channels);
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info_ptr);
	free(row);
	return fflush(out) == 0 && !ferror(out);
}

bool zcc_image_write_ppm(const struct zcc_image *image, FILE *out) {
	const struct format_info *info = find_format(image->format);
	if (!image_valid(image, info)) {
		fprintf(stderr, "zcclient: cannot write format 0x%08x as PPM\n", image->format);
		return false;
	}
	uint8_t *row = malloc((size_t)image->width * 3);
	if (row == NULL) {
		return false;
	}
	fprintf(out, "P6\n%d %d\n255\n", image->width, image->height);
	for (int32_t y = 0; y < image->height; y++) {
		convert_row(image, info, y, row, 3);
		if (fwrite(row, 3, (size_t)image->width, out) != (size_t)image->width) {
			free(row);
			return false;
		}
	}
	free(row);
	return fflush(out) == 0 && !ferror(out);
}

static bool has_suffix(const char *s, const char *suffix) {
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

bool zcc_image_save(const struct zcc_image *image, const char *path) {
	if (strcmp(path, "-") == 0) {
		return zcc_image_write_png(image, stdout);
	}
	FILE *f = fopen(path, "wb");
	if (f == NULL) {
		perror(path);
		return false;
	}
	bool ok = has_suffix(path, ".ppm") ? zcc_image_write_ppm(image, f)
		: zcc_image_write_png(image, f);
	if (fclose(f) != 0) {
		ok = false;
	}
	return ok;
}
