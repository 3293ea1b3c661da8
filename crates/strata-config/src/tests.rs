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

#[test]
fn zipkin_and_jaeger_receivers_are_on_when_present_as_in_tempo() {
    let off = Config::from_yaml("").unwrap();
    assert!(off.distributor.receivers.zipkin.is_none());
    assert!(off.distributor.receivers.jaeger.is_none());

    // Tempo's configs enable a receiver with an empty key.
    let on = Config::from_yaml(
        "distributor:\n  receivers:\n    zipkin:\n    jaeger:\n      protocols:\n        thrift_http:\n        thrift_compact:\n          endpoint: 127.0.0.1:7000\n          max_packet_size: 1000\n",
    )
    .unwrap();
    let r = &on.distributor.receivers;
    assert_eq!(r.zipkin.as_ref().unwrap().endpoint, "0.0.0.0:9411");
    let p = &r.jaeger.as_ref().unwrap().protocols;
    assert!(p.grpc.is_none() && p.thrift_binary.is_none());
    assert_eq!(p.thrift_http.as_ref().unwrap().endpoint, "0.0.0.0:14268");
    let compact = p.thrift_compact.as_ref().unwrap();
    assert_eq!(
        (compact.endpoint.as_str(), compact.max_packet_size),
        ("127.0.0.1:7000", 1000)
    );
    assert_eq!(Config::from_yaml(&on.to_yaml()).unwrap(), on);

    let all = Config::from_yaml(
        "distributor:\n  receivers:\n    jaeger:\n      protocols:\n        grpc:\n        thrift_binary: {}\n",
    )
    .unwrap();
    let p = &all.distributor.receivers.jaeger.as_ref().unwrap().protocols;
    assert_eq!(p.grpc.as_ref().unwrap().endpoint, "0.0.0.0:14250");
    assert_eq!(p.thrift_binary.as_ref().unwrap().endpoint, "0.0.0.0:6832");
    assert_eq!(p.thrift_binary.as_ref().unwrap().max_packet_size, 65_000);

    let err = Config::from_yaml("distributor:\n  receivers:\n    zipkin:\n      endpiont: x\n")
        .unwrap_err();
    assert!(err.to_string().contains("endpiont"), "{err}");
}

#[test]
fn recent_blocks_must_outlive_the_tenant_index_window() {
    let e = Config::from_yaml("ingester:\n  complete_block_timeout: 1m\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ingester.complete_block_timeout")
            && e.contains("storage.blocklist_poll_stale_tenant_index"),
        "{e}"
    );
    Config::from_yaml(
        "ingester:\n  complete_block_timeout: 1m\nstorage:\n  blocklist_poll: 10s\n  blocklist_poll_stale_tenant_index: 50s\n",
    )
    .unwrap();
}

#[test]
fn log_format_and_self_tracing_parse_and_validate() {
    let cfg = Config::from_yaml("").unwrap();
    assert_eq!(cfg.server.log_format, LogFormat::Logfmt);
    assert!(!cfg.server.self_tracing.enabled(), "off by default");

    let cfg = Config::from_yaml(
        "server:\n  log_format: json\n  self_tracing:\n    endpoint: http://localhost:4318\n    export_interval: 200ms\n",
    )
    .unwrap();
    assert_eq!(cfg.server.log_format, LogFormat::Json);
    assert!(cfg.server.self_tracing.enabled());
    assert_eq!(cfg.server.self_tracing.service_name, "strata");
    assert_eq!(
        cfg.server.self_tracing.export_interval,
        Duration::from_millis(200)
    );

    let err = Config::from_yaml("server:\n  log_format: xml\n").unwrap_err();
    assert!(err.to_string().contains("log_format"), "{err}");
    let err =
        Config::from_yaml("server:\n  self_tracing:\n    endpoint: localhost:4318\n").unwrap_err();
    assert!(err.to_string().contains("self_tracing.endpoint"), "{err}");
    let err = Config::from_yaml("server:\n  self_tracing:\n    endpont: http://x\n").unwrap_err();
    assert!(err.to_string().contains("endpont"), "{err}");
}

#[test]
fn tls_blocks_are_validated_where_they_are() {
    let cfg = Config::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/tls.yaml"),
    )
    .unwrap();
    assert!(cfg.server.grpc_tls_config.is_enabled());
    assert_eq!(
        cfg.server.grpc_tls_config.client_auth_type,
        crate::ClientAuthType::RequireAndVerifyClientCert
    );
    assert!(cfg.ingester_client.grpc_client_config.tls_enabled);
    assert_eq!(Config::from_yaml(&cfg.to_yaml()).unwrap(), cfg);

    let half = "distributor:\n  receivers:\n    zipkin:\n      tls:\n        cert_file: a.crt\n";
    let err = Config::from_yaml(half).unwrap_err().to_string();
    assert!(
        err.contains("distributor.receivers.zipkin.tls.key_file"),
        "{err}"
    );
    let no_ca = "ingester_client:\n  grpc_client_config:\n    tls_enabled: true\n";
    let err = Config::from_yaml(no_ca).unwrap_err().to_string();
    assert!(
        err.contains("ingester_client.grpc_client_config.tls_ca_path"),
        "{err}"
    );
}

#[test]
fn querier_peers_parse_and_default_to_none() {
    let cfg = Config::from_yaml(
        "querier:\n  search:\n    peers:\n      dns: queriers:3200\n      self_address: 10.0.0.1:3200\n      jobs_per_peer: 4\n      job_timeout: 5s\n",
    )
    .unwrap();
    let p = &cfg.querier.search.peers;
    assert!(!p.is_unset());
    assert_eq!(p.dns, "queriers:3200");
    assert_eq!(p.self_address, "10.0.0.1:3200");
    assert_eq!(p.jobs_per_peer, 4);
    assert_eq!(p.job_timeout, Duration::from_secs(5));
    assert_eq!(p.retry_after, Duration::from_secs(10));
    assert!(Config::default().querier.search.peers.is_unset());
    // The configuration reference spells out the defaults: no peers.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/single-binary.yaml"
    );
    let single = Config::from_yaml(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(single.querier, QuerierConfig::default());
    let err = Config::from_yaml("querier:\n  search:\n    peers:\n      member: [a:1]\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("member"), "{err}");
}

#[test]
fn querier_peers_that_cannot_work_are_refused() {
    let peers = "querier:\n  search:\n    peers:\n      members: [a:3200]\n";
    for (extra, needle) in [
        ("      jobs_per_peer: 0\n", "jobs_per_peer"),
        ("      job_timeout: 0s\n", "job_timeout"),
    ] {
        let err = Config::from_yaml(&format!("{peers}{extra}"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{err}");
    }
    // Without peers the same numbers are harmless.
    Config::from_yaml("querier:\n  search:\n    peers:\n      jobs_per_peer: 0\n").unwrap();
    // HTTPS peers need the internal clients' TLS to verify them.
    let tls = "server:\n  http_tls_config:\n    cert_file: /c.pem\n    key_file: /k.pem\n";
    let err = Config::from_yaml(&format!("{tls}{peers}"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("grpc_client_config.tls_enabled"), "{err}");
    Config::from_yaml(tls).unwrap();
}
