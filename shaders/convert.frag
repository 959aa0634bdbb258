#version 100
#ifdef ZC_EXTERNAL
#extension GL_OES_EGL_image_external : require
#endif

// One layer of a derived image (zerocap-capture-options-v1), blended over
// what the earlier layers left. Four bilinear taps inside the sample's
// footprint filter the scaling; taps outside the layer's box count as
// transparent. ZC_YUV writes code values of a YCbCr plane (Y, or Cb and Cr)
// premultiplied by coverage, so that blending over a black background gives
// the colour of the premultiplied RGB over black; src/render/convert.c
// computes the same on the CPU.
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
uniform mat3 layer_map;
uniform vec4 layer_box;
uniform vec2 tap;
#ifdef ZC_YUV
uniform vec3 k0;
uniform vec3 k1;
uniform vec2 off;
uniform float max_code;
uniform float code_unit;
#endif

varying vec2 v_img;

vec4 sample_at(vec2 p) {
	vec2 inside = step(layer_box.xy, p) * (vec2(1.0) - step(layer_box.zw, p));
	vec4 c = texture2D(src, (layer_map * vec3(p, 1.0)).xy);
#ifdef ZC_OPAQUE
	c.a = 1.0;
#endif
	return c * (inside.x * inside.y);
}

void main() {
	vec4 c = (sample_at(v_img - tap) + sample_at(v_img + vec2(tap.x, -tap.y)) +
		sample_at(v_img + vec2(-tap.x, tap.y)) + sample_at(v_img + tap)) * 0.25;
#ifdef ZC_YUV
	vec2 v = vec2(dot(k0, c.rgb), dot(k1, c.rgb)) + off * c.a;
	v = floor(clamp(v, 0.0, max_code) + 0.5) * code_unit;
	gl_FragColor = vec4(v, 0.0, c.a);
#else
	gl_FragColor = c;
#endif
}
