// Command ferretdb-local runs FerretDB 1.24 (MongoDB wire protocol over SQLite)
// through its embeddable package.
//
// Why not `go install .../cmd/ferretdb`: that binary panics at start-up because
// build/version expects a generated version.txt the module does not ship. The
// embeddable package has no such check, so this tiny main is the reliable way.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// defaultSQLiteParams: synchronous(normal) instead of SQLite's FULL. FerretDB autocommits
// every statement (each insert, each update of a bulk write is its own transaction) and
// under FULL each commit fsyncs the WAL; under NORMAL in WAL mode the WAL is synced at
// checkpoints only. The database stays consistent after any crash; an OS crash or power
// loss can lose the last commits (an application crash loses nothing). Real MongoDB
// likewise group-commits its journal (every 100 ms) instead of syncing each write. It
// doubles upserts that insert (see deploy/local/ferretdb/measure_upserts.py). This is the
// local/test store only: production runs MongoDB.
const defaultSQLiteParams = "_pragma=synchronous(normal)"

// sqliteURL is FerretDB's SQLite URL for dir with the given query parameters; FerretDB adds
// its own defaults (busy_timeout, journal_mode(wal), auto_vacuum(none)) unless set here.
func sqliteURL(dir, params string) string {
	u := "file:" + dir + "/"
	if params != "" {
		u += "?" + params
	}
	return u
}

// defaultGCPercent: FerretDB decodes every document it reads from JSON into a fresh tree
// (and encodes every one it writes), so it allocates a great deal per request while its live
// heap stays small (tens of MB); with Go's default GOGC=100 the collector then runs every few
// MB of allocation. Profiled on the outbox relay (read 500 documents, mark them in one bulk),
// 400 cut FerretDB's CPU per document by about a quarter; memory stays bounded (a peak of
// about five times the live heap: ~50 MB here). The GOGC environment variable still wins.
const defaultGCPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}

	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dir := flag.String("dir", "./data", "directory for the SQLite databases")
	params := flag.String("sqlite-params", defaultSQLiteParams,
		"query parameters of the SQLite URL (each _pragma=... runs on every new connection)")
	flag.Parse()

	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-local: cannot create %s: %v\n", *dir, err)
		os.Exit(1)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Handler:   "sqlite",
		SQLiteURL: sqliteURL(*dir, *params),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-local: %v\n", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	fmt.Printf("ferretdb-local: listening on %s, data in %s (%s)\n", *listen, *dir, f.MongoDBURI())
	if err := f.Run(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "ferretdb-local: %v\n", err)
		os.Exit(1)
	}
}
