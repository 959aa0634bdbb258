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

bool zc_blit_program_init(struct zc_blit_program *prog, bool external, char *error,
		size_t error_size) {
	memset(prog, 0, sizeof(*prog));
	snprintf(error, error_size, "shader program failed to link");
	/* The variant's define goes right after the #version line. */
	const char *frag = zc_shader_blit_frag;
	const char *body = strchr(frag, '\n') + 1;
	const char *frag_sources[] = {frag, external ? "#define ZC_EXTERNAL\n" : "", body};
	const GLint frag_lengths[] = {body - frag, -1, -1};
	const char *vert_sources[] = {zc_shader_blit_vert};
	GLuint vert = compile_shader(GL_VERTEX_SHADER, vert_sources, NULL, 1, error, error_size);
	GLuint fragment = vert == 0 ? 0 : compile_shader(GL_FRAGMENT_SHADER, frag_sources,
		frag_lengths, 3, error, error_size);
	if (vert == 0 || fragment == 0) {
		glDeleteShader(vert);
		return false;
	}
	prog->program = glCreateProgram();
	glAttachShader(prog->program, vert);
	glAttachShader(prog->program, fragment);
	glLinkProgram(prog->program);
	glDetachShader(prog->program, vert);
	glDetachShader(prog->program, fragment);
	glDeleteShader(vert);
	glDeleteShader(fragment);
	GLint ok = GL_FALSE;
	glGetProgramiv(prog->program, GL_LINK_STATUS, &ok);
	if (!ok) {
		glGetProgramInfoLog(prog->program, error_size, NULL, error);
		glDeleteProgram(prog->program);
		prog->program = 0;
		return false;
	}
	prog->pos = glGetAttribLocation(prog->program, "pos");
	prog->dst_size = glGetUniformLocation(prog->program, "dst_size");
	prog->src_map = glGetUniformLocation(prog->program, "src_map");
	prog->src = glGetUniformLocation(prog->program, "src");
	prog->cursor = glGetUniformLocation(prog->program, "cursor");
	prog->has_cursor = glGetUniformLocation(prog->program, "has_cursor");
	prog->cursor_map = glGetUniformLocation(prog->program, "cursor_map");
	return true;
}

void zc_blit_program_finish(struct zc_blit_program *prog) {
	if (prog->program != 0) {
		glDeleteProgram(prog->program);
		prog->program = 0;
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

static void bind_texture(GLenum unit, const struct zc_blit_image *image) {
	glActiveTexture(unit);
	glBindTexture(image->target, image->tex);
	glTexParameteri(image->target, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
	glTexParameteri(image->target, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
	glTexParameteri(image->target, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
	glTexParameteri(image->target, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
}

bool zc_blit_draw(const struct zc_blit_program *prog, const struct zc_blit *blit) {
	GLfloat *verts = calloc((size_t)(blit->n_boxes > 0 ? blit->n_boxes : 1) * 12,
		sizeof(GLfloat));
	if (verts == NULL) {
		return false;
	}
	for (int i = 0; i < blit->n_boxes; i++) {
		const struct zc_blit_box *b = &blit->boxes[i];
		GLfloat x1 = b->x1, y1 = b->y1, x2 = b->x2, y2 = b->y2;
		GLfloat quad[12] = {x1, y1, x2, y1, x1, y2, x1, y2, x2, y1, x2, y2};
		memcpy(&verts[i * 12], quad, sizeof(quad));
	}

	glViewport(0, 0, blit->dst_width, blit->dst_height);
	glDisable(GL_BLEND);
	glDisable(GL_SCISSOR_TEST);
	glUseProgram(prog->program);

	GLfloat map[9];
	texture_map(map, blit->transform, blit->src.width, blit->src.height,
		-blit->area_x, -blit->area_y);
	glUniformMatrix3fv(prog->src_map, 1, GL_FALSE, map);
	glUniform2f(prog->dst_size, blit->dst_width, blit->dst_height);
	bind_texture(GL_TEXTURE0, &blit->src);
	glUniform1i(prog->src, 0);

	glUniform1i(prog->has_cursor, blit->cursor != NULL);
	if (blit->cursor != NULL) {
		texture_map(map, blit->cursor_transform, blit->cursor->width, blit->cursor->height,
			blit->cursor_x, blit->cursor_y);
		glUniformMatrix3fv(prog->cursor_map, 1, GL_FALSE, map);
		bind_texture(GL_TEXTURE1, blit->cursor);
		glUniform1i(prog->cursor, 1);
	}

	glVertexAttribPointer(prog->pos, 2, GL_FLOAT, GL_FALSE, 0, verts);
	glEnableVertexAttribArray(prog->pos);
	glDrawArrays(GL_TRIANGLES, 0, blit->n_boxes * 6);
	glDisableVertexAttribArray(prog->pos);
	if (blit->cursor != NULL) {
		glBindTexture(blit->cursor->target, 0);
	}
	glActiveTexture(GL_TEXTURE0);
	glBindTexture(blit->src.target, 0);
	glUseProgram(0);
	free(verts);
	return glGetError() == GL_NO_ERROR;
}
