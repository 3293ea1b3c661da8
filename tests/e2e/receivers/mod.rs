//! The Zipkin and Jaeger receivers against the real binary, fed by real client libraries:
//! each sends one known trace (`tests/receivers/*.py`), which is read back by ID through
//! `GET /api/traces/{id}` (protobuf) and checked field by field: service name, span names,
//! kinds, parent link, attributes, events, status and timestamps. Malformed input gets the
//! status the protocol's contract gives and leaves the server serving earlier data.
//!
//! The clients run with the Python of the venv that `make test-deps` installs
//! (mk/receivers.mk): `$STRATA_TOOLS/receivers-venv`, default `<workspace>/target/tools/...`.
//!
//! `support` runs the clients and checks what they sent; `zipkin` and `jaeger` hold the tests.

mod jaeger;
mod support;
mod zipkin;
