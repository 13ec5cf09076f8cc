//! The Kubernetes manifests in deploy/kubernetes/ hold what podwarden reads: each ConfigMap's
//! podwarden.toml loads, and the sharded Indexed Jobs have one completion per `[[shard]]`
//! (podwarden refuses a `JOB_COMPLETION_INDEX` past the last shard; a shard without a
//! completion would never run). `.ci/run` validates the manifests' schema itself.

use std::path::Path;

use crate::support::repo;

/// The `podwarden.toml: |` block of a ConfigMap, dedented.
fn podwarden_toml(configmap: &str) -> String {
    let text = std::fs::read_to_string(repo().join(configmap)).expect("configmap");
    let block = text
        .split_once("podwarden.toml: |\n")
        .map(|(_, rest)| rest)
        .expect("a podwarden.toml key");
    block
        .lines()
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| l.get(4..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn load(configmap: &str) -> podwarden::config::Config {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("podwarden.toml");
    std::fs::write(&path, podwarden_toml(configmap)).expect("written");
    podwarden::config::Config::load_whole(&path).unwrap_or_else(|e| panic!("{configmap}: {e}"))
}

fn completions(manifest: &str) -> usize {
    let text = std::fs::read_to_string(repo().join(manifest)).expect("manifest");
    assert!(
        text.contains("completionMode: Indexed"),
        "{manifest} is Indexed"
    );
    text.lines()
        .find_map(|l| l.trim().strip_prefix("completions:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{manifest}: no completions"))
}

#[test]
fn the_configmaps_load_and_the_indexed_jobs_run_every_shard() {
    let single = load("deploy/kubernetes/configmap.yaml");
    assert!(single.shards.is_empty());
    let sharded = load("deploy/kubernetes/sharded/configmap.yaml");
    assert!(sharded.shards.len() >= 2, "{:?}", sharded.shards);
    for job in [
        "deploy/kubernetes/sharded/cronjob.yaml",
        "deploy/kubernetes/sharded/observe-cronjob.yaml",
    ] {
        assert_eq!(completions(job), sharded.shards.len(), "{job}");
    }
    for shard in &sharded.shards {
        assert!(shard
            .state
            .starts_with(Path::new("/var/lib/podwarden/state/shards")));
    }
}
