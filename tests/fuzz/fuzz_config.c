/* libFuzzer target: the configuration files, the tower's (tower_config_load,
 * then printed back with --check's tower_config_print) and the sensor's
 * (sensor_conf_load). A file refused must say why in err; one taken must
 * print and free cleanly. The input is handed over as a file, as the
 * loaders take one: a memfd, named by /proc/self/fd. */
#ifndef _GNU_SOURCE /* memfd_create; the build may define it already */
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sensor/sensor_conf.h"
#include "tower/config.h"
#include "tower/tower.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	char path[64], err[512];
	int fd = memfd_create("config", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (null == NULL && (null = fopen("/dev/null", "w")) == NULL)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

	struct tower_config cfg;
	tower_config_defaults(&cfg);
	err[0] = '\0';
	if (tower_config_load(path, &cfg, err, sizeof(err)) < 0) {
		if (err[0] == '\0')
			abort();
	} else {
		tower_config_print(null, &cfg);
	}
	tower_config_free(&cfg);

	struct sensor_conf *sc = NULL;
	err[0] = '\0';
	if (sensor_conf_load(path, &sc, err, sizeof(err)) != 0) {
		if (err[0] == '\0' || sc != NULL)
			abort();
	} else {
		sensor_conf_free(sc);
	}
	close(fd);
	return 0;
}
