// A SQLite VFS that writes each commit's WAL frames with one write() instead
// of two per page. SQLite appends a frame as a 24-byte header and then the
// page, each its own pwrite; a metrics batch commits ~40 pages, so ~80 system
// calls per commit were a fifth of the metrics handler's time.
//
// Over the default VFS: every file but a WAL is the default VFS's own. A WAL
// file gathers appends that follow each other in memory and writes them out
// (1) as soon as the commit frame is complete (a frame header whose
// "database size after commit" field is not zero, then its page), so a
// commit is in the OS before SQLite publishes it in the WAL index to other
// connections and before COMMIT returns; (2) before any read, sync, truncate,
// size query, file control or close, and before a write that does not
// follow on (SQLite rewriting a frame of the open transaction); (3) past
// 1 MiB. Each flush writes pieces of at most 124 KiB (the unix VFS's limit
// per call). A failed deferred write is reported by the call that made it, so
// the transaction fails as it would have.
//
// Thread safety: registered once, process-wide; each file is used by one
// connection at a time, as SQLite guarantees.
#pragma once

namespace sluice::catalog {

// The name to pass as the VFS of Database::Open; registers the VFS on first
// use. Null if SQLite has no default VFS to wrap (then use the default).
const char* WalBatchingVfs();

}  // namespace sluice::catalog
