//! `mds stream` (not implemented yet).

use std::process::ExitCode;

/// Arguments of `mds stream`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`mds stream` is not implemented yet")
}
