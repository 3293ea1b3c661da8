//! Statistics-based pruning in `SearchJob::search_block`: over real blocks, every query
//! answers exactly what a brute-force search of every row answers, and selective queries
//! skip row groups and pages.

#[path = "prune/fixture.rs"]
mod fixture;

use fixture::*;
use strata_block::BlockReader;

/// A query, whether statistics must let it skip something, whether it matches anything.
struct Case {
    query: String,
    prunes: bool,
    matches: bool,
}

fn case(query: impl Into<String>, prunes: bool, matches: bool) -> Case {
    Case {
        query: query.into(),
        prunes,
        matches,
    }
}

/// Runs every case (all of them, then reports every failure); `pages`: count skipped pages
/// rather than row groups.
async fn check(reader: &BlockReader, cases: &[Case], range: (u32, u32), pages: bool) {
    let mut failures = Vec::new();
    for c in cases {
        let q = c.query.as_str();
        let job = job(q, range.0, range.1);
        let want = brute_force(reader, &job).await;
        let (got, groups, skipped_pages) = pruned(reader, &job).await;
        if got != want {
            failures.push(format!("{q}: pruned search differs from brute force"));
        }
        if want.is_empty() == c.matches {
            failures.push(format!("{q}: {} traces", want.len()));
        }
        let skipped = if pages { skipped_pages } else { groups };
        if (skipped > 0) != c.prunes {
            failures.push(format!(
                "{q}: skipped {groups} row groups, {skipped_pages} pages"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn row_groups_are_skipped_exactly() {
    let reader = write(&banded(), TAIL_ROWS as usize).await;
    let md = reader.parquet_metadata().await.expect("footer");
    assert!(
        md.num_row_groups() > 15,
        "{} row groups",
        md.num_row_groups()
    );
    let id = trace_id(123)
        .0
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let cases = [
        case("{ }", false, true),
        case(r#"{ name = "op-3-1" }"#, true, true),
        // Only in the second of the two row groups its trace straddles.
        case(r#"{ name = "tail" }"#, true, true),
        case(r#"{ resource.service.name = "svc-4" }"#, true, true),
        // An array service.name matches by element; service_name is null for it.
        case(r#"{ resource.service.name = "svc-arr" }"#, true, true),
        // The first service.name is an int: no match, though service_name is "svc-dup".
        case(r#"{ resource.service.name = "svc-dup" }"#, true, false),
        case(r#"{ resource.service.name > "svc-8" }"#, true, true),
        case("{ duration > 8ms }", true, true),
        case("{ duration >= 2ms && duration < 3ms }", true, true),
        case("{ duration > 1h }", true, false),
        case("{ status = error }", true, true),
        case("{ status = unset }", false, true),
        case("{ status != ok }", false, true),
        case("{ kind = client }", true, true),
        case(r#"{ kind = server && name = "op-2-0" }"#, true, true),
        case(r#"{ name = "op-1-0" || name = "op-8-2" }"#, true, true),
        case(r#"{ name = "op-1-0" || span.j = 1 }"#, false, true),
        case("{ !(duration < 9ms) }", true, true),
        case(r#"{ name != "op-0-0" }"#, false, true),
        case(r#"{ !(resource.service.name = "svc-1") }"#, false, true),
        case(r#"{ !(name = "op-5-0" || duration < 5ms) }"#, true, true),
        case(r#"{ name = "op-6-0" } >> { duration > 6ms }"#, true, true),
        case(
            r#"{ resource.service.name = "svc-2" } && { status = error }"#,
            true,
            false,
        ),
        case(
            r#"{ resource.service.name = "svc-7" } && { status = error }"#,
            true,
            true,
        ),
        case(r#"{ kind = server } !> { name = "op-7-1" }"#, true, true),
        case(
            r#"{ resource.service.name = "svc-5" } | count() > 3"#,
            true,
            true,
        ),
        case(format!(r#"{{ trace:id = "{id}" }}"#), true, true),
    ];
    check(&reader, &cases, (0, 0), false).await;

    // Row groups outside the time range are skipped; traces at their edges stay whole.
    let from = (BASE_S + 100) as u32;
    let timed = [
        case("{ }", true, true),
        case("{ duration > 3ms }", true, true),
        case(r#"{ name = "op-4-2" }"#, true, true),
    ];
    check(&reader, &timed, (from, from + 50), false).await;

    // The tail trace starts in range, in a row group in range, but its `tail` span is in the
    // next row group, all of whose spans start after the range: that group is still searched.
    let (tail, split) = tail_trace();
    assert!(
        split * 300 > 1_000,
        "the tail trace's second row group overlaps the range"
    );
    let to = (BASE_S + tail) as u32;
    let straddling = [case(r#"{ name = "tail" }"#, true, true)];
    check(&reader, &straddling, (to - 20, to), false).await;
}

/// Span-local queries (one filter on the span's own fields) keep what the first pass found
/// and read only the result's columns in the second: still exactly the brute-force answer,
/// attributes reported on the spans included, with or without a time range, with array
/// values (which make the second pass evaluate in full) and with row groups skipped.
#[tokio::test]
async fn span_local_searches_answer_exactly() {
    let reader = write(&banded(), TAIL_ROWS as usize).await;
    let queries = [
        "{ span.j = 3 }",
        r#"{ span.j >= 5 && name =~ "op-2-.*" }"#,
        "{ .j = 1 || status = error }",
        "{ span.j != 2 && duration > 4ms }",
        r#"{ resource.service.name = "svc-arr" }"#,
        r#"{ resource.host.name = "h" }"#,
        r#"{ name = "op-3-1" && span.j > 0 }"#,
        r#"{ resource.service.name = "svc-6" && kind = internal }"#,
    ];
    let from = (BASE_S + 100) as u32;
    let mut failures = Vec::new();
    for q in queries {
        for (start, end) in [(0, 0), (from, from + 50)] {
            let job = job(q, start, end);
            assert!(job.plan().span_local(), "{q} is span-local");
            let want = brute_force(&reader, &job).await;
            let (got, _, _) = pruned(&reader, &job).await;
            if start == 0 && want.is_empty() {
                failures.push(format!("{q}: no match"));
            }
            if got != want {
                failures.push(format!("{q} in {start}..{end}: differs from brute force"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Span-local searches of blocks in format v3 (whose second pass reads the trace-level
/// columns and the hit rows only) and in format v2 (whose second pass reads every span of
/// the matched traces) both answer exactly what full evaluation of every row answers, on
/// generated traces with no root, two roots, several services (and none), errors, spans
/// out of order, and traces straddling row groups of 37 rows.
#[tokio::test]
async fn trace_level_columns_answer_exactly() {
    let traces = mixed(400, 7);
    let v3 = write_format(&traces, 37, strata_block::FORMAT_VERSION).await;
    let v2 = write_format(&traces, 37, strata_block::FORMAT_V2).await;
    assert!(v3.meta().has_trace_columns());
    assert!(!v2.meta().has_trace_columns());
    assert_eq!(v2.meta().format, strata_block::FORMAT_V2);
    let queries = [
        "{ duration > 30ms }",
        "{ duration > 10ms && duration < 12ms }",
        r#"{ name =~ "GET /api/.*" }"#,
        r#"{ name = "op-3" }"#,
        "{ status = error }",
        "{ kind = client && span.j = 2 }",
        r#"{ resource.service.name = "svc-b" }"#,
        "{ span.j = 4 || status = ok }",
    ];
    let mut failures = Vec::new();
    let (mut rootless, mut multi_service, mut errors) = (false, false, false);
    for q in queries {
        let job = job(q, 0, 0);
        assert!(job.plan().span_local(), "{q} is span-local");
        let want = brute_force(&v3, &job).await;
        if want.is_empty() {
            failures.push(format!("{q}: no match"));
        }
        rootless |= want
            .iter()
            .any(|t| t.root_service_name == strata_engine::search::ROOT_SPAN_NOT_YET_RECEIVED);
        multi_service |= want.iter().any(|t| t.service_stats.len() > 1);
        errors |= want
            .iter()
            .any(|t| t.service_stats.values().any(|s| s.error_count > 0));
        if brute_force(&v2, &job).await != want {
            failures.push(format!("{q}: v2 brute force differs from v3"));
        }
        for (format, reader) in [("v3", &v3), ("v2", &v2)] {
            let (got, _, _) = pruned(reader, &job).await;
            if got != want {
                failures.push(format!("{q}: {format} search differs from brute force"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        rootless && multi_service && errors,
        "the data covers the cases"
    );
}

#[tokio::test]
async fn pages_are_skipped_exactly() {
    // 80 010 spans in row groups of at most 40 000; the span at row r lasts r µs.
    let reader = write(&sequential(11_430), 40_000).await;
    let md = reader.parquet_metadata().await.expect("footer");
    assert_eq!(md.row_group(0).num_rows(), 40_000);
    let leaf = md
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|c| c.path().string() == "duration_nano")
        .expect("duration column");
    let index = md.page_index().expect("page index");
    let pages = index.offset_index(0, leaf).expect("offset index");
    assert!(pages.page_locations().len() > 1, "one page per row group");
    // A trace of 7 spans straddles the first page boundary unless it falls on a multiple of 7.
    let boundary = pages.page_locations()[1].first_row_index as u64;
    assert_ne!(boundary % 7, 0, "no trace straddles the page boundary");
    let cases = [
        case(
            format!("{{ duration >= {}ns }}", boundary * 1_000),
            true,
            true,
        ),
        case(
            format!("{{ duration < {}ns }}", boundary * 1_000),
            true,
            true,
        ),
        // Passing spans only after row 40 000; the trace began in (pruned) row group 0.
        case("{ duration >= 40000us && duration < 40003us }", true, true),
        case(r#"{ name = "op-3" }"#, true, true),
        case(r#"{ resource.service.name = "svc-b-5" }"#, true, true),
        case("{ kind = server } && { duration > 70000us }", true, true),
        case("{ duration > 1h }", false, false),
        case("{ }", false, true),
    ];
    check(&reader, &cases, (0, 0), true).await;
}

/// Row groups of 20 spans, traces of 3 (so traces straddle row groups): every row group's
/// names span `a`..`c` and services `svc-a`..`svc-c`, but `b` and `svc-b` occur only in a
/// few row groups, so only their dictionaries rule the others out.
#[tokio::test]
async fn dictionaries_skip_row_groups() {
    let specs: Vec<(String, Vec<String>)> = (0..40u64)
        .map(|n| {
            let svc = match n {
                13 => "svc-b",
                n if n % 2 == 0 => "svc-a",
                _ => "svc-c",
            };
            let names = (0..3u64)
                .map(|j| match (n, j) {
                    // Row 20, the first of group 1; the trace began in group 0.
                    (6, 2) => "b",
                    // Row 78, in group 3; the trace continues into group 4.
                    (26, 0) => "b",
                    _ if (n * 3 + j) % 2 == 0 => "a",
                    _ => "c",
                })
                .map(String::from)
                .collect();
            (svc.to_string(), names)
        })
        .collect();
    let reader = write(&named(&specs), 20).await;
    let md = reader.parquet_metadata().await.expect("footer");
    assert_eq!(md.num_row_groups(), 6);
    for rg in md.row_groups() {
        for (column, lo, hi) in [("name", "a", "c"), ("service_name", "svc-a", "svc-c")] {
            let chunk = rg
                .columns()
                .iter()
                .find(|c| c.column_descr().path().string() == column)
                .expect("column");
            let st = chunk.statistics().expect("statistics");
            assert_eq!(st.min_bytes_opt(), Some(lo.as_bytes()), "{column}");
            assert_eq!(st.max_bytes_opt(), Some(hi.as_bytes()), "{column}");
        }
    }
    let dict = reader
        .column_chunk_dictionary(0, "name")
        .await
        .expect("dictionary")
        .expect("name is dictionary-encoded");
    let mut values = dict.values.clone();
    values.sort();
    assert_eq!(values, vec![b"a".to_vec(), b"c".to_vec()]);
    assert!(dict.inspected_bytes > 0);
    let dict1 = reader
        .column_chunk_dictionary(1, "name")
        .await
        .expect("dictionary");
    assert!(dict1.is_some_and(|d| d.values.contains(&b"b".to_vec())));
    // Span IDs are written without a dictionary.
    let none = reader.column_chunk_dictionary(0, "span_id").await;
    assert!(none.expect("no dictionary").is_none());

    // `b` is in groups 1 and 3, `svc-b` (trace 13, rows 39..42) in groups 1 and 2.
    let b = job(r#"{ name = "b" }"#, 0, 0);
    let (got, groups, _) = pruned(&reader, &b).await;
    assert_eq!(got, brute_force(&reader, &b).await);
    assert_eq!(got.len(), 2);
    assert_eq!(groups, 4, "dictionaries skip groups 0, 2, 4 and 5");
    let svc = job(r#"{ resource.service.name = "svc-b" }"#, 0, 0);
    let (got, groups, _) = pruned(&reader, &svc).await;
    assert_eq!(got, brute_force(&reader, &svc).await);
    assert_eq!(groups, 4, "dictionaries skip groups 0, 3, 4 and 5");

    let cases = [
        case(r#"{ name = "b" }"#, true, true),
        case(r#"{ name = "a" }"#, false, true),
        case(
            r#"{ name = "c" && resource.service.name = "svc-a" }"#,
            false,
            true,
        ),
        case(r#"{ resource.service.name = "svc-b" }"#, true, true),
        case(
            r#"{ name = "b" && resource.service.name = "svc-b" }"#,
            true,
            false,
        ),
        case(r#"{ name = "b" || name = "bb" }"#, true, true),
        case(r#"{ name = "b" || name = "a" }"#, false, true),
        case(r#"{ name = "b" || span.j = 1 }"#, false, true),
        case(r#"{ !(name != "b") }"#, true, true),
        case(r#"{ name != "b" }"#, false, true),
        case(r#"{ name = "bb" }"#, true, false),
        // The prefilter of a structural query needs either side.
        case(r#"{ name = "b" } >> { name = "a" }"#, false, true),
        case(r#"{ name = "b" } >> { name = "bb" }"#, true, false),
        case(
            r#"{ resource.service.name = "svc-b" } && { name = "b" }"#,
            true,
            false,
        ),
    ];
    check(&reader, &cases, (0, 0), false).await;
    // In a time range: groups outside it and their dictionary-pruned neighbours.
    let from = (BASE_S + 5) as u32;
    let timed = [
        case(r#"{ name = "b" }"#, true, true),
        case(r#"{ name = "a" }"#, true, true),
    ];
    check(&reader, &timed, (from, from + 3), false).await;
}

/// A dictionary that outgrows its page limit falls back to plain pages: it no longer holds
/// every value, and must not prune.
#[tokio::test]
async fn incomplete_dictionaries_do_not_prune() {
    let long = |i: u64| format!("{i:06}-{}", "x".repeat(200));
    let specs: Vec<(String, Vec<String>)> = (0..2_000u64)
        .map(|n| {
            let names = (0..4).map(|j| long(n * 4 + j)).collect();
            ("svc".to_string(), names)
        })
        .collect();
    let reader = write(&named(&specs), 100_000).await;
    let md = reader.parquet_metadata().await.expect("footer");
    assert_eq!(md.num_row_groups(), 1);
    let chunk = md
        .row_group(0)
        .columns()
        .iter()
        .find(|c| c.column_descr().path().string() == "name")
        .expect("name column");
    assert!(chunk.dictionary_page_offset().is_some(), "no dictionary");
    let mask = chunk.page_encoding_stats_mask().expect("encoding stats");
    assert!(
        mask.is_set(parquet::basic::Encoding::PLAIN),
        "no plain pages"
    );
    let dict = reader.column_chunk_dictionary(0, "name").await;
    assert!(
        dict.expect("dictionary").is_none(),
        "dictionary is exhaustive"
    );
    let last = long(7_999);
    let cases = [
        case(format!(r#"{{ name = "{last}" }}"#), false, true),
        case(format!(r#"{{ name = "{}" }}"#, long(3)), false, true),
    ];
    check(&reader, &cases, (0, 0), false).await;
}

/// Whether the block's footer marks its `service_name` column exact.
async fn service_name_exact(reader: &BlockReader) -> bool {
    let md = reader.parquet_metadata().await.expect("footer");
    md.file_metadata().key_value_metadata().is_some_and(|kvs| {
        kvs.iter()
            .any(|kv| kv.key == strata_block::SERVICE_NAME_EXACT_KEY)
    })
}

/// A block whose every `service.name` is a string (or absent) is marked exact, and queries
/// naming only `resource.service.name` then read the `service_name` column instead of the
/// resource attributes: answers identical to the brute-force search over the attributes. A
/// block with an array or a non-string first `service.name` is not marked.
#[tokio::test]
async fn service_name_column_answers_exactly_when_marked() {
    let all = banded();
    assert!(!service_name_exact(&write(&all, 64).await).await);
    let clean: Vec<_> = all
        .into_iter()
        .enumerate()
        .filter(|(n, _)| *n != 100 && *n != 200)
        .map(|(_, t)| t)
        .collect();
    let reader = write(&clean, 64).await;
    assert!(service_name_exact(&reader).await);
    let cases = [
        case(r#"{ resource.service.name = "svc-4" }"#, true, true),
        case(r#"{ resource.service.name != "svc-4" }"#, false, true),
        case(r#"{ resource.service.name =~ "svc-[12]" }"#, true, true),
        case(r#"{ resource.service.name != nil }"#, false, true),
        case(r#"{ resource.service.name > "svc-8" }"#, true, true),
        case(
            r#"{ resource.service.name = "svc-3" && kind = client } | by(resource.service.name)"#,
            true,
            true,
        ),
        case(r#"{ resource.service.name = "nope" }"#, true, false),
        // Another resource attribute: the attributes are read, as before.
        case(
            r#"{ resource.service.name = "svc-4" || resource.host.name = "h" }"#,
            false,
            true,
        ),
    ];
    for c in &cases {
        let job = job(&c.query, 0, 0);
        let want = brute_force(&reader, &job).await;
        let (got, _, _) = pruned(&reader, &job).await;
        assert_eq!(got, want, "{}", c.query);
        assert_eq!(!want.is_empty(), c.matches, "{}", c.query);
    }
}

/// Blocks an earlier build stored, in format v2 (the checked-in fixture set `v3`, searched
/// through the second pass that reads every span of the matched traces) and in format v3
/// (set `v4`, through the trace-level columns), search exactly as full evaluation answers,
/// and as a block this build writes of the same traces.
#[tokio::test]
async fn stored_blocks_still_search() {
    use std::sync::Arc;

    use object_store::local::LocalFileSystem;
    use object_store::ObjectStore;
    use strata_testkit::fixtures::{v1, v3, v4};

    let sets = [
        (v3::bucket(), v3::block_b1(), strata_block::FORMAT_V2),
        (v4::bucket(), v4::block_c0(), "strata-parquet-v3"),
    ];
    let queries = [
        "{ duration >= 0ms }",
        "{ kind = server }",
        "{ status = unset }",
        "{ duration > 1h }",
    ];
    for (bucket, block, format) in sets {
        let store: Arc<dyn ObjectStore> =
            Arc::new(LocalFileSystem::new_with_prefix(bucket).expect("fixture bucket"));
        let meta = strata_block::read_meta(store.as_ref(), &v1::tenant(), block)
            .await
            .expect("meta.json");
        assert_eq!(meta.format, format);
        let stored = BlockReader::new(store, meta);
        let traces = stored.read_all().await.expect("read");
        let rewritten = write(&traces, 2).await;
        assert!(rewritten.meta().has_trace_columns());
        let mut matched = 0;
        for q in queries {
            let job = job(q, 0, 0);
            assert!(job.plan().span_local(), "{q} is span-local");
            let want = brute_force(&stored, &job).await;
            matched += want.len();
            assert_eq!(
                pruned(&stored, &job).await.0,
                want,
                "{q} on the {format} block"
            );
            assert_eq!(pruned(&rewritten, &job).await.0, want, "{q} rewritten");
        }
        assert!(matched > 0, "the queries match something");
    }
}

/// A concatenation (format v5: the row groups of three blocks, three sorted runs) answers
/// every query exactly as one block of the same traces does, pruned or brute force: row
/// groups, pages and the traces at their edges are found run by run.
#[tokio::test]
async fn a_concatenated_block_answers_as_one_block() {
    let all = banded();
    let whole = write_format(&all, TAIL_ROWS as usize, strata_block::FORMAT_V4).await;
    let v5 = concatenated(&all, TAIL_ROWS as usize, 3).await;

    let from = (BASE_S + 100) as u32;
    let queries = [
        "{ }",
        r#"{ name = "op-3-1" }"#,
        r#"{ name = "tail" }"#,
        r#"{ resource.service.name = "svc-4" }"#,
        "{ duration > 8ms }",
        "{ status = error }",
        r#"{ kind = server && name = "op-2-0" }"#,
        r#"{ name = "op-6-0" } >> { duration > 6ms }"#,
        r#"{ resource.service.name = "svc-5" } | count() > 3"#,
        "{ duration > 3ms }",
        r#"{ name = "op-4-2" }"#,
    ];
    let mut failures = Vec::new();
    for q in queries {
        for (start, end) in [(0, 0), (from, from + 50)] {
            let job = job(q, start, end);
            let want = pruned(&whole, &job).await.0;
            // Every query matches over the whole block; some also within the range.
            if want.is_empty() && start == 0 {
                failures.push(format!("{q} ({start}, {end}): nothing to compare"));
            }
            if pruned(&v5, &job).await.0 != want {
                failures.push(format!("{q} ({start}, {end}): pruned search differs"));
            }
            if brute_force(&v5, &job).await != want {
                failures.push(format!("{q} ({start}, {end}): brute force differs"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
