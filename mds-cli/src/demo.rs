//! `mds demo` (not implemented yet).

use std::process::ExitCode;

/// Arguments of `mds demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`mds demo` is not implemented yet")
}
