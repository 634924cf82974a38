//! The collections of a state that grows with its history (a pod's items, sprints, blockers,
//! requests…): persistent B-trees and RRB vectors that share structure between copies.
//!
//! A read model is shared with the requests reading it while new events are folded in: a copy
//! taken so that one more event can be applied costs O(1), and the change then copies only the
//! O(log n) nodes on its path — not the whole history, as a `BTreeMap` or a `Vec` would
//! (issue 22: a write to a pod with 100k events of history cost 10× one to a new pod).
//! Their API is a `BTreeMap`'s and a `Vec`'s for what the code uses (but `push_back`).

/// An ordered map whose clones share structure (`imbl::OrdMap`, B-tree nodes of 16 entries).
pub type Map<K, V> = imbl::OrdMap<K, V>;

/// A sequence whose clones share structure (`imbl::Vector`, an RRB tree of 64-entry chunks):
/// O(1) amortised push at either end, O(log n) index, insert and remove.
pub type Seq<T> = imbl::Vector<T>;
