//! Row groups that dictionaries rule out: a `name` or `service_name` equality that the
//! [`Prune`] condition needs cannot hold in a row group whose column chunk is entirely
//! dictionary-encoded and whose dictionary lacks the literal.
//!
//! # Invariants
//! * A dictionary is used only when it holds every value of its chunk (all data pages
//!   dictionary-encoded, see [`BlockReader::column_chunk_dictionary`]); otherwise, and for
//!   any other atom, the atom may hold. Nulls never satisfy these equalities.
//! * `service_name` dictionaries are used only where [`BlockStats::usable`] allows
//!   `service_name` conditions (no resource attribute may be an array).
//! * Only row groups that the scope and statistics keep are looked at, and a group is only
//!   ever removed from the scope, never added: the scope's neighbours (see
//!   [`super::search_scope`]) stay, and traces continuing into a removed group are still
//!   extended into it ([`super::extend`]), as for groups that statistics skip.

use std::collections::{HashMap, HashSet};

use strata_block::BlockReader;

use super::predicate::{Atom, Col, Node, Val};
use super::{BlockStats, Layout, Prune};
use crate::plan::ir::Cmp;
use crate::search::block_err;
use crate::EngineError;

/// Per column, the dictionary of a row group's chunk (`None`: not exhaustive or unknown).
type Dicts = HashMap<Col, Option<HashSet<Vec<u8>>>>;

/// `scope` without the row groups whose dictionaries prove `prune` false for every row, and
/// the bytes fetched to find out (dictionary pages only).
pub(crate) async fn dictionary_scope(
    reader: &BlockReader,
    stats: &BlockStats<'_>,
    layout: &Layout,
    scope: &[bool],
    prune: &Prune,
) -> Result<(Vec<bool>, u64), EngineError> {
    let mut out: Vec<bool> = (0..layout.row_groups())
        .map(|rg| scope.get(rg).copied().unwrap_or(true))
        .collect();
    let mut bytes = 0;
    for (rg, keep) in out.iter_mut().enumerate() {
        if !*keep || !stats.may_hold(rg, &prune.node) || stats.rows(rg, &prune.node).is_empty() {
            continue;
        }
        let mut cols = Vec::new();
        prune.node.visit(&mut |a| {
            if let Some(c) = dict_col(a) {
                if !cols.contains(&c) && stats.usable(rg, c).is_some() {
                    cols.push(c);
                }
            }
        });
        if cols.is_empty() {
            continue;
        }
        let mut dicts = Dicts::new();
        for c in cols {
            let dict = reader
                .column_chunk_dictionary(rg, c.name())
                .await
                .map_err(block_err)?;
            let values = dict.map(|d| {
                bytes += d.inspected_bytes;
                d.values.into_iter().collect()
            });
            dicts.insert(c, values);
        }
        if !may_hold(&prune.node, &dicts) {
            *keep = false;
        }
    }
    Ok((out, bytes))
}

/// The column of an equality atom that a dictionary can decide.
fn dict_col(a: &Atom) -> Option<Col> {
    match (a.col, a.op, &a.val) {
        (Col::Name | Col::ServiceName, Cmp::Eq, Val::Bytes(_)) => Some(a.col),
        _ => None,
    }
}

/// Whether some row may satisfy `n`, given the dictionaries (false only when every way for
/// `n` to hold needs a dictionary value that is absent).
fn may_hold(n: &Node, dicts: &Dicts) -> bool {
    match n {
        Node::All(v) => v.iter().all(|n| may_hold(n, dicts)),
        Node::Any(v) => v.iter().any(|n| may_hold(n, dicts)),
        Node::Atom(a) => match (dict_col(a), &a.val) {
            (Some(c), Val::Bytes(b)) => match dicts.get(&c) {
                Some(Some(values)) => values.contains(b),
                _ => true,
            },
            _ => true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(col: Col, v: &str) -> Node {
        Node::Atom(Atom {
            col,
            op: Cmp::Eq,
            val: Val::Bytes(v.into()),
        })
    }

    #[test]
    fn dictionaries_decide_equalities() {
        let set = |v: &[&str]| Some(v.iter().map(|s| s.as_bytes().to_vec()).collect());
        let mut dicts = Dicts::new();
        dicts.insert(Col::Name, set(&["a", "c"]));
        dicts.insert(Col::ServiceName, None);
        assert!(may_hold(&eq(Col::Name, "a"), &dicts));
        assert!(!may_hold(&eq(Col::Name, "b"), &dicts));
        assert!(may_hold(&eq(Col::ServiceName, "b"), &dicts));
        assert!(!may_hold(
            &Node::All(vec![eq(Col::ServiceName, "x"), eq(Col::Name, "b")]),
            &dicts
        ));
        assert!(may_hold(
            &Node::Any(vec![eq(Col::ServiceName, "x"), eq(Col::Name, "b")]),
            &dicts
        ));
        assert!(!may_hold(
            &Node::Any(vec![eq(Col::Name, "d"), eq(Col::Name, "b")]),
            &dicts
        ));
        let neq = Node::Atom(Atom {
            col: Col::Name,
            op: Cmp::Neq,
            val: Val::Bytes(b"b".to_vec()),
        });
        assert!(may_hold(&neq, &dicts));
        assert!(may_hold(&eq(Col::Duration, "b"), &dicts));
    }
}
