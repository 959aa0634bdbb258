#version 100
#ifdef ZC_EXTERNAL
#extension GL_OES_EGL_image_external : require
#endif

// Copies the source (already rotated, flipped, cropped and scaled by the
// vertex stage). The ZC_CURSOR variant also lays the premultiplied cursor
// over it; it is drawn only over the cursor's rectangle, because a branch
// on a uniform still costs every pixel on software rasterisers. ZC_OPAQUE is
// for sources without alpha (XRGB layers): their fourth byte is padding.
#ifdef GL_FRAGMENT_PRECISION_HIGH
precision highp float;
#else
precision mediump float;
#endif

#ifdef ZC_EXTERNAL
uniform samplerExternalOES src;
#else
uniform sampler2D src;
#endif
#ifdef ZC_CURSOR
uniform sampler2D cursor;
uniform mat3 cursor_map;
#endif

varying vec2 v_src;
varying vec2 v_pos;

void main() {
	vec4 color = texture2D(src, v_src);
#ifdef ZC_OPAQUE
	color.a = 1.0;
#endif
#ifdef ZC_CURSOR
	vec2 at = (cursor_map * vec3(v_pos, 1.0)).xy;
	if (all(greaterThanEqual(at, vec2(0.0))) && all(lessThan(at, vec2(1.0)))) {
		vec4 over = texture2D(cursor, at);
		color = over + color * (1.0 - over.a);
	}
#endif
	gl_FragColor = color;
}
