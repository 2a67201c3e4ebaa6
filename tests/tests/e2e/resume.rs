//! Stop after k samples, save the state, resume in new processes (ranks simulated as separate
//! processes, also on a different number of nodes): the runs together give exactly the
//! uninterrupted epoch. The test binary re-executes itself as the rank processes.

use std::path::{Path, PathBuf};
use std::process::Command;

use mds_dataset::{ResumeState, StreamingDataset, World};

const CHILD: &str = "MDS_E2E_RANK_CHILD";

/// Writes a dataset of `n` samples whose `id` column is the sample index.
fn write_dataset(dir: &Path, n: i64) {
    let mut w = mds_format::MdsWriter::builder(dir)
        .with_columns(&[("id", "int"), ("pad", "bytes")])
        .with_size_limit(Some(4096))
        .build_mds()
        .unwrap();
    for i in 0..n {
        let pad = bytes::Bytes::from(vec![u8::try_from(i % 251).unwrap(); 37]);
        w.write(&[
            mds_format::encoding::Value::Int(i),
            mds_format::encoding::Value::Bytes(pad),
        ])
        .unwrap();
    }
    w.finish().unwrap();
}

fn id(s: &mds_dataset::Sample) -> i64 {
    match s.get("id") {
        Some(mds_format::encoding::Value::Int(v)) => *v,
        other => panic!("bad id {other:?}"),
    }
}

/// One rank: reads up to `limit` samples of its share, writes the ids (and rank 0 the state).
#[test]
fn rank_child() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let v: serde_json::Value = serde_json::from_str(&spec).unwrap();
    let get = |k: &str| v[k].as_u64().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let world = World::new(
        u32::try_from(get("rank")).unwrap(),
        u32::try_from(get("ranks")).unwrap(),
        1,
    )
    .unwrap();
    let ds = StreamingDataset::builder()
        .with_local(Path::new(v["dir"].as_str().unwrap()))
        .with_shuffle(true)
        .with_num_canonical_nodes(4)
        .with_batch_size(u32::try_from(get("batch")).unwrap())
        .with_world(world)
        .with_runtime(rt.handle().clone())
        .build()
        .unwrap();
    if let Some(p) = v["resume"].as_str() {
        ds.load_state_dict(ResumeState::from_json(&std::fs::read_to_string(p).unwrap()).unwrap());
    }
    let limit = v["limit"].as_u64();
    let mut ids = Vec::new();
    for s in ds.iter().unwrap() {
        ids.push(id(&s.unwrap()));
        if limit.is_some_and(|l| ids.len() as u64 >= l) {
            break;
        }
    }
    std::fs::write(
        v["out"].as_str().unwrap(),
        serde_json::to_string(&ids).unwrap(),
    )
    .unwrap();
    if let Some(p) = v["state_out"].as_str() {
        let state = ds.state_dict(ids.len() as u64 * get("ranks"), false);
        std::fs::write(p, state.to_json()).unwrap();
    }
}

fn run_ranks(
    dir: &Path,
    tmp: &Path,
    tag: &str,
    ranks: u64,
    batch: u64,
    limit: Option<u64>,
    resume: Option<&Path>,
) -> (Vec<i64>, PathBuf) {
    let state = tmp.join(format!("{tag}.state.json"));
    let children: Vec<_> = (0..ranks)
        .map(|r| {
            let out = tmp.join(format!("{tag}.{r}.json"));
            let spec = serde_json::json!({
                "dir": dir, "rank": r, "ranks": ranks, "batch": batch, "limit": limit,
                "out": out, "resume": resume, "state_out": (r == 0).then_some(&state),
            });
            let child = Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "resume::rank_child",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD, spec.to_string())
                .spawn()
                .unwrap();
            (child, out)
        })
        .collect();
    let mut all = Vec::new();
    for (mut c, out) in children {
        assert!(c.wait().unwrap().success(), "rank process failed");
        let ids: Vec<i64> = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
        all.extend(ids);
    }
    (all, state)
}

#[test]
fn stop_save_resume_in_new_processes_on_other_node_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    write_dataset(&dir, 1000);
    // Uninterrupted epoch on 2 ranks: every sample exactly once.
    let (mut full, _) = run_ranks(&dir, tmp.path(), "full", 2, 4, None, None);
    full.sort_unstable();
    assert_eq!(full, (0..1000).collect::<Vec<_>>());
    for (ranks_after, tag) in [(2, "same"), (1, "fewer"), (4, "more")] {
        // 2 ranks stop after 12 batches of 4, then `ranks_after` processes resume.
        let (first, state) = run_ranks(&dir, tmp.path(), &format!("{tag}.a"), 2, 4, Some(48), None);
        let st = ResumeState::from_json(&std::fs::read_to_string(&state).unwrap()).unwrap();
        assert_eq!(
            (st.epoch, st.sample_in_epoch, st.num_canonical_nodes),
            (0, 96, 4)
        );
        let (second, _) = run_ranks(
            &dir,
            tmp.path(),
            &format!("{tag}.b"),
            ranks_after,
            8 / ranks_after,
            None,
            Some(&state),
        );
        let mut union = first.clone();
        union.extend(&second);
        union.sort_unstable();
        assert_eq!(
            union,
            (0..1000).collect::<Vec<_>>(),
            "resumed on {ranks_after} ranks"
        );
    }
}
