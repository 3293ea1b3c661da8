//! A block searched in parts (`SearchJob::search_row_groups` over a partition of its row
//! groups) finds exactly what one `search_block` finds and what a brute-force search of
//! every row finds: each trace in exactly one part, whole, traces straddling row groups and
//! traces longer than a row group included, with the same counts of inspected traces and
//! spans and of skipped row groups.

#[path = "prune/fixture.rs"]
#[allow(dead_code)]
mod fixture;

use std::collections::HashSet;
use std::ops::Range;

use fixture::*;
use strata_block::BlockReader;
use strata_engine::search::{SearchAccumulator, SearchJob};
use strata_proto::tempopb;

/// Partitions of `n` row groups: one row group per part, pairs, threes from an offset,
/// everything in one part that runs past the end, and an empty part.
fn partitions(n: usize) -> Vec<Vec<Range<usize>>> {
    let by = |step: usize, first: usize| {
        let mut cuts = vec![0];
        let mut at = first.max(1);
        while at < n {
            cuts.push(at);
            at += step;
        }
        cuts.push(n);
        cuts.windows(2).map(|w| w[0]..w[1]).collect::<Vec<_>>()
    };
    vec![
        by(1, 1),
        by(2, 2),
        by(3, 1),
        vec![0..n + 3],
        vec![0..2, 2..2, 2..n],
    ]
}

struct Found {
    traces: Vec<tempopb::TraceSearchMetadata>,
    spans: u64,
    inspected_traces: u32,
    pruned_row_groups: u64,
    total_blocks: u32,
}

fn found(acc: SearchAccumulator, limit: usize) -> Found {
    let pruned_row_groups = acc.pruned_row_groups;
    let resp = acc.finish(limit);
    let m = resp.metrics.unwrap_or_default();
    Found {
        traces: resp.traces,
        spans: m.inspected_spans,
        inspected_traces: m.inspected_traces,
        pruned_row_groups,
        total_blocks: m.total_blocks,
    }
}

async fn whole(reader: &BlockReader, job: &SearchJob) -> Found {
    let mut acc = SearchAccumulator::new();
    job.search_block(reader, &mut acc).await.expect("search");
    found(acc, job.limit())
}

/// The parts' answers merged; fails when a trace is found by two parts.
async fn in_parts(reader: &BlockReader, job: &SearchJob, parts: &[Range<usize>]) -> Found {
    let mut all = SearchAccumulator::new();
    let mut seen = HashSet::new();
    for p in parts {
        let mut acc = SearchAccumulator::new();
        job.search_row_groups(reader, p.clone(), &mut acc)
            .await
            .expect("search part");
        all.pruned_row_groups += acc.pruned_row_groups;
        let resp = acc.finish(usize::MAX);
        for t in &resp.traces {
            assert!(
                seen.insert(t.trace_id.clone()),
                "trace {} found by two parts ({p:?})",
                t.trace_id
            );
        }
        all.add_response(resp);
    }
    found(all, job.limit())
}

async fn check(reader: &BlockReader, queries: &[&str], ranges: &[(u32, u32)]) {
    let n = reader
        .parquet_metadata()
        .await
        .expect("footer")
        .num_row_groups();
    let mut failures = Vec::new();
    for q in queries {
        for &(start, end) in ranges {
            let job = job(q, start, end);
            let want = brute_force(reader, &job).await;
            let one = whole(reader, &job).await;
            assert_eq!(
                one.traces, want,
                "{q}: search_block differs from brute force"
            );
            for parts in partitions(n) {
                let got = in_parts(reader, &job, &parts).await;
                let label = format!("{q} in {start}..{end}, parts {parts:?}");
                if got.traces != want {
                    failures.push(format!("{label}: traces differ"));
                }
                if (got.spans, got.inspected_traces) != (one.spans, one.inspected_traces) {
                    failures.push(format!(
                        "{label}: inspected {} spans / {} traces, whole {} / {}",
                        got.spans, got.inspected_traces, one.spans, one.inspected_traces
                    ));
                }
                if got.pruned_row_groups != one.pruned_row_groups {
                    failures.push(format!(
                        "{label}: pruned {} row groups, whole {}",
                        got.pruned_row_groups, one.pruned_row_groups
                    ));
                }
                if got.total_blocks != 1 {
                    failures.push(format!("{label}: {} blocks counted", got.total_blocks));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn parts_of_a_banded_block_answer_like_the_whole() {
    // 300 traces of 1..13 spans in row groups of 100 spans: many straddle a boundary.
    let reader = write(&banded(), TAIL_ROWS as usize).await;
    let from = (BASE_S + 100) as u32;
    let (tail, _) = tail_trace();
    let to = (BASE_S + tail) as u32;
    check(
        &reader,
        &[
            "{ }",
            r#"{ name = "tail" }"#,
            r#"{ name = "op-3-1" }"#,
            r#"{ resource.service.name = "svc-4" }"#,
            "{ duration > 8ms }",
            "{ status = error }",
            "{ span.j = 3 }",
            r#"{ name = "op-6-0" } >> { duration > 6ms }"#,
            r#"{ resource.service.name = "svc-5" } | count() > 3"#,
        ],
        &[(0, 0), (from, from + 50), (to - 20, to)],
    )
    .await;
}

/// The same over a concatenation (format v5): three sorted runs of the banded traces, so
/// parts also start and end at run boundaries.
#[tokio::test]
async fn parts_of_a_concatenated_block_answer_like_the_whole() {
    let reader = concatenated(&banded(), TAIL_ROWS as usize, 3).await;
    let from = (BASE_S + 100) as u32;
    check(
        &reader,
        &[
            "{ }",
            r#"{ name = "tail" }"#,
            r#"{ resource.service.name = "svc-4" }"#,
            "{ duration > 8ms }",
            r#"{ name = "op-6-0" } >> { duration > 6ms }"#,
        ],
        &[(0, 0), (from, from + 50)],
    )
    .await;
}

#[tokio::test]
async fn traces_longer_than_a_row_group_are_found_once() {
    // Traces of 3 spans, every 25th of 250: row groups of 40 spans lie wholly inside them.
    let specs: Vec<(String, Vec<String>)> = (0..120)
        .map(|n| {
            let len = if n % 25 == 7 { 250 } else { 3 };
            let names = (0..len).map(|j| format!("op-{}", (n + j) % 5)).collect();
            (format!("svc-{}", n % 4), names)
        })
        .collect();
    let reader = write(&named(&specs), 40).await;
    let n = reader
        .parquet_metadata()
        .await
        .expect("footer")
        .num_row_groups();
    assert!(n > 20, "{n} row groups");
    let from = (BASE_S + 30) as u32;
    check(
        &reader,
        &[
            "{ }",
            r#"{ name = "op-2" }"#,
            r#"{ resource.service.name = "svc-3" }"#,
            r#"{ resource.service.name = "svc-1" && name = "op-4" }"#,
        ],
        &[(0, 0), (from, from + 40)],
    )
    .await;
}

/// Bytes of the `name` column's dictionary pages, over every row group.
async fn name_dictionary_bytes(reader: &BlockReader) -> u64 {
    let md = reader.parquet_metadata().await.expect("footer");
    md.row_groups()
        .iter()
        .flat_map(|rg| rg.columns())
        .filter(|c| c.column_descr().path().string() == "name")
        .filter_map(|c| {
            let dict = c.dictionary_page_offset()?;
            Some((c.data_page_offset() - dict) as u64)
        })
        .sum()
}

/// A search that matches nothing in a time range skips every row group by time, statistics
/// or dictionaries, whole or in parts, without reading a data page: statistics alone read
/// nothing, a `name` equality reads at most the `name` dictionaries.
#[tokio::test]
async fn a_search_matching_nothing_reads_no_data_pages() {
    let reader = write(&banded(), TAIL_ROWS as usize).await;
    let n = reader
        .parquet_metadata()
        .await
        .expect("footer")
        .num_row_groups();
    let dictionaries = name_dictionary_bytes(&reader).await;
    assert!(dictionaries > 0);
    let from = (BASE_S + 200) as u32;
    for (query, most) in [
        ("{ duration > 1h }", 0),
        (r#"{ name = "op-3-1" }"#, dictionaries),
        (r#"{ name = "no-such-name" }"#, dictionaries),
    ] {
        let job = job(query, from, from + 50);
        let mut parts = vec![None];
        parts.extend(partitions(n).into_iter().map(Some));
        for p in parts {
            let mut acc = SearchAccumulator::new();
            match &p {
                None => job.search_block(&reader, &mut acc).await.expect("search"),
                Some(p) => {
                    for g in p {
                        job.search_row_groups(&reader, g.clone(), &mut acc)
                            .await
                            .expect("search part");
                    }
                }
            }
            let pruned = acc.pruned_row_groups;
            let resp = acc.finish(job.limit());
            let m = resp.metrics.unwrap_or_default();
            assert!(resp.traces.is_empty(), "{query} {p:?}");
            assert_eq!(m.inspected_spans, 0, "{query} {p:?}");
            assert_eq!(pruned, n as u64, "{query} {p:?}: every row group skipped");
            // Parts may read the dictionaries of a row group twice (at their edges).
            let most = if p.is_some() { 2 * most } else { most };
            assert!(
                m.inspected_bytes <= most,
                "{query} {p:?}: read {} bytes, dictionaries {most}",
                m.inspected_bytes
            );
        }
    }
}
