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
