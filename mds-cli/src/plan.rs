//! `mds plan`: the sample ids each (node, rank, worker) reads in an epoch, as the reference
//! library would read them.
//!
//! Output: one JSON object with the resolved configuration and `"partition"`, a nested array
//! of shape `[nodes][ranks_per_node][workers_per_rank][batches][batch_size]` (the reference's
//! `get_work` shape) holding underlying sample ids, `-1` for padding.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use mds_shuffle::{EpochParams, EpochPlan, PartitionAlgo, ShuffleAlgo};

/// Arguments of `mds plan`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Dataset directory holding `index.json`, or the path of an `index.json`.
    #[arg(
        required_unless_present = "samples_per_shard",
        conflicts_with = "samples_per_shard"
    )]
    dataset: Option<PathBuf>,
    /// Samples per shard instead of a dataset, comma separated (`10,20,30`).
    #[arg(long, value_delimiter = ',')]
    samples_per_shard: Option<Vec<u64>>,
    /// Shuffle (off unless given, as in the reference).
    #[arg(long)]
    shuffle: bool,
    /// Shuffle algorithm: naive, py1b, py1br, py1e, py1s, py2s or native-node.
    #[arg(long, default_value = "py1e")]
    shuffle_algo: String,
    /// Shuffle seed.
    #[arg(long, default_value_t = 9176)]
    seed: u64,
    /// Epoch (0-based).
    #[arg(long, default_value_t = 0)]
    epoch: u64,
    /// Canonical nodes, at most 2^32 [default (also for 0, as in the reference): 64 x nodes
    /// for py1s/py2s, else nodes].
    #[arg(long)]
    num_canonical_nodes: Option<u64>,
    /// Shuffle block size [default: max(4000000 / canonical nodes, 262144)]; py1e, py1br and
    /// py1b reject 0 when shuffling, as the reference does.
    #[arg(long)]
    shuffle_block_size: Option<u64>,
    /// Physical nodes (`num_physical_nodes`), at least 1. The padded partition
    /// (nodes x ranks x workers x batches x batch size) may hold at most 2^40 entries.
    #[arg(long, default_value_t = 1)]
    nodes: u64,
    /// Ranks (devices) per node.
    #[arg(long, default_value_t = 1)]
    ranks_per_node: u64,
    /// DataLoader workers per rank.
    #[arg(long, default_value_t = 1)]
    workers_per_rank: u64,
    /// Per-device batch size.
    #[arg(long, default_value_t = 1)]
    batch_size: u64,
    /// Samples already consumed this epoch (resume point).
    #[arg(long, default_value_t = 0)]
    sample_in_epoch: u64,
    /// Physical nodes the run started with, when resuming on another count.
    #[arg(long)]
    initial_nodes: Option<u64>,
    /// Partition algorithm: orig or relaxed.
    #[arg(long, default_value = "relaxed")]
    partition_algo: String,
}

/// Reads `shards[].samples` from an `index.json` (or a directory holding one).
fn samples_per_shard(path: &Path) -> anyhow::Result<Vec<u64>> {
    let file = if path.is_dir() {
        path.join("index.json")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let index: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("cannot parse {}", file.display()))?;
    let Some(shards) = index.get("shards").and_then(serde_json::Value::as_array) else {
        bail!("{}: no `shards` array", file.display());
    };
    shards
        .iter()
        .enumerate()
        .map(|(i, shard)| {
            shard
                .get("samples")
                .and_then(serde_json::Value::as_u64)
                .with_context(|| {
                    format!(
                        "{}: shard {i} has no non-negative integer `samples`",
                        file.display()
                    )
                })
        })
        .collect()
}

#[allow(clippy::needless_pass_by_value)] // every subcommand's `run` takes its Args by value
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let sizes = match (&args.samples_per_shard, &args.dataset) {
        (Some(sizes), _) => sizes.clone(),
        (None, Some(path)) => samples_per_shard(path)?,
        (None, None) => bail!("give a dataset or --samples-per-shard"),
    };
    let params = EpochParams {
        samples_per_shard: sizes,
        seed: args.seed,
        epoch: args.epoch,
        shuffle: args.shuffle,
        shuffle_algo: ShuffleAlgo::from_name(&args.shuffle_algo).context("--shuffle-algo")?,
        num_canonical_nodes: args.num_canonical_nodes,
        shuffle_block_size: args.shuffle_block_size,
        partition_algo: PartitionAlgo::from_name(&args.partition_algo)
            .context("--partition-algo")?,
        num_physical_nodes: args.nodes,
        ranks_per_node: args.ranks_per_node,
        workers_per_rank: args.workers_per_rank,
        batch_size: args.batch_size,
        sample_in_epoch: args.sample_in_epoch,
        initial_physical_nodes: args.initial_nodes,
        ..EpochParams::default()
    };
    let plan = EpochPlan::new(&params).map_err(|e| {
        let flags = flags_of(&e);
        let err = anyhow::Error::new(e);
        if flags.is_empty() {
            err.context("cannot plan the epoch")
        } else {
            err.context(format!("cannot plan the epoch (check {flags})"))
        }
    })?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    write_plan(&mut out, &args, &plan).context("cannot write the plan")?;
    out.flush().context("cannot write the plan")?;
    Ok(ExitCode::SUCCESS)
}

/// The command-line flags behind a planning error, for the message (`""` when none applies).
fn flags_of(err: &mds_shuffle::Error) -> &'static str {
    use mds_shuffle::Error as E;
    let name = match err {
        E::TooLarge { name, .. } | E::InvalidParam { name, .. } => *name,
        E::BlockSizeTooSmall { .. } => "shuffle_block_size",
        E::PartitionTooLarge { .. } | E::PaddingTooLarge { .. } => {
            return "--nodes, --ranks-per-node, --workers-per-rank, --batch-size";
        }
        E::EmptyCanonicalNode { .. } => "num_canonical_nodes",
        E::IndivisibleNodes { .. } => "num_canonical_nodes_and_nodes",
        E::ResumeBeyondEpoch { .. } => "sample_in_epoch",
        E::GlobalBatchIndivisible { .. } => "initial_physical_nodes",
        _ => "",
    };
    match name {
        "num_physical_nodes" => "--nodes",
        "num_canonical_nodes" => "--num-canonical-nodes",
        "num_canonical_nodes_and_nodes" => "--num-canonical-nodes, --nodes",
        "shuffle_block_size" => "--shuffle-block-size",
        "ranks_per_node" => "--ranks-per-node",
        "workers_per_rank" => "--workers-per-rank",
        "batch_size" => "--batch-size",
        "sample_in_epoch" => "--sample-in-epoch",
        "initial_physical_nodes" => "--initial-nodes",
        n if n.contains("samples_per_shard") => "the dataset's shard sizes / --samples-per-shard",
        _ => "",
    }
}

/// Streams the JSON object (the partition can be far larger than memory would like).
fn write_plan(out: &mut impl Write, args: &Args, plan: &EpochPlan) -> std::io::Result<()> {
    let [nodes, ranks, workers, batches, batch_size] = plan.shape();
    write!(
        out,
        "{{\"shape\":[{nodes},{ranks},{workers},{batches},{batch_size}],\"epoch_size\":{},\"shuffle\":{},\"shuffle_algo\":\"{}\",\
         \"seed\":{},\"epoch\":{},\"num_canonical_nodes\":{},\"shuffle_block_size\":{},\
         \"partition_algo\":\"{}\",\"sample_in_epoch\":{},\"partition\":",
        plan.epoch_size(),
        args.shuffle,
        args.shuffle_algo,
        args.seed,
        args.epoch,
        plan.num_canonical_nodes(),
        plan.shuffle_block_size(),
        args.partition_algo,
        args.sample_in_epoch,
    )?;
    out.write_all(b"[")?;
    for node in 0..nodes {
        out.write_all(if node > 0 { b",[" } else { b"[" })?;
        for rank in 0..ranks {
            out.write_all(if rank > 0 { b",[" } else { b"[" })?;
            for worker in 0..workers {
                out.write_all(if worker > 0 { b",[" } else { b"[" })?;
                let mut ids = plan.worker_padded(node, rank, worker);
                for batch in 0..batches {
                    out.write_all(if batch > 0 { b",[" } else { b"[" })?;
                    for slot in 0..batch_size {
                        if slot > 0 {
                            out.write_all(b",")?;
                        }
                        match ids.next().flatten() {
                            Some(id) => write!(out, "{id}")?,
                            None => out.write_all(b"-1")?,
                        }
                    }
                    out.write_all(b"]")?;
                }
                out.write_all(b"]")?;
            }
            out.write_all(b"]")?;
        }
        out.write_all(b"]")?;
    }
    out.write_all(b"]}\n")
}
