//! `mds verify` (not implemented yet).

use std::process::ExitCode;

/// Arguments of `mds verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`mds verify` is not implemented yet")
}
