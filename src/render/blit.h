/*
 * The capture draw in plain GLES2: no wlroots, no EGL. The library's GPU
 * engine (gles2.c) and the standalone engine benchmark (bench/) both draw
 * through this, with the shaders from shaders/.
 */
#ifndef ZC_RENDER_BLIT_H
#define ZC_RENDER_BLIT_H

#include <GLES2/gl2.h>
#include <stdbool.h>
#include <stddef.h>

struct zc_blit_shader {
	GLuint program;
	GLint pos, dst_size, src_map, src, cursor, cursor_map;
};

/* The copy, the copy with the cursor laid over it (drawn only where the
 * cursor is), and the copy of a source without alpha (drawn opaque). */
struct zc_blit_program {
	struct zc_blit_shader copy, over, opaque; /* copy.program is 0 until initialised */
};

struct zc_blit_image {
	GLenum target; /* GL_TEXTURE_2D or GL_TEXTURE_EXTERNAL_OES */
	GLuint tex;
	int width, height;
};

struct zc_blit_box {
	int x1, y1, x2, y2;
};

struct zc_blit {
	struct zc_blit_image src;
	/* wl_output_transform applied to src; then the part at area_x, area_y
	 * of the transformed image lands at the destination's origin. */
	int transform;
	int area_x, area_y;
	int dst_width, dst_height;
	/* Destination pixels to write, rows counted from the first in memory. */
	const struct zc_blit_box *boxes;
	int n_boxes;
	/* Laid over the copy when not NULL (premultiplied alpha). */
	const struct zc_blit_image *cursor;
	int cursor_transform;
	int cursor_x, cursor_y;
};

/* One texture of a composite, blended over what is under it. */
struct zc_blit_layer {
	struct zc_blit_image image; /* premultiplied alpha */
	bool opaque; /* the image has no alpha channel */
	bool linear; /* bilinear filtering (a scaled layer), else nearest */
	struct zc_blit_box box; /* where it lands, destination pixels */
	double map[6]; /* destination pixels -> image pixels (zc_transform_layer_map) */
};

struct zc_blit_composite {
	int dst_width, dst_height;
	/* Destination pixels to write, as for zc_blit: cleared to transparent,
	 * then the layers are drawn over them in order. */
	const struct zc_blit_box *boxes;
	int n_boxes;
	const struct zc_blit_layer *layers;
	int n_layers;
};

/*
 * Derived images (zerocap-capture-options-v1): one draw per layer and plane,
 * sampling through zc_convert's filter (see render/convert.h).
 */
struct zc_convert_shader {
	GLuint program;
	GLint pos, dst_size, plane_map, src, layer_map, layer_box, tap;
	GLint k0, k1, off, max_code, code_unit;
};

/* Built on first use: index bit 0 external source, bit 1 opaque, bit 2 YCbCr. */
struct zc_convert_programs {
	struct zc_convert_shader variant[8];
	bool failed[8];
};

struct zc_convert_layer {
	struct zc_blit_image image; /* premultiplied alpha */
	bool opaque;
	double box[4]; /* x1, y1, x2, y2 in the parent's image pixels */
	double map[6]; /* parent image pixels -> image pixels */
};

struct zc_convert_plane {
	int width, height;
	double map[4]; /* plane pixel -> parent pixel, as zc_convert_plane_map */
	double tap[2]; /* tap offsets, parent pixels */
	bool yuv;
	/* YCbCr: code rows of the two written channels (Y alone: k1 zero). */
	float k0[3], k1[3], off[2], max_code, code_unit;
	float clear[4]; /* the background, written first */
	const struct zc_blit_box *boxes; /* plane pixels to write */
	int n_boxes;
};

/* Draws the layers into the bound framebuffer (one plane). */
bool zc_blit_convert(struct zc_convert_programs *programs, const struct zc_convert_plane *plane,
	const struct zc_convert_layer *layers, int n_layers);
void zc_convert_programs_finish(struct zc_convert_programs *programs);

/* With a current context. external: the samplerExternalOES variant. On
 * failure the GL log is copied to error. */
bool zc_blit_program_init(struct zc_blit_program *prog, bool external, char *error,
	size_t error_size);
void zc_blit_program_finish(struct zc_blit_program *prog);
/* Draws into the bound framebuffer: one draw call, and a second over the
 * boxes' part under the cursor when there is one. */
bool zc_blit_draw(const struct zc_blit_program *prog, const struct zc_blit *blit);
/* Draws the composite into the bound framebuffer: external holds the
 * programs for GL_TEXTURE_EXTERNAL_OES layers (0 programs: those fail). */
bool zc_blit_composite(const struct zc_blit_program *plain,
	const struct zc_blit_program *external, const struct zc_blit_composite *composite);

#endif
