/*
 * obs-zerocap, the module: three sources (zerocap-output-capture,
 * zerocap-window-capture, zerocap-region-capture) on libzerocap-client.
 * See obs-zerocap.h for how a source works, docs/obs.md for its use.
 */
#include <obs-module.h>
#include "obs-zerocap.h"

OBS_DECLARE_MODULE()

const char *obs_module_description(void) {
	return "Wayland screen, window and region capture through libzerocap-client";
}

bool obs_module_load(void) {
	ozc_register_sources();
	blog(LOG_INFO, "[obs-zerocap] loaded");
	return true;
}
