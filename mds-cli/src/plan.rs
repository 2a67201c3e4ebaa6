//! `mds plan` (not implemented yet).

use std::process::ExitCode;

/// Arguments of `mds plan`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`mds plan` is not implemented yet")
}
