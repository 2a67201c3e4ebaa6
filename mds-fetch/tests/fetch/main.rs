//! Integration tests of mds-fetch: local and in-memory fetchers, retries under paused time,
//! the real backends on loopback emulators, and faults injected by a proxy.
//!
//! Backend tests read `MDS_TEST_{S3,GCS,AZURE,HTTP}_ENDPOINT` (written by
//! `scripts/emulators/start.sh`); without them they print why and return, unless
//! `MDS_TEST_REQUIRE_BACKENDS=1`, under which a missing emulator is a failure.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns fail loudly by design"
)]

mod backends;
mod common;
#[cfg(feature = "s3")]
mod faults;
mod local;
mod retry;
