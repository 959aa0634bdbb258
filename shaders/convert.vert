#version 100

// One vertex of a rectangle of a derived image's plane, in plane pixels.
// The matching position in the parent's image follows from a scale and an
// offset per axis (plane_map: sx, ox, sy, oy).
attribute vec2 pos;

uniform vec2 dst_size;
uniform vec4 plane_map;

varying vec2 v_img;

void main() {
	v_img = vec2(plane_map.x * pos.x + plane_map.y, plane_map.z * pos.y + plane_map.w);
	gl_Position = vec4(pos / dst_size * 2.0 - 1.0, 0.0, 1.0);
}
