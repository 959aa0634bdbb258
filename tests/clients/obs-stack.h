/*
 * OBS Studio as the tests run it: a Wayland client of a fixture compositor,
 * inside a desktop stack (portal-stack.h), with a configuration seeded
 * under the stack's XDG_CONFIG_HOME so that it starts without its first-run
 * wizard: one profile (simple output mode, x264 into Matroska, a canvas of
 * the captured size at 30 fps), one scene collection holding one source
 * that fills the canvas, and the obs-websocket server on a free local port.
 *
 * OBS starts with --startrecording; the test talks to it through
 * obs-websocket (protocol 5, no authentication): GetRecordStatus,
 * SetInputSettings, StopRecord. SIGINT makes OBS close its main window, which
 * saves the scene collection and exits.
 */
#ifndef CT_OBS_STACK_H
#define CT_OBS_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "portal-stack.h"

#define CT_OBS_SOURCE "Capture" /* the source's name in the collection */

struct ct_obs_options {
	const char *source_id; /* e.g. pipewire-screen-capture-source */
	const char *settings; /* the source's settings: a JSON object's members */
	int width, height; /* the canvas and the recording */
	const char *color_format; /* OBS's video format; NULL: I444 (the tests' pixels) */
	/* A directory of OBS plugins to install as the user's (NULL: none). */
	const char *plugin_dir;
	const char *plugin_name;
	int start_ms; /* how long OBS may take to record; 0: 60 s */
	int stop_ms; /* how long it may take to end a recording; 0: 20 s */
};

struct ct_obs {
	struct ct_obs_options options;
	char config[400]; /* $XDG_CONFIG_HOME/obs-studio */
	char collection[500]; /* the scene collection's file */
	char name[32]; /* the recording's file name, without .mkv */
	char recording[500]; /* where the recording goes */
	int port; /* obs-websocket */
	pid_t pid;
	char log[64]; /* OBS's stdout and stderr, in the stack's directory */
	int runs;
};

/* Writes OBS's configuration for a source below stack's directory. */
bool ct_obs_setup(struct ct_obs *obs, struct ct_stack *stack,
	const struct ct_obs_options *options);
/*
 * Starts OBS on the compositor listening at socket (absolute, or a name in
 * $XDG_RUNTIME_DIR) with --startrecording, and waits until obs-websocket
 * says the recording is active; false (checked) if it did not get there.
 */
bool ct_obs_start(struct ct_obs *obs, struct ct_stack *stack, const char *socket);
/*
 * One obs-websocket request (data: a JSON object, NULL for none); the
 * response's text in reply, true when its requestStatus says result true.
 */
bool ct_obs_request(struct ct_obs *obs, const char *type, const char *data, char *reply,
	size_t size);
/* Whether obs-websocket reports the recording active; false too if it does not answer. */
bool ct_obs_recording(struct ct_obs *obs);
/* StopRecord, and waits until the recording output is no longer active. */
bool ct_obs_stop_recording(struct ct_obs *obs);
/* SIGINT, and waits for OBS to exit; true when it shut down (see obs-stack.c). */
bool ct_obs_quit(struct ct_obs *obs, struct ct_stack *stack);
/* Whether OBS still runs. */
bool ct_obs_alive(struct ct_obs *obs);

/* ---- the recording ---- */

struct ct_video {
	int width, height, frames;
	double duration; /* seconds */
	uint8_t *rgb; /* frames * width * height * 3 */
};

/*
 * Decodes every frame of the video stream of path to RGB (ffprobe for the
 * size, ffmpeg for the pixels); false (checked) when it cannot be read.
 */
bool ct_video_read(const char *dir, const char *path, struct ct_video *video);
void ct_video_finish(struct ct_video *video);
/* Frame i as an image (no copy: do not finish it). */
struct ct_image ct_video_frame(const struct ct_video *video, int i);

#endif
