// Package vuln is Redoubt's vulnerability database: OSV records imported from the osv.dev
// per-ecosystem exports (or a mirror, or an offline bundle) into one embedded SQLite file
// indexed by (ecosystem, package), and the matcher that answers "which known vulnerabilities
// affect these package versions" exactly as the OSV schema's evaluation algorithm says.
//
// Layout of a database directory (DefaultDir, or $REDOUBT_DB_DIR):
//
//	vuln.db          the database: records, affected ranges, sources, counts
//	extra/NAME       extra files fetched beside the data (ExtraFile)
//	.lock            held by an update or import while it runs
//
// An update builds a new vuln.db beside the old one and renames it into place, so a crash or a
// kill at any moment leaves the previous database whole and usable.
//
// Matching honours SEMVER and ECOSYSTEM ranges (introduced, fixed, last_affected, limit) and
// the versions lists; GIT ranges are ignored, since they need the repository's commit graph
// and installed packages carry versions, not commits. Withdrawn records never match.
package vuln
