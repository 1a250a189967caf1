//! Searching the graph: greedy descent through the upper levels, then a best-first search of
//! breadth `ef` on a level. Candidates are ordered by (distance, row), so equal distances are
//! resolved the same way on every run.

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::layout::Shape;

/// A candidate: distance, then row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cand(pub f32, pub u32);

impl Eq for Cand {}

impl Ord for Cand {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0).then(self.1.cmp(&o.1))
    }
}

impl PartialOrd for Cand {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Per-thread search state: a visited mark per row (a stamp, so clearing is one increment)
/// and the two heaps.
pub(crate) struct Scratch {
    visited: Vec<u32>,
    stamp: u32,
    front: BinaryHeap<Reverse<Cand>>,
    best: BinaryHeap<Cand>,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            visited: Vec::new(),
            stamp: 0,
            front: BinaryHeap::new(),
            best: BinaryHeap::new(),
        }
    }

    fn reset(&mut self, rows: usize) {
        if self.visited.len() < rows {
            self.visited.resize(rows, 0);
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.visited.iter_mut().for_each(|v| *v = 0);
            self.stamp = 1;
        }
        self.front.clear();
        self.best.clear();
    }

    /// Marks `r` visited; false when it already was.
    #[inline]
    fn visit(&mut self, r: u32) -> bool {
        let v = &mut self.visited[r as usize];
        if *v == self.stamp {
            false
        } else {
            *v = self.stamp;
            true
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::new());
}

/// Runs `f` with this thread's scratch (a fresh one if it is in use further up the stack).
pub(crate) fn with_scratch<T>(rows: usize, f: impl FnOnce(&mut Scratch) -> T) -> T {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => {
            s.reset(rows);
            f(&mut s)
        }
        Err(_) => {
            let mut s = Scratch::new();
            s.reset(rows);
            f(&mut s)
        }
    })
}

/// The closest row found by walking down from `entry` on `level` (breadth 1).
pub(crate) fn greedy(
    shape: &Shape,
    words: &[u32],
    dist: &impl Fn(u32) -> f32,
    mut cur: Cand,
    level: u32,
) -> Cand {
    loop {
        let mut moved = false;
        for &j in shape.links(words, cur.1, level) {
            let c = Cand(dist(j), j);
            if c < cur {
                cur = c;
                moved = true;
            }
        }
        if !moved {
            return cur;
        }
    }
}

/// Best-first search of breadth `ef` on `level` from `entries`; the result nearest first.
pub(crate) fn layer(
    shape: &Shape,
    words: &[u32],
    dist: &impl Fn(u32) -> f32,
    entries: &[Cand],
    level: u32,
    ef: usize,
    s: &mut Scratch,
) -> Vec<Cand> {
    s.reset(s.visited.len());
    for &e in entries {
        if s.visit(e.1) {
            s.front.push(Reverse(e));
            s.best.push(e);
        }
    }
    while s.best.len() > ef {
        s.best.pop();
    }
    while let Some(Reverse(c)) = s.front.pop() {
        if let Some(worst) = s.best.peek()
            && s.best.len() >= ef
            && c > *worst
        {
            break;
        }
        for &j in shape.links(words, c.1, level) {
            if !s.visit(j) {
                continue;
            }
            let d = Cand(dist(j), j);
            let full = s.best.len() >= ef;
            if !full || s.best.peek().is_some_and(|w| d < *w) {
                s.front.push(Reverse(d));
                s.best.push(d);
                if s.best.len() > ef {
                    s.best.pop();
                }
            }
        }
    }
    let mut out: Vec<Cand> = s.best.drain().collect();
    out.sort_unstable();
    out
}

/// A query's `ef` nearest rows found on level 0 (nearest first): (distance, row).
pub(crate) fn search(
    shape: &Shape,
    words: &[u32],
    entry: u32,
    max_level: u32,
    dist: impl Fn(u32) -> f32,
    ef: usize,
    s: &mut Scratch,
) -> Vec<(f32, u32)> {
    if entry == u32::MAX {
        return Vec::new();
    }
    let mut cur = Cand(dist(entry), entry);
    for level in (1..=max_level).rev() {
        cur = greedy(shape, words, &dist, cur, level);
    }
    layer(shape, words, &dist, &[cur], 0, ef, s)
        .into_iter()
        .map(|c| (c.0, c.1))
        .collect()
}
