/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* shadowrev: the verb table. Each verb lives in its module as cmd_<verb>(). */
#include <stdio.h>
#include <string.h>

#include "catalog/catalog.h"
#include "core/cli.h"
#include "core/log.h"
#include "recover/recover.h"
#include "revert/revert.h"

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct cli_verb verbs[] = {
	{ "list", cmd_list, "list shadow copies inside volume images",
	  "usage: shadowrev list shadows IMAGE... [--json]\n"
	  "\n"
	  "List every VSS shadow copy inside the NTFS volumes of the images given (volume\n"
	  "images, or whole disks with an MBR or GPT partition table), per volume, oldest\n"
	  "first: shadow copy ID, set ID, store ID, creation time (UTC, 100 ns), context,\n"
	  "attributes, machines, and where the shadow storage is. Give the volume that\n"
	  "holds another volume's shadow storage alongside it.\n"
	  "\n"
	  "  --json          machine-readable output\n"
	  "  --quiet         no messages but errors\n" },
	{ "export", cmd_export, "write the raw volume of one shadow copy",
	  "usage: shadowrev export SHADOW-ID IMAGE... --to FILE|-\n"
	  "\n"
	  "Write the whole raw volume as it was when the shadow copy was taken (the view\n"
	  "Windows shows) to FILE, sparse where the view is zero, or to standard output\n"
	  "with '-'. SHADOW-ID is a shadow copy ID, with or without braces, in any case,\n"
	  "or a unique prefix of at least 4 hex digits. FILE is written under a temporary\n"
	  "name and renamed when complete; an existing FILE is replaced only with --force.\n"
	  "\n"
	  "  --to FILE|-     where to write (required)\n"
	  "  --force         replace an existing FILE\n"
	  "  --json          print a summary as JSON\n"
	  "  --progress=auto|none|json, --quiet\n" },
	{ "revert", cmd_revert, "put a volume back to a shadow copy, in place",
	  "usage: shadowrev revert SHADOW-ID IMAGE... [--yes] [--dry-run] [--journal DIR] [--json]\n"
	  "\n"
	  "Revert the volume that holds the shadow copy (an image file or block device,\n"
	  "or a partition of a whole-disk image) in place to that shadow copy, offline:\n"
	  "only the blocks that differ are written, then the shadow copy and every newer\n"
	  "one are dropped from the VSS catalog; older shadow copies stay readable.\n"
	  "Everything is read first and staged in a journal (beside the image, or in\n"
	  "DIR) before the first write; after a crash, the same command finishes the job.\n"
	  "Targets that are mounted, attached to a loop device, held by device-mapper or\n"
	  "open in another process are refused. Every written range is read back.\n"
	  "\n"
	  "  --dry-run       print the plan (blocks and bytes to write, what is skipped)\n"
	  "  --yes, -y       do not ask for confirmation (required when not on a terminal)\n"
	  "  --journal DIR   keep the journal in DIR\n"
	  "  --json          the plan or the result as JSON\n" },
	{ "boot", cmd_boot, "will a disk boot; fix what depends on where volumes sit",
	  "usage: shadowrev boot check TARGET [--json]\n"
	  "       shadowrev boot fix TARGET [--dry-run] [--yes] [--json]\n"
	  "\n"
	  "TARGET is a disk image or block device (MBR or GPT), or an NTFS volume image.\n"
	  "check says, in plain words, what would stop the Windows instance on it from\n"
	  "booting: the NTFS boot sectors (hidden sectors against the partition's start,\n"
	  "geometry, total sectors, the backup boot sector), the EFI system partition\n"
	  "(\\EFI\\Microsoft\\Boot\\bootmgfw.efi and BCD) on GPT disks, the active\n"
	  "partition with bootmgr and \\Boot\\BCD and the MBR boot code on MBR disks, and\n"
	  "\\Windows\\System32 with winload on the system volume. Exit 0: nothing found\n"
	  "that would stop it; 3: it will not boot as it is.\n"
	  "fix rewrites what depends on where a volume sits: the hidden-sectors field,\n"
	  "a missing or stale backup boot sector, the MBR active flag; then checks again.\n"
	  "The target must not be mounted or in use.\n"
	  "\n"
	  "  --dry-run       say what fix would write\n"
	  "  --yes, -y       write (fix refuses without it)\n"
	  "  --json          the report as JSON\n" },
	{ "help", cmd_help, "show help for shadowrev or for one verb",
	  "usage: shadowrev help [VERB]\n" },
	{ "version", cmd_version, "show the version", "usage: shadowrev version\n" },
};

static void usage(FILE *f)
{
	fputs("usage: shadowrev VERB [OPTIONS] [ARGS]\n"
	      "\n"
	      "Recover Windows servers' backups and the VSS shadow copies inside them, on Linux.\n"
	      "\n"
	      "Verbs:\n",
	      f);
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fputs("\n"
	      "Options every verb takes: --json (data for scripts), --quiet, --verbose,\n"
	      "--progress=auto|none|json, --help.\n"
	      "\n"
	      "Exit codes: 0 ok, 1 failed, 2 usage error, 3 finished with per-item errors.\n"
	      "See 'shadowrev help VERB' for one verb.\n",
	      f);
}

static int cmd_help(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		cli_help("help");
		return EXIT_OK;
	}
	if (argc > 2)
		return cli_usage("help", "too many arguments");
	if (argc < 2) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!cli_verb_find(argv[1]))
		return cli_usage(NULL, "no verb '%s'", argv[1]);
	cli_help(argv[1]);
	return EXIT_OK;
}

static int cmd_version(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		cli_help("version");
		return EXIT_OK;
	}
	if (argc > 1)
		return cli_usage("version", "too many arguments");
	printf("shadowrev %s\n", SR_VERSION);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	const struct cli_verb *v;

	cli_verbs = verbs;
	cli_n_verbs = ARRAY_SIZE(verbs);
	if (argc < 2)
		return cli_usage(NULL, "no verb given");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(1, argv + 1);
	v = cli_verb_find(argv[1]);
	if (!v)
		return cli_usage(NULL, "'%s' is not a verb", argv[1]);
	return v->fn(argc - 1, argv + 1);
}
