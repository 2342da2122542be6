/* qingdand — options from the command line and the configuration file.
 *
 * Every option has a key of the same name in the file given by --config
 * ("key = value" lines, '#' comments); the command line wins. */
#ifndef QINGDAND_CONFIG_H
#define QINGDAND_CONFIG_H

#include <stdbool.h>

#include "qingdand.h"

/* Fill s with the defaults. */
void settings_default(settings *s);

/* Parse argv (and the --config file it names) into s.
 *   check_only  set when --check-config was given
 * Returns 0 to go on, 1 when --help/--version was answered (exit 0), or
 * -1 after printing an error that names the option, or the file, line and
 * key (exit 2). */
int settings_parse(settings *s, int argc, char **argv, bool *check_only);

/* Free the strings in s. */
void settings_free(settings *s);

/* The --help text. */
extern const char qingdand_usage[];

#endif
