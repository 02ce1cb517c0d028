/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog.h"
#include "list-internal.h"
#include "core/cli.h"
#include "core/filetime.h"
#include "core/json.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/volset.h"

/* Where store k of volume i keeps its data, in words. */
static const char *storage_words(const struct volset_volume *vol, unsigned k, char *buf, size_t size)
{
	const struct vss_store_info *s = vss_volume_store(vol->vss, k);
	char id[GUID_STRING_MAX];

	if (!s->has_data)
		snprintf(buf, size, "missing: on another volume (shadow storage volume id {%s}); give its image too",
			 guid_format(vss_volume_storage_id(vol->vss), id));
	else if (s->storage_remote)
		snprintf(buf, size, "on %s", vss_store_storage_name(vol->vss, k));
	else
		snprintf(buf, size, "on this volume");
	return buf;
}

static void print_text(const struct volset *vs)
{
	unsigned total = 0;

	for (size_t i = 0; i < vs->n; i++) {
		const struct volset_volume *vol = &vs->vols[i];
		unsigned n = vss_volume_store_count(vol->vss);
		char sz[32], id[GUID_STRING_MAX];

		format_bytes(vol->src->size, sz, sizeof(sz));
		printf("Volume %s (%s", vol->name, sz);
		if (vss_volume_has_header(vol->vss))
			printf(", VSS volume id {%s}", guid_format(vss_volume_id(vol->vss), id));
		printf(")\n");
		if (vss_volume_foreign_count(vol->vss))
			printf("\tholds the shadow storage of %u store(s) of other volumes\n",
			       vss_volume_foreign_count(vol->vss));
		if (n == 0) {
			printf("\tNo shadow copies.\n\n");
			continue;
		}
		for (unsigned k = 0; k < n; k++) {
			const struct vss_store_info *s = vss_volume_store(vol->vss, k);
			char t[FILETIME_STRING_MAX], names[512], where[512];
			const char *ctx = vss_context_name(s->context);

			if (!s->has_data) {
				printf("\t* Shadow copy store {%s}\t(shadow copy ID unknown)\n",
				       guid_format(&s->store_id, id));
			} else {
				printf("\t* Shadow copy ID = {%s}\n", guid_format(&s->copy_id, id));
				printf("\t\t- Shadow copy set: {%s}\n", guid_format(&s->set_id, id));
			}
			printf("\t\t- Original volume name: %s\n", vol->name);
			printf("\t\t- Creation time: %s\n", filetime_format(s->creation_time, t, sizeof(t)));
			printf("\t\t- Store ID: {%s}\n", guid_format(&s->store_id, id));
			if (s->has_data) {
				printf("\t\t- Originating machine: %s\n", s->operating_machine);
				printf("\t\t- Service machine: %s\n", s->service_machine);
				printf("\t\t- Context: 0x%x%s%s%s\n", s->context, ctx ? " (" : "", ctx ? ctx : "",
				       ctx ? ")" : "");
				vss_attr_names(s->attributes, names, sizeof(names));
				printf("\t\t- Attributes: 0x%08x %s\n", s->attributes, names);
			}
			printf("\t\t- Shadow storage: %s\n", storage_words(vol, k, where, sizeof(where)));
			printf("\n");
		}
		total += n;
	}
	printf("Number of shadow copies listed: %u\n", total);
}

static void print_json(const struct volset *vs)
{
	struct json j;

	json_init(&j, stdout, true);
	json_obj_begin(&j);
	json_key(&j, "volumes");
	json_arr_begin(&j);
	for (size_t i = 0; i < vs->n; i++) {
		const struct volset_volume *vol = &vs->vols[i];
		char id[GUID_STRING_MAX];

		json_obj_begin(&j);
		json_kstr(&j, "name", vol->name);
		json_kstr(&j, "image", vol->image);
		json_key(&j, "partition");
		if (vol->partition)
			json_u64(&j, vol->partition);
		else
			json_null(&j);
		json_ku64(&j, "offset", vol->offset);
		json_ku64(&j, "size", vol->src->size);
		json_kbool(&j, "vss_header", vss_volume_has_header(vol->vss));
		if (vss_volume_has_header(vol->vss)) {
			json_kstr(&j, "vss_volume_id", guid_format(vss_volume_id(vol->vss), id));
			json_kstr(&j, "vss_storage_volume_id", guid_format(vss_volume_storage_id(vol->vss), id));
			json_ku64(&j, "catalog_offset", vss_volume_catalog_offset(vol->vss));
		}
		json_ku64(&j, "foreign_stores", vss_volume_foreign_count(vol->vss));
		json_key(&j, "shadows");
		json_arr_begin(&j);
		for (unsigned k = 0; k < vss_volume_store_count(vol->vss); k++) {
			const struct vss_store_info *s = vss_volume_store(vol->vss, k);
			char t[FILETIME_STRING_MAX], names[512];

			json_obj_begin(&j);
			json_ku64(&j, "index", k + 1);
			json_kstr(&j, "store_id", guid_format(&s->store_id, id));
			json_kstr(&j, "creation_time", filetime_format(s->creation_time, t, sizeof(t)));
			json_ku64(&j, "creation_filetime", s->creation_time);
			json_ku64(&j, "volume_size", s->volume_size);
			json_kbool(&j, "has_data", s->has_data);
			if (s->has_data) {
				json_kstr(&j, "shadow_id", guid_format(&s->copy_id, id));
				json_kstr(&j, "set_id", guid_format(&s->set_id, id));
				json_ku64(&j, "context", s->context);
				json_kstr(&j, "context_name", vss_context_name(s->context));
				json_ku64(&j, "attributes", s->attributes);
				vss_attr_names(s->attributes, names, sizeof(names));
				json_kstr(&j, "attribute_names", names);
				json_kstr(&j, "operating_machine", s->operating_machine);
				json_kstr(&j, "service_machine", s->service_machine);
				json_ku64(&j, "descriptors", s->n_descriptors);
				json_ku64(&j, "mapped_blocks", s->n_mapped_blocks);
				json_ku64(&j, "overlays", s->n_overlays);
				json_ku64(&j, "forwarders", s->n_forwarders);
			}
			json_key(&j, "storage");
			json_obj_begin(&j);
			json_kstr(&j, "where", !s->has_data ? "missing" : s->storage_remote ? "other-volume" : "local");
			json_kstr(&j, "volume", s->has_data ? vss_store_storage_name(vol->vss, k) : NULL);
			json_obj_end(&j);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	json_end(&j);
}

static int list_shadows_images(struct cli_common *c, char **images, int n)
{
	struct volset *vs = NULL;
	int r;

	cli_pending_revert(images, (size_t)n, false); /* listed, with a warning */
	r = volset_open(images, (size_t)n, &vs);
	if (r < 0)
		return sr_error(r, "cannot list shadow copies");
	if (c->json)
		print_json(vs);
	else
		print_text(vs);
	volset_free(vs);
	return EXIT_OK;
}

/* Does the first argument after `shadows` name an image (an existing file or block device)? */
static bool is_image_path(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode));
}

enum { OPT_REPO = OPT_FIRST_VERB_OPTION, OPT_SET, OPT_IMAGE, OPT_PASSFILE };

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_LONG_OPTIONS,
					      { "repo", required_argument, NULL, OPT_REPO },
					      { "set", required_argument, NULL, OPT_SET },
					      { "image", no_argument, NULL, OPT_IMAGE },
					      { "passphrase-file", required_argument, NULL, OPT_PASSFILE },
					      { 0 } };
	struct cli_common c = { 0 };
	const char *repo = NULL, *set = NULL, *what, *pass_file = NULL;
	bool image = false;
	int o, ex, n;

	while ((o = cli_getopt(argc, argv, "", opts)) != -1) {
		if (o == '?' || o == ':')
			return cli_bad_option("list", o, argc, argv);
		if (o == OPT_REPO) {
			repo = optarg;
			continue;
		}
		if (o == OPT_SET) {
			set = optarg;
			continue;
		}
		if (o == OPT_IMAGE) {
			image = true;
			continue;
		}
		if (o == OPT_PASSFILE) {
			pass_file = optarg;
			continue;
		}
		if (cli_common_option(&c, "list", o, optarg, &ex) < 0)
			return ex;
	}
	if (optind >= argc)
		return cli_usage("list", "what to list is missing (sets, shadows, volumes, writers, storage)");
	what = argv[optind++];
	n = argc - optind;
	if (strcmp(what, "shadows") == 0 && (image || (n > 0 && is_image_path(argv[optind])))) {
		if (n == 0)
			return cli_usage("list", "--image: no image given");
		if (set || repo)
			return cli_usage("list", "--set and --repo list the catalog, not images");
		return list_shadows_images(&c, argv + optind, n);
	}
	if (image)
		return cli_usage("list", "--image goes with 'list shadows'");
	if (n > 0) {
		if (strcmp(what, "shadows") == 0)
			return cli_usage("list", "no image '%s' (an existing file or block device), and the catalog "
						 "form takes no arguments", argv[optind]);
		return cli_usage("list", "unexpected argument '%s'", argv[optind]);
	}
	if (strcmp(what, "sets") == 0 || strcmp(what, "shadows") == 0 || strcmp(what, "volumes") == 0 ||
	    strcmp(what, "writers") == 0 || strcmp(what, "storage") == 0) {
		if (set && (strcmp(what, "sets") == 0 || strcmp(what, "storage") == 0))
			return cli_usage("list", "'list %s' takes no --set", what);
		return list_catalog(&c, what, repo, pass_file, set);
	}
	return cli_usage("list", "cannot list '%s' (known: sets, shadows, volumes, writers, storage)", what);
}
