//! `mds convert` (not implemented yet).

use std::process::ExitCode;

/// Arguments of `mds convert`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`mds convert` is not implemented yet")
}
