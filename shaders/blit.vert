#version 100

// One vertex of a damage rectangle, in destination pixels (row 0 is the
// first row in memory). The texture coordinates of the source and of the
// cursor follow from 3x3 maps from destination pixels.
attribute vec2 pos;

uniform vec2 dst_size;
uniform mat3 src_map;

varying vec2 v_src;
varying vec2 v_pos;

void main() {
	v_pos = pos;
	v_src = (src_map * vec3(pos, 1.0)).xy;
	gl_Position = vec4(pos / dst_size * 2.0 - 1.0, 0.0, 1.0);
}
