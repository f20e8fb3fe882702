"""One function per command. Each write stores its events in the outbox of the document it
changes, in the same single-document update (communitykit.outbox); the relay publishes them."""
