//! Checkpoints: the reference's `state_dict` keys, interchangeable with the Python library.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where an interrupted run stands (reference §17.1), with the Python library's keys:
/// `{"epoch", "sample_in_epoch", "num_canonical_nodes", "shuffle_seed", "initial_physical_nodes"}`.
///
/// `sample_in_epoch` counts samples consumed by the whole job (all ranks) in `epoch`.
/// A state whose epoch is older than the dataset's next epoch is ignored, as in the reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeState {
    /// Epoch in progress (−1 when no epoch has started).
    pub epoch: i64,
    /// Samples of `epoch` already consumed globally.
    pub sample_in_epoch: u64,
    /// Canonical node count that fixed the sample order.
    pub num_canonical_nodes: u32,
    /// Seed in effect.
    pub shuffle_seed: u64,
    /// Physical node count of the run that started the epoch (absent in old checkpoints).
    #[serde(default)]
    pub initial_physical_nodes: Option<u32>,
}

impl ResumeState {
    /// Serializes as JSON with sorted keys, like the Python library's shared-memory copy.
    pub fn to_json(&self) -> String {
        // Field order above is already alphabetical except for the last key: build it by hand
        // so the output is stable and sorted.
        let ipn = self
            .initial_physical_nodes
            .map_or_else(|| "null".to_owned(), |n| n.to_string());
        format!(
            "{{\"epoch\": {}, \"initial_physical_nodes\": {ipn}, \"num_canonical_nodes\": {}, \"sample_in_epoch\": {}, \"shuffle_seed\": {}}}",
            self.epoch, self.num_canonical_nodes, self.sample_in_epoch, self.shuffle_seed
        )
    }

    /// Parses a state dict written by either library (unknown keys are ignored).
    pub fn from_json(text: &str) -> Result<Self> {
        let s: Self = serde_json::from_str(text).map_err(|e| Error::InvalidState {
            reason: format!("not a state dict: {e}"),
        })?;
        if s.num_canonical_nodes == 0 {
            return Err(Error::InvalidState {
                reason: "num_canonical_nodes must be positive".into(),
            });
        }
        if s.initial_physical_nodes == Some(0) {
            return Err(Error::InvalidState {
                reason: "initial_physical_nodes must be positive".into(),
            });
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_python_form() {
        let py = r#"{"epoch": 0, "initial_physical_nodes": 2, "num_canonical_nodes": 4, "sample_in_epoch": 64, "shuffle_seed": 9176}"#;
        let s = ResumeState::from_json(py).unwrap();
        assert_eq!(s.to_json(), py);
        let old = ResumeState::from_json(
            r#"{"epoch":1,"sample_in_epoch":3,"num_canonical_nodes":1,"shuffle_seed":5}"#,
        )
        .unwrap();
        assert_eq!(old.initial_physical_nodes, None);
        assert!(ResumeState::from_json("{}").is_err());
    }
}
