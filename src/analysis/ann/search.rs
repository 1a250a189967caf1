//! Searching the graph: greedy descent through the upper levels, then a best-first search of
//! breadth `ef` on a level. Candidates are ordered by (distance, row), so equal distances are
//! resolved the same way on every run.
//!
//! A visited row's links are read in two passes: the new neighbours are marked and
//! gathered first (with the next candidate's link slot and the neighbours' vectors prefetched),
//! then their distances are computed, so the memory loads overlap the arithmetic.

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::dist::prefetch;
use super::layout::Shape;

/// Distances from one query: what the search needs of the data.
pub(crate) trait Space {
    /// Distance (lower is closer) from the query to row `j`.
    fn dist(&self, j: u32) -> f32;
    /// Asks for row `j`'s data ahead of [`Space::dist`].
    fn prefetch(&self, j: u32);
}

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

/// Per-thread search state: a visited mark per row (a one-byte stamp, so clearing is one
/// increment and the marks of a million rows fit in 1 MB of cache; the marks are zeroed when
/// the stamp wraps, once per 255 searches), the two heaps, and the neighbours gathered from one
/// row's links.
pub(crate) struct Scratch {
    visited: Vec<u8>,
    stamp: u8,
    front: BinaryHeap<Reverse<Cand>>,
    best: BinaryHeap<Cand>,
    fresh: Vec<u32>,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            visited: Vec::new(),
            stamp: 0,
            front: BinaryHeap::new(),
            best: BinaryHeap::new(),
            fresh: Vec::new(),
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

    /// Asks for the visited marks of `rows` ahead of [`Scratch::visit`].
    #[inline]
    fn prefetch_marks(&self, rows: &[u32]) {
        for &r in rows {
            if let Some(v) = self.visited.get(r as usize) {
                prefetch(v, 1);
            }
        }
    }

    /// Marks `r` visited; false when it already was.
    #[inline]
    pub(crate) fn visit(&mut self, r: u32) -> bool {
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
    space: &impl Space,
    mut cur: Cand,
    level: u32,
) -> Cand {
    loop {
        let mut moved = false;
        let links = shape.links(words, cur.1, level);
        for &j in links {
            space.prefetch(j);
        }
        for &j in links {
            let c = Cand(space.dist(j), j);
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
    space: &impl Space,
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
    let mut fresh = std::mem::take(&mut s.fresh);
    while let Some(Reverse(c)) = s.front.pop() {
        if let Some(worst) = s.best.peek()
            && s.best.len() >= ef
            && c > *worst
        {
            break;
        }
        if let Some(Reverse(next)) = s.front.peek() {
            let r = shape.slot(words, next.1, level);
            prefetch(words[r.start..].as_ptr(), 4 * r.len());
        }
        let links = shape.links(words, c.1, level);
        s.prefetch_marks(links);
        fresh.clear();
        for &j in links {
            if s.visit(j) {
                fresh.push(j);
                space.prefetch(j);
            }
        }
        for &j in &fresh {
            let d = Cand(space.dist(j), j);
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
    s.fresh = fresh;
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
    space: &impl Space,
    ef: usize,
    s: &mut Scratch,
) -> Vec<(f32, u32)> {
    if entry == u32::MAX {
        return Vec::new();
    }
    let mut cur = Cand(space.dist(entry), entry);
    for level in (1..=max_level).rev() {
        cur = greedy(shape, words, space, cur, level);
    }
    layer(shape, words, space, &[cur], 0, ef, s)
        .into_iter()
        .map(|c| (c.0, c.1))
        .collect()
}
