//! Fixed-size top-k selection (largest scores; ties broken by the smaller index).

/// A bounded min-heap of `(score, index)` keeping the `k` best.
#[derive(Debug, Clone)]
pub(crate) struct TopK {
    k: usize,
    heap: Vec<(f32, u32)>,
}

/// `a` ranks before `b`: higher score, then lower index.
#[inline]
fn better(a: (f32, u32), b: (f32, u32)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && a.1 < b.1)
}

impl TopK {
    /// Room for `k` is made as candidates arrive (a `k` beyond the rows scanned costs nothing).
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            heap: Vec::with_capacity(k.min(1024)),
        }
    }

    /// Scores must beat this to enter (−inf until full).
    #[inline]
    pub fn threshold(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::NEG_INFINITY
        } else {
            self.heap[0].0
        }
    }

    #[inline]
    pub fn is_full(&self) -> bool {
        self.heap.len() >= self.k
    }

    /// Offers a candidate (NaN scores are refused).
    pub fn push(&mut self, score: f32, index: u32) {
        if score.is_nan() || self.k == 0 {
            return;
        }
        let item = (score, index);
        if self.heap.len() < self.k {
            self.heap.push(item);
            let mut i = self.heap.len() - 1;
            while i > 0 {
                let p = (i - 1) / 2;
                if better(self.heap[p], self.heap[i]) {
                    self.heap.swap(p, i);
                    i = p;
                } else {
                    break;
                }
            }
        } else if better(item, self.heap[0]) {
            self.heap[0] = item;
            let n = self.heap.len();
            let mut i = 0;
            loop {
                let (l, r) = (2 * i + 1, 2 * i + 2);
                let mut worst = i;
                if l < n && better(self.heap[worst], self.heap[l]) {
                    worst = l;
                }
                if r < n && better(self.heap[worst], self.heap[r]) {
                    worst = r;
                }
                if worst == i {
                    break;
                }
                self.heap.swap(i, worst);
                i = worst;
            }
        }
    }

    /// Best first.
    pub fn into_sorted(mut self) -> Vec<(f32, u32)> {
        self.heap
            .sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        self.heap
    }

    pub fn merge(&mut self, other: TopK) {
        for (s, i) in other.heap {
            self.push(s, i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_best_with_index_tiebreak() {
        let mut t = TopK::new(3);
        for (i, s) in [0.5f32, 0.9, 0.1, 0.9, f32::NAN, 0.7, 0.9]
            .iter()
            .enumerate()
        {
            t.push(*s, i as u32);
        }
        assert_eq!(t.into_sorted(), vec![(0.9, 1), (0.9, 3), (0.9, 6)]);
        let mut a = TopK::new(2);
        a.push(1.0, 5);
        let mut b = TopK::new(2);
        b.push(1.0, 2);
        b.push(0.5, 1);
        a.merge(b);
        assert_eq!(a.into_sorted(), vec![(1.0, 2), (1.0, 5)]);
    }
}
