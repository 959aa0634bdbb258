#include <GLES2/gl2.h>
#include <GLES2/gl2ext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "render/blit.h"
#include "render/transform.h"
#include "shaders.h"

static GLuint compile_shader(GLenum type, const char *const *sources, const GLint *lengths,
		int n, char *error, size_t error_size) {
	GLuint shader = glCreateShader(type);
	glShaderSource(shader, n, sources, lengths);
	glCompileShader(shader);
	GLint ok = GL_FALSE;
	glGetShaderiv(shader, GL_COMPILE_STATUS, &ok);
	if (!ok) {
		glGetShaderInfoLog(shader, error_size, NULL, error);
		glDeleteShader(shader);
		return 0;
	}
	return shader;
}

static bool shader_init(struct zc_blit_shader *shader, bool external, bool cursor,
		bool opaque, char *error, size_t error_size) {
	snprintf(error, error_size, "shader program failed to link");
	/* The variant's defines go right after the #version line. */
	const char *frag = zc_shader_blit_frag;
	const char *body = strchr(frag, '\n') + 1;
	const char *frag_sources[] = {frag, external ? "#define ZC_EXTERNAL\n" : "",
		cursor ? "#define ZC_CURSOR\n" : "", opaque ? "#define ZC_OPAQUE\n" : "", body};
	const GLint frag_lengths[] = {body - frag, -1, -1, -1, -1};
	const char *vert_sources[] = {zc_shader_blit_vert};
	GLuint vert = compile_shader(GL_VERTEX_SHADER, vert_sources, NULL, 1, error, error_size);
	GLuint fragment = vert == 0 ? 0 : compile_shader(GL_FRAGMENT_SHADER, frag_sources,
		frag_lengths, 5, error, error_size);
	if (vert == 0 || fragment == 0) {
		glDeleteShader(vert);
		return false;
	}
	shader->program = glCreateProgram();
	glAttachShader(shader->program, vert);
	glAttachShader(shader->program, fragment);
	glLinkProgram(shader->program);
	glDetachShader(shader->program, vert);
	glDetachShader(shader->program, fragment);
	glDeleteShader(vert);
	glDeleteShader(fragment);
	GLint ok = GL_FALSE;
	glGetProgramiv(shader->program, GL_LINK_STATUS, &ok);
	if (!ok) {
		glGetProgramInfoLog(shader->program, error_size, NULL, error);
		glDeleteProgram(shader->program);
		shader->program = 0;
		return false;
	}
	shader->pos = glGetAttribLocation(shader->program, "pos");
	shader->dst_size = glGetUniformLocation(shader->program, "dst_size");
	shader->src_map = glGetUniformLocation(shader->program, "src_map");
	shader->src = glGetUniformLocation(shader->program, "src");
	shader->cursor = glGetUniformLocation(shader->program, "cursor");
	shader->cursor_map = glGetUniformLocation(shader->program, "cursor_map");
	return true;
}

bool zc_blit_program_init(struct zc_blit_program *prog, bool external, char *error,
		size_t error_size) {
	memset(prog, 0, sizeof(*prog));
	if (!shader_init(&prog->copy, external, false, false, error, error_size)) {
		return false;
	}
	if (!shader_init(&prog->over, external, true, false, error, error_size) ||
			!shader_init(&prog->opaque, external, false, true, error, error_size)) {
		glDeleteProgram(prog->copy.program);
		glDeleteProgram(prog->over.program);
		memset(prog, 0, sizeof(*prog));
		return false;
	}
	return true;
}

void zc_blit_program_finish(struct zc_blit_program *prog) {
	if (prog->copy.program != 0) {
		glDeleteProgram(prog->copy.program);
		glDeleteProgram(prog->over.program);
		glDeleteProgram(prog->opaque.program);
		memset(prog, 0, sizeof(*prog));
	}
}

/* Destination pixel -> normalised texture coordinate of an image drawn
 * with transform at (x, y); column-major for glUniformMatrix3fv. */
static void texture_map(GLfloat out[static 9], int transform, int width, int height,
		int x, int y) {
	int m[6];
	zc_transform_source_map(transform, width, height, m);
	float sx = 1.0f / width, sy = 1.0f / height;
	float tx = m[4] - m[0] * x - m[1] * y;
	float ty = m[5] - m[2] * x - m[3] * y;
	GLfloat columns[9] = {
		m[0] * sx, m[2] * sy, 0,
		m[1] * sx, m[3] * sy, 0,
		tx * sx, ty * sy, 1,
	};
	memcpy(out, columns, sizeof(columns));
}

static void bind_filtered(GLenum unit, const struct zc_blit_image *image, GLint filter) {
	glActiveTexture(unit);
	glBindTexture(image->target, image->tex);
	glTexParameteri(image->target, GL_TEXTURE_MIN_FILTER, filter);
	glTexParameteri(image->target, GL_TEXTURE_MAG_FILTER, filter);
	glTexParameteri(image->target, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
	glTexParameteri(image->target, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
}

static void bind_texture(GLenum unit, const struct zc_blit_image *image) {
	bind_filtered(unit, image, GL_NEAREST);
}

/* Two triangles per box, in destination pixels. */
static GLfloat *box_vertices(const struct zc_blit_box *boxes, int n) {
	GLfloat *verts = calloc((size_t)(n > 0 ? n : 1) * 12, sizeof(GLfloat));
	if (verts == NULL) {
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		const struct zc_blit_box *b = &boxes[i];
		GLfloat x1 = b->x1, y1 = b->y1, x2 = b->x2, y2 = b->y2;
		GLfloat quad[12] = {x1, y1, x2, y1, x1, y2, x1, y2, x2, y1, x2, y2};
		memcpy(&verts[i * 12], quad, sizeof(quad));
	}
	return verts;
}

static void draw_boxes(const struct zc_blit_shader *shader, const struct zc_blit *blit,
		const GLfloat *verts, int n) {
	glUseProgram(shader->program);
	GLfloat map[9];
	texture_map(map, blit->transform, blit->src.width, blit->src.height,
		-blit->area_x, -blit->area_y);
	glUniformMatrix3fv(shader->src_map, 1, GL_FALSE, map);
	glUniform2f(shader->dst_size, blit->dst_width, blit->dst_height);
	glUniform1i(shader->src, 0);
	if (shader->cursor >= 0) {
		texture_map(map, blit->cursor_transform, blit->cursor->width,
			blit->cursor->height, blit->cursor_x, blit->cursor_y);
		glUniformMatrix3fv(shader->cursor_map, 1, GL_FALSE, map);
		glUniform1i(shader->cursor, 1);
	}
	glVertexAttribPointer(shader->pos, 2, GL_FLOAT, GL_FALSE, 0, verts);
	glEnableVertexAttribArray(shader->pos);
	glDrawArrays(GL_TRIANGLES, 0, n * 6);
	glDisableVertexAttribArray(shader->pos);
}

/* The boxes' parts inside the cursor's rectangle (destination pixels). */
static int cursor_boxes(const struct zc_blit *blit, struct zc_blit_box **out) {
	int w = blit->cursor->width, h = blit->cursor->height;
	if (blit->cursor_transform % 2 == 1) {
		w = blit->cursor->height;
		h = blit->cursor->width;
	}
	struct zc_blit_box c = {blit->cursor_x, blit->cursor_y,
		blit->cursor_x + w, blit->cursor_y + h};
	*out = calloc((size_t)(blit->n_boxes > 0 ? blit->n_boxes : 1), sizeof(**out));
	if (*out == NULL) {
		return -1;
	}
	int n = 0;
	for (int i = 0; i < blit->n_boxes; i++) {
		const struct zc_blit_box *b = &blit->boxes[i];
		struct zc_blit_box r = {
			b->x1 > c.x1 ? b->x1 : c.x1, b->y1 > c.y1 ? b->y1 : c.y1,
			b->x2 < c.x2 ? b->x2 : c.x2, b->y2 < c.y2 ? b->y2 : c.y2,
		};
		if (r.x1 < r.x2 && r.y1 < r.y2) {
			(*out)[n++] = r;
		}
	}
	return n;
}

bool zc_blit_draw(const struct zc_blit_program *prog, const struct zc_blit *blit) {
	GLfloat *verts = box_vertices(blit->boxes, blit->n_boxes);
	if (verts == NULL) {
		return false;
	}
	glViewport(0, 0, blit->dst_width, blit->dst_height);
	glDisable(GL_BLEND);
	glDisable(GL_SCISSOR_TEST);
	bind_texture(GL_TEXTURE0, &blit->src);
	draw_boxes(&prog->copy, blit, verts, blit->n_boxes);
	free(verts);

	bool ok = true;
	if (blit->cursor != NULL) {
		struct zc_blit_box *boxes = NULL;
		int n = cursor_boxes(blit, &boxes);
		verts = n > 0 ? box_vertices(boxes, n) : NULL;
		ok = n >= 0 && (n == 0 || verts != NULL);
		if (verts != NULL) {
			bind_texture(GL_TEXTURE1, blit->cursor);
			draw_boxes(&prog->over, blit, verts, n);
			glBindTexture(blit->cursor->target, 0);
		}
		free(verts);
		free(boxes);
	}
	glActiveTexture(GL_TEXTURE0);
	glBindTexture(blit->src.target, 0);
	glUseProgram(0);
	return glGetError() == GL_NO_ERROR && ok;
}

/* The parts of boxes inside clip, as two triangles each; the count of boxes. */
static int clipped_vertices(GLfloat *verts, const struct zc_blit_box *boxes, int n,
		struct zc_blit_box clip) {
	int kept = 0;
	for (int i = 0; i < n; i++) {
		const struct zc_blit_box *b = &boxes[i];
		struct zc_blit_box r = {
			b->x1 > clip.x1 ? b->x1 : clip.x1, b->y1 > clip.y1 ? b->y1 : clip.y1,
			b->x2 < clip.x2 ? b->x2 : clip.x2, b->y2 < clip.y2 ? b->y2 : clip.y2,
		};
		if (r.x1 >= r.x2 || r.y1 >= r.y2) {
			continue;
		}
		GLfloat x1 = r.x1, y1 = r.y1, x2 = r.x2, y2 = r.y2;
		GLfloat quad[12] = {x1, y1, x2, y1, x1, y2, x1, y2, x2, y1, x2, y2};
		memcpy(&verts[kept * 12], quad, sizeof(quad));
		kept++;
	}
	return kept;
}

static bool draw_layer(const struct zc_blit_program *plain,
		const struct zc_blit_program *external, const struct zc_blit_composite *composite,
		const struct zc_blit_layer *layer, GLfloat *verts) {
	const struct zc_blit_program *prog =
		layer->image.target == GL_TEXTURE_EXTERNAL_OES ? external : plain;
	if (prog == NULL || prog->copy.program == 0) {
		return false;
	}
	int n = clipped_vertices(verts, composite->boxes, composite->n_boxes, layer->box);
	if (n == 0) {
		return true;
	}
	const struct zc_blit_shader *shader = layer->opaque ? &prog->opaque : &prog->copy;
	/* Column-major, to normalised texture coordinates. */
	const double *m = layer->map;
	double sx = 1.0 / layer->image.width, sy = 1.0 / layer->image.height;
	GLfloat map[9] = {
		m[0] * sx, m[2] * sy, 0,
		m[1] * sx, m[3] * sy, 0,
		m[4] * sx, m[5] * sy, 1,
	};
	bind_filtered(GL_TEXTURE0, &layer->image, layer->linear ? GL_LINEAR : GL_NEAREST);
	glUseProgram(shader->program);
	glUniformMatrix3fv(shader->src_map, 1, GL_FALSE, map);
	glUniform2f(shader->dst_size, composite->dst_width, composite->dst_height);
	glUniform1i(shader->src, 0);
	glVertexAttribPointer(shader->pos, 2, GL_FLOAT, GL_FALSE, 0, verts);
	glEnableVertexAttribArray(shader->pos);
	glDrawArrays(GL_TRIANGLES, 0, n * 6);
	glDisableVertexAttribArray(shader->pos);
	glBindTexture(layer->image.target, 0);
	return true;
}

/* Clears the boxes of the bound framebuffer to color. */
static void clear_boxes(const struct zc_blit_box *boxes, int n, const float color[4]) {
	glClearColor(color[0], color[1], color[2], color[3]);
	glEnable(GL_SCISSOR_TEST);
	for (int i = 0; i < n; i++) {
		glScissor(boxes[i].x1, boxes[i].y1, boxes[i].x2 - boxes[i].x1,
			boxes[i].y2 - boxes[i].y1);
		glClear(GL_COLOR_BUFFER_BIT);
	}
	glDisable(GL_SCISSOR_TEST);
}

bool zc_blit_composite(const struct zc_blit_program *plain,
		const struct zc_blit_program *external, const struct zc_blit_composite *composite) {
	GLfloat *verts = calloc((size_t)(composite->n_boxes > 0 ? composite->n_boxes : 1) * 12,
		sizeof(GLfloat));
	if (verts == NULL) {
		return false;
	}
	glViewport(0, 0, composite->dst_width, composite->dst_height);
	clear_boxes(composite->boxes, composite->n_boxes, (const float[4]){0, 0, 0, 0});
	glEnable(GL_BLEND);
	glBlendFunc(GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
	bool ok = true;
	for (int i = 0; i < composite->n_layers && ok; i++) {
		ok = draw_layer(plain, external, composite, &composite->layers[i], verts);
	}
	glDisable(GL_BLEND);
	glActiveTexture(GL_TEXTURE0);
	glUseProgram(0);
	free(verts);
	return glGetError() == GL_NO_ERROR && ok;
}

static bool convert_shader_init(struct zc_convert_shader *shader, int variant) {
	char error[512];
	const char *frag = zc_shader_convert_frag;
	const char *body = strchr(frag, '\n') + 1;
	const char *frag_sources[] = {frag, variant & 1 ? "#define ZC_EXTERNAL\n" : "",
		variant & 2 ? "#define ZC_OPAQUE\n" : "", variant & 4 ? "#define ZC_YUV\n" : "", body};
	const GLint frag_lengths[] = {body - frag, -1, -1, -1, -1};
	const char *vert_sources[] = {zc_shader_convert_vert};
	GLuint vert = compile_shader(GL_VERTEX_SHADER, vert_sources, NULL, 1, error,
		sizeof(error));
	GLuint fragment = vert == 0 ? 0 : compile_shader(GL_FRAGMENT_SHADER, frag_sources,
		frag_lengths, 5, error, sizeof(error));
	if (vert == 0 || fragment == 0) {
		glDeleteShader(vert);
		fprintf(stderr, "zerocap: convert shader %d: %s\n", variant, error);
		return false;
	}
	GLuint program = glCreateProgram();
	glAttachShader(program, vert);
	glAttachShader(program, fragment);
	glLinkProgram(program);
	glDetachShader(program, vert);
	glDetachShader(program, fragment);
	glDeleteShader(vert);
	glDeleteShader(fragment);
	GLint ok = GL_FALSE;
	glGetProgramiv(program, GL_LINK_STATUS, &ok);
	if (!ok) {
		glGetProgramInfoLog(program, sizeof(error), NULL, error);
		fprintf(stderr, "zerocap: convert program %d does not link: %s\n", variant, error);
		glDeleteProgram(program);
		return false;
	}
	shader->program = program;
	shader->pos = glGetAttribLocation(program, "pos");
	shader->dst_size = glGetUniformLocation(program, "dst_size");
	shader->plane_map = glGetUniformLocation(program, "plane_map");
	shader->src = glGetUniformLocation(program, "src");
	shader->layer_map = glGetUniformLocation(program, "layer_map");
	shader->layer_box = glGetUniformLocation(program, "layer_box");
	shader->tap = glGetUniformLocation(program, "tap");
	shader->k0 = glGetUniformLocation(program, "k0");
	shader->k1 = glGetUniformLocation(program, "k1");
	shader->off = glGetUniformLocation(program, "off");
	shader->max_code = glGetUniformLocation(program, "max_code");
	shader->code_unit = glGetUniformLocation(program, "code_unit");
	return true;
}

static const struct zc_convert_shader *convert_shader(struct zc_convert_programs *programs,
		int variant) {
	struct zc_convert_shader *shader = &programs->variant[variant];
	if (shader->program == 0 && !programs->failed[variant] &&
			!convert_shader_init(shader, variant)) {
		programs->failed[variant] = true;
	}
	return shader->program != 0 ? shader : NULL;
}

void zc_convert_programs_finish(struct zc_convert_programs *programs) {
	for (int i = 0; i < 8; i++) {
		if (programs->variant[i].program != 0) {
			glDeleteProgram(programs->variant[i].program);
		}
	}
	memset(programs, 0, sizeof(*programs));
}

static bool convert_layer(struct zc_convert_programs *programs,
		const struct zc_convert_plane *plane, const struct zc_convert_layer *layer,
		GLfloat *verts, int n_verts) {
	int variant = (layer->image.target == GL_TEXTURE_EXTERNAL_OES ? 1 : 0) |
		(layer->opaque ? 2 : 0) | (plane->yuv ? 4 : 0);
	const struct zc_convert_shader *shader = convert_shader(programs, variant);
	if (shader == NULL) {
		return false;
	}
	const double *m = layer->map;
	double sx = 1.0 / layer->image.width, sy = 1.0 / layer->image.height;
	GLfloat map[9] = {
		m[0] * sx, m[2] * sy, 0,
		m[1] * sx, m[3] * sy, 0,
		m[4] * sx, m[5] * sy, 1,
	};
	bind_filtered(GL_TEXTURE0, &layer->image, GL_LINEAR);
	glUseProgram(shader->program);
	glUniform2f(shader->dst_size, plane->width, plane->height);
	glUniform4f(shader->plane_map, plane->map[0], plane->map[1], plane->map[2],
		plane->map[3]);
	glUniform1i(shader->src, 0);
	glUniformMatrix3fv(shader->layer_map, 1, GL_FALSE, map);
	glUniform4f(shader->layer_box, layer->box[0], layer->box[1], layer->box[2],
		layer->box[3]);
	glUniform2f(shader->tap, plane->tap[0], plane->tap[1]);
	if (plane->yuv) {
		glUniform3fv(shader->k0, 1, plane->k0);
		glUniform3fv(shader->k1, 1, plane->k1);
		glUniform2fv(shader->off, 1, plane->off);
		glUniform1f(shader->max_code, plane->max_code);
		glUniform1f(shader->code_unit, plane->code_unit);
	}
	glVertexAttribPointer(shader->pos, 2, GL_FLOAT, GL_FALSE, 0, verts);
	glEnableVertexAttribArray(shader->pos);
	glDrawArrays(GL_TRIANGLES, 0, n_verts);
	glDisableVertexAttribArray(shader->pos);
	glBindTexture(layer->image.target, 0);
	return true;
}

bool zc_blit_convert(struct zc_convert_programs *programs, const struct zc_convert_plane *plane,
		const struct zc_convert_layer *layers, int n_layers) {
	GLfloat *verts = box_vertices(plane->boxes, plane->n_boxes);
	if (verts == NULL) {
		return false;
	}
	glViewport(0, 0, plane->width, plane->height);
	clear_boxes(plane->boxes, plane->n_boxes, plane->clear);
	glEnable(GL_BLEND);
	glBlendFunc(GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
	bool ok = true;
	for (int i = 0; i < n_layers && ok; i++) {
		ok = convert_layer(programs, plane, &layers[i], verts, plane->n_boxes * 6);
	}
	glDisable(GL_BLEND);
	glActiveTexture(GL_TEXTURE0);
	glUseProgram(0);
	free(verts);
	return glGetError() == GL_NO_ERROR && ok;
}
