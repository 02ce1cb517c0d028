/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `shadowrev restore files|instance`: the dispatcher. */
#include <string.h>

#include "core/cli.h"
#include "recover.h"
#include "restore-internal.h"

int cmd_restore(int argc, char **argv)
{
	/* the sub-verb is the first argument that is not an option */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cli_help("restore");
			return EXIT_OK;
		}
		if (argv[i][0] == '-') {
			static const char *const valued[] = { "--to", "--archive", "--format", "--repo", "--image",
							      "--passphrase-file", "--disk", "--threads", "--progress" };
			for (size_t k = 0; k < ARRAY_SIZE(valued); k++)
				if (strcmp(argv[i], valued[k]) == 0)
					i++;
			continue;
		}
		if (strcmp(argv[i], "files") == 0)
			return rs_cmd_files(argc, argv);
		if (strcmp(argv[i], "instance") == 0)
			return rs_cmd_instance(argc, argv);
		/* after an option this may be its value (an abbreviated --passphrase-file's secret): not echoed */
		if (argv[i - 1][0] == '-' && i > 1)
			return cli_usage("restore", "files or instance? (options are not abbreviated)");
		return cli_usage("restore", "'%s' is neither files nor instance", argv[i]);
	}
	return cli_usage("restore", "files or instance?");
}
