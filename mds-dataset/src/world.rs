//! Who this process is: node, rank and DataLoader worker (reference.md §12).

use crate::error::{Error, Result};

/// The position of one reader (a rank, or a DataLoader worker of a rank) in the job.
///
/// Ranks are numbered contiguously per node as torch.distributed does, so
/// `node = rank / ranks_per_node`. Each rank may run `workers_per_rank` DataLoader workers;
/// this value describes one of them. Build it from the environment with [`World::from_env`]
/// or explicitly with [`World::new`]; the DataLoader worker is set with [`World::with_worker`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct World {
    rank: u32,
    num_ranks: u32,
    ranks_per_node: u32,
    worker_of_rank: u32,
    workers_per_rank: u32,
}

impl Default for World {
    /// One node, one rank, one worker.
    fn default() -> Self {
        Self {
            rank: 0,
            num_ranks: 1,
            ranks_per_node: 1,
            worker_of_rank: 0,
            workers_per_rank: 1,
        }
    }
}

fn env_u32(name: &str, default: u32) -> Result<u32> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) => v.trim().parse::<u32>().map_err(|_| Error::InvalidWorld {
            reason: format!("environment variable {name}={v:?} is not a non-negative integer"),
        }),
    }
}

impl World {
    /// A world of `num_ranks` ranks, `ranks_per_node` per node, seen from `rank`, with one
    /// worker per rank.
    ///
    /// Errors when `num_ranks` or `ranks_per_node` is zero, `rank >= num_ranks`, or
    /// `num_ranks` is not a multiple of `ranks_per_node`.
    pub fn new(rank: u32, num_ranks: u32, ranks_per_node: u32) -> Result<Self> {
        let w = Self {
            rank,
            num_ranks,
            ranks_per_node,
            worker_of_rank: 0,
            workers_per_rank: 1,
        };
        w.check()?;
        Ok(w)
    }

    /// Reads `RANK` (0), `WORLD_SIZE` (1) and `LOCAL_WORLD_SIZE` (1) like torch.distributed
    /// launchers set them; one worker per rank (set workers with [`World::with_worker`]).
    pub fn from_env() -> Result<Self> {
        let rank = env_u32("RANK", 0)?;
        let num_ranks = env_u32("WORLD_SIZE", 1)?;
        let ranks_per_node = env_u32("LOCAL_WORLD_SIZE", 1)?;
        Self::new(rank, num_ranks, ranks_per_node)
    }

    /// This world seen from DataLoader worker `worker_of_rank` of `workers_per_rank`
    /// (what `torch.utils.data.get_worker_info()` reports; `(0, 1)` outside a worker).
    pub fn with_worker(mut self, worker_of_rank: u32, workers_per_rank: u32) -> Result<Self> {
        self.worker_of_rank = worker_of_rank;
        self.workers_per_rank = workers_per_rank;
        self.check()?;
        Ok(self)
    }

    fn check(&self) -> Result<()> {
        let bad = |reason: String| Err(Error::InvalidWorld { reason });
        if self.num_ranks == 0 || self.ranks_per_node == 0 || self.workers_per_rank == 0 {
            return bad(format!(
                "world size ({}), ranks per node ({}) and workers per rank ({}) must be positive",
                self.num_ranks, self.ranks_per_node, self.workers_per_rank
            ));
        }
        if !self.num_ranks.is_multiple_of(self.ranks_per_node) {
            return bad(format!(
                "world size {} is not a multiple of the local world size {}",
                self.num_ranks, self.ranks_per_node
            ));
        }
        if self.rank >= self.num_ranks {
            return bad(format!(
                "rank {} is not below world size {}",
                self.rank, self.num_ranks
            ));
        }
        if self.worker_of_rank >= self.workers_per_rank {
            return bad(format!(
                "worker {} is not below workers per rank {}",
                self.worker_of_rank, self.workers_per_rank
            ));
        }
        Ok(())
    }

    /// The "parallel" world of `replication` (reference §12.2): groups of `factor`
    /// consecutive ranks act as one rank and read identical samples.
    pub fn replicate(&self, factor: u32) -> Result<Self> {
        if factor == 0 {
            return Err(Error::param(
                "replication",
                "replication factor must be positive",
            ));
        }
        if !self.num_ranks.is_multiple_of(factor) {
            return Err(Error::param(
                "replication",
                format!(
                    "world size {} must be divisible by the replication factor {factor}",
                    self.num_ranks
                ),
            ));
        }
        let num_ranks = self.num_ranks / factor;
        let nodes = if num_ranks.is_multiple_of(self.ranks_per_node) {
            num_ranks / self.ranks_per_node
        } else {
            1
        };
        Ok(Self {
            rank: self.rank / factor,
            num_ranks,
            ranks_per_node: num_ranks / nodes,
            worker_of_rank: self.worker_of_rank,
            workers_per_rank: self.workers_per_rank,
        })
    }

    /// Global rank.
    pub fn rank(&self) -> u32 {
        self.rank
    }
    /// Number of ranks (`WORLD_SIZE`).
    pub fn num_ranks(&self) -> u32 {
        self.num_ranks
    }
    /// Ranks per node (`LOCAL_WORLD_SIZE`).
    pub fn ranks_per_node(&self) -> u32 {
        self.ranks_per_node
    }
    /// Number of physical nodes.
    pub fn num_nodes(&self) -> u32 {
        self.num_ranks / self.ranks_per_node
    }
    /// This rank's node.
    pub fn node(&self) -> u32 {
        self.rank / self.ranks_per_node
    }
    /// This rank's index within its node (`LOCAL_RANK`).
    pub fn rank_of_node(&self) -> u32 {
        self.rank % self.ranks_per_node
    }
    /// DataLoader worker index within the rank.
    pub fn worker_of_rank(&self) -> u32 {
        self.worker_of_rank
    }
    /// DataLoader workers per rank (at least 1).
    pub fn workers_per_rank(&self) -> u32 {
        self.workers_per_rank
    }
    /// Global worker index: `rank * workers_per_rank + worker_of_rank`.
    pub fn worker(&self) -> u64 {
        u64::from(self.rank) * u64::from(self.workers_per_rank) + u64::from(self.worker_of_rank)
    }
    /// Total number of workers in the job.
    pub fn num_workers(&self) -> u64 {
        u64::from(self.num_ranks) * u64::from(self.workers_per_rank)
    }
    /// True for the first worker of the first rank of each node.
    pub fn is_local_leader(&self) -> bool {
        self.rank_of_node() == 0 && self.worker_of_rank == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replication_groups_ranks() {
        let w = World::new(5, 8, 4).unwrap().with_worker(1, 2).unwrap();
        assert_eq!((w.node(), w.rank_of_node(), w.worker()), (1, 1, 11));
        let p = w.replicate(2).unwrap();
        assert_eq!(
            (p.rank(), p.num_ranks(), p.num_nodes(), p.ranks_per_node()),
            (2, 4, 1, 4)
        );
        let p = World::new(3, 4, 1).unwrap().replicate(2).unwrap();
        assert_eq!(
            (p.rank(), p.num_ranks(), p.num_nodes(), p.ranks_per_node()),
            (1, 2, 2, 1)
        );
        assert!(w.replicate(3).is_err());
        assert!(World::new(4, 4, 1).is_err());
        assert!(World::new(0, 6, 4).is_err());
    }
}
