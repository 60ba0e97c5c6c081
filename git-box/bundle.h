#ifndef BUNDLE_H
#define BUNDLE_H

#include "bag.h"
#include "verify.h"

/*
 * The offline check of an audit bundle (gitbox-bundle(5)),
 * `git box verify BUNDLE.tar`: the bag is checked by bag.h's checker
 * (which refuses unsafe members by name and writes none of them), its
 * box/repo.bundle is streamed into a private temporary folder and
 * imported, with fsck and no configuration from the archive, into a
 * private temporary bare repository, verify_repository() checks the box
 * there at the bag's Git-Box-Commit, and the bag's files are compared
 * with what the history holds: box/manifest.json with the note's
 * payload, box/manifest.json.asc with its signatures, box/manifest.tsr
 * with the timestamp tag, box/tsa-chain.pem with the policy's anchors,
 * and data/ with the manifest's files and with the commit's tree (each
 * file's git blob id, computed as it streamed by, and execute bit).
 * Every finding is a check of the one report ("bag", "bundle", "data",
 * then verify.h's own). Nothing in the archive is run, and every
 * temporary file and folder is removed before returning. No printing.
 */

struct bundle_options {
	struct bag_limits limits;
};

#define BUNDLE_OPTIONS_INIT { BAG_LIMITS_INIT }

/*
 * Check the bundle at `path` (a regular file, never followed if a link)
 * with the trust roots of `o`. Returns 0 when the checks ran (failures
 * == 0 in `out` means verified: a bag that is invalid or unsafe is a
 * failed check, not an error), or -1 when they could not run (the file
 * cannot be opened, no temporary folder, git cannot be started, bad
 * trust roots), with box_error set and, when there is something to do,
 * `out->hint`. `out` is filled in every case: release it.
 */
int bundle_verify(struct verify_report *out, const char *path, const struct verify_options *o,
		  const struct bundle_options *bo);

#endif
