//! `mds inspect` (not implemented yet).

use std::process::ExitCode;

/// Arguments of `mds inspect`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`mds inspect` is not implemented yet")
}
