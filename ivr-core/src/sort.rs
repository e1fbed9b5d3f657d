//! Sorting with one copy of the sort in the wasm. The standard library's sort is generic over the
//! items and the comparison, so each place that sorts a list with a closure of its own, or
//! collects a `BTreeMap` or `BTreeSet` from an iterator (which sorts first), compiles a copy of
//! it. [`by`] and [`by_key`] sort the items' positions instead, through one comparison behind a
//! `dyn`, then move the items into that order; [`collected`] builds a map or a set by inserting
//! one item after another. The lists sorted are short (a day's opening hours, a page of due
//! numbers), so the one more allocation does not show. BENCHMARKS.md ("Size") has what it saved.

use std::cmp::Ordering;

/// Sorts `items` by `key`, stably (equal keys keep their order).
pub fn by_key<T, K: Ord>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    by(items, |a, b| key(a).cmp(&key(b)));
}

/// Sorts `items` by `compare`, stably.
pub fn by<T>(items: &mut Vec<T>, compare: impl Fn(&T, &T) -> Ordering) {
    let mut order: Vec<usize> = (0..items.len()).collect();
    positions(&mut order, &|a, b| compare(&items[a], &items[b]));
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(order.into_iter().filter_map(|i| slots[i].take()));
}

/// `items` as a map or a set, built by insertion (collecting one sorts the items first).
pub fn collected<C: Default + Extend<T>, T>(items: impl IntoIterator<Item = T>) -> C {
    let mut collection = C::default();
    collection.extend(items);
    collection
}

/// The sort of every caller: positions, by a comparison of the items at them.
#[inline(never)]
fn positions(order: &mut [usize], compare: &dyn Fn(usize, usize) -> Ordering) {
    order.sort_by(|a, b| compare(*a, *b));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_by_the_key_and_keeps_the_order_of_equal_keys() {
        let mut items = vec![(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
        by_key(&mut items, |item| item.0);
        assert_eq!(items, [(1, 'b'), (1, 'e'), (2, 'd'), (3, 'a'), (3, 'c')]);
        let mut empty: Vec<u8> = Vec::new();
        by_key(&mut empty, |n| *n);
        assert!(empty.is_empty());
    }

    #[test]
    fn a_collected_map_keeps_the_last_value_of_a_key_as_collect_does() {
        let pairs = [(2, 'a'), (1, 'b'), (2, 'c')];
        let map: std::collections::BTreeMap<i32, char> = collected(pairs);
        assert_eq!(map, pairs.into_iter().collect());
        assert_eq!(map[&2], 'c');
    }
}
