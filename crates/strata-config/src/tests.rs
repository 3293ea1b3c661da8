use std::time::Duration;

use super::*;

#[test]
fn empty_file_is_all_defaults() {
    let cfg = Config::from_yaml("").unwrap();
    assert_eq!(cfg, Config::default());
    assert_eq!(cfg.server.http_listen_address, "0.0.0.0:3200");
    assert_eq!(cfg.ingester.wal.fsync, FsyncMode::Always);
}

#[test]
fn unknown_key_is_an_error_naming_it() {
    let err = Config::from_yaml("ingester:\n  trace_idle_perod: 5s\n").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("trace_idle_perod"), "{msg}");
}

#[test]
fn durations_and_enums_parse() {
    let cfg = Config::from_yaml(
        "ingester:\n  trace_idle_period: 2s\n  max_block_duration: 1h\n  wal:\n    fsync: never\nstorage:\n  backend: memory\n",
    )
    .unwrap();
    assert_eq!(cfg.ingester.trace_idle_period, Duration::from_secs(2));
    assert_eq!(cfg.ingester.max_block_duration, Duration::from_secs(3600));
    assert_eq!(cfg.ingester.wal.fsync, FsyncMode::Never);
    assert_eq!(cfg.storage.backend, StorageBackend::Memory);
}

#[test]
fn invalid_combinations_are_rejected() {
    let err = Config::from_yaml("ingester:\n  trace_idle_period: 10s\n  trace_live_period: 5s\n")
        .unwrap_err();
    assert!(err.to_string().contains("trace_live_period"));
    assert!(Config::from_yaml("storage:\n  block:\n    bloom_false_positive: 1.5\n").is_err());
    let err = Config::from_yaml("overrides:\n  defaults:\n    sampling:\n      head_ratio: 2\n")
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("defaults.sampling.head_ratio must be between 0 and 1"),
        "{err}"
    );
}

#[test]
fn dumped_yaml_loads_back() {
    let cfg = Config::default();
    assert_eq!(Config::from_yaml(&cfg.to_yaml()).unwrap(), cfg);
}

/// Every file in `config/` at the repository root must load.
#[test]
fn shipped_config_files_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            Config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            n += 1;
        }
    }
    assert!(n >= 1, "no config files found in {}", dir.display());
}
