//! `strata blocks list|inspect`: the blocks in the configured object store.
//!
//! `list` prints one line per block directory (complete blocks, plus partial ones marked
//! `partial`): ID, compaction level, time range, spans, traces, size, and whether it carries a
//! `compacted.json` marker. `inspect` prints a block's `meta.json`, its marker, the Parquet
//! schema and every row group (rows, bytes, trace-ID range).

use std::time::{Duration, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use strata_block::{list_block_dirs, read_compacted, read_meta, BlockReader};
use strata_common::{BlockId, TenantId};
use strata_storage::{list_tenants, BlockPaths, SharedStore};

#[derive(Debug, Args)]
pub struct BlocksArgs {
    #[command(subcommand)]
    action: BlocksAction,
    /// YAML configuration file whose `storage` section names the store.
    #[arg(long = "config", short = 'c', env = "STRATA_CONFIG", global = true)]
    config: Option<std::path::PathBuf>,
    /// Only this tenant (default: every tenant).
    #[arg(long, global = true)]
    tenant: Option<String>,
}

#[derive(Debug, Subcommand)]
enum BlocksAction {
    /// One line per block.
    List,
    /// Meta, marker, Parquet schema and row groups of one block.
    Inspect { block: BlockId },
}

pub async fn run(args: BlocksArgs) -> anyhow::Result<()> {
    let cfg = crate::load_config(args.config.as_ref())?;
    let store = strata_storage::build_store(&cfg.storage).context("opening the object store")?;
    let tenants = match &args.tenant {
        Some(t) => vec![TenantId::new(t).map_err(|e| anyhow::anyhow!("tenant {t:?}: {e}"))?],
        None => list_tenants(store.as_ref()).await?,
    };
    match args.action {
        BlocksAction::List => list(&store, &tenants).await,
        BlocksAction::Inspect { block } => {
            for t in &tenants {
                if read_meta(store.as_ref(), t, block).await.is_ok() {
                    return inspect(&store, t, block).await;
                }
            }
            bail!(
                "block {block} not found (no meta.json) in {} tenant(s)",
                tenants.len()
            )
        }
    }
}

fn time(ns: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_nanos(ns)).to_string()
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1}GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1}MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1}KiB", b as f64 / 1024.0),
        b => format!("{b}B"),
    }
}

async fn list(store: &SharedStore, tenants: &[TenantId]) -> anyhow::Result<()> {
    println!(
        "{:<14} {:<36} {:>5} {:<20} {:<20} {:>10} {:>8} {:>9} COMPACTED",
        "TENANT", "BLOCK", "LEVEL", "START", "END", "SPANS", "TRACES", "SIZE"
    );
    for t in tenants {
        for d in list_block_dirs(store.as_ref(), t).await? {
            if !d.has_meta {
                println!("{:<14} {:<36} partial (no meta.json)", t.as_str(), d.block);
                continue;
            }
            let m = match read_meta(store.as_ref(), t, d.block).await {
                Ok(m) => m,
                Err(e) => {
                    println!("{:<14} {:<36} unreadable: {e}", t.as_str(), d.block);
                    continue;
                }
            };
            println!(
                "{:<14} {:<36} {:>5} {:<20} {:<20} {:>10} {:>8} {:>9} {}",
                t.as_str(),
                d.block,
                m.compaction_level,
                time(m.start_time_unix_nano),
                time(m.end_time_unix_nano),
                m.total_spans,
                m.total_traces,
                size(m.size_bytes + m.bloom_bytes),
                if d.has_compacted { "yes" } else { "no" }
            );
        }
    }
    Ok(())
}

async fn inspect(store: &SharedStore, tenant: &TenantId, block: BlockId) -> anyhow::Result<()> {
    let reader = BlockReader::open(store.clone(), tenant, block).await?;
    println!(
        "meta.json:\n{}",
        serde_json::to_string_pretty(reader.meta())?
    );
    let paths = BlockPaths::new(tenant.clone(), block);
    match read_compacted(store.as_ref(), &paths).await? {
        Some(m) => println!("compacted.json:\n{}", serde_json::to_string_pretty(&m)?),
        None => println!("compacted.json: none"),
    }
    let md = reader.parquet_metadata().await?;
    let fm = md.file_metadata();
    println!(
        "\nparquet: version {}, {} rows, created by {}",
        fm.version(),
        fm.num_rows(),
        fm.created_by().unwrap_or("?")
    );
    println!("schema ({} leaf columns):", fm.schema_descr().num_columns());
    for c in fm.schema_descr().columns() {
        println!("  {:<48} {}", c.path().string(), c.physical_type());
    }
    println!(
        "\n{:>4} {:>8} {:>12} {:>12}  TRACE IDS",
        "RG", "ROWS", "COMPRESSED", "UNCOMPRESSED"
    );
    for (i, rg) in md.row_groups().iter().enumerate() {
        let stats = rg
            .column(strata_block::schema::TRACE_ID_COLUMN)
            .statistics();
        let range = match (
            stats.and_then(|s| s.min_bytes_opt()),
            stats.and_then(|s| s.max_bytes_opt()),
        ) {
            (Some(lo), Some(hi)) => format!("{} .. {}", hex(lo), hex(hi)),
            _ => "no statistics".to_string(),
        };
        println!(
            "{:>4} {:>8} {:>12} {:>12}  {}",
            i,
            rg.num_rows(),
            size(rg.compressed_size().max(0) as u64),
            size(rg.total_byte_size().max(0) as u64),
            range
        );
    }
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
