//! `mds cat` (not implemented yet).

use std::process::ExitCode;

/// Arguments of `mds cat`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`mds cat` is not implemented yet")
}
