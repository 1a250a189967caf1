//! Which token labels to draw: candidates come in priority order (selected points, their
//! neighbours, then frequent tokens), each is kept if its box overlaps no box kept before.
//! Dense regions therefore show few labels and sparse ones many.

/// A label box on screen: `[x0, y0, x1, y1]`.
pub type Rect = [f32; 4];

fn overlaps(a: &Rect, b: &Rect) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

/// Greedy placement with a bucket grid of kept boxes. Returns the indices of the kept
/// candidates (into `boxes`); `forced` candidates (the first `forced`) are always kept.
pub fn place(boxes: &[Rect], forced: usize, max: usize) -> Vec<usize> {
    const BUCKET: f32 = 64.0;
    let mut kept: Vec<usize> = Vec::new();
    let mut buckets: std::collections::HashMap<(i32, i32), Vec<usize>> =
        std::collections::HashMap::new();
    let key = |x: f32, y: f32| ((x / BUCKET).floor() as i32, (y / BUCKET).floor() as i32);
    for (i, b) in boxes.iter().enumerate() {
        if kept.len() >= max && i >= forced {
            break;
        }
        if !b.iter().all(|v| v.is_finite()) {
            continue;
        }
        let (x0, y0) = key(b[0], b[1]);
        let (x1, y1) = key(b[2], b[3]);
        let free = i < forced
            || (y0..=y1).all(|y| {
                (x0..=x1).all(|x| {
                    buckets
                        .get(&(x, y))
                        .is_none_or(|v| v.iter().all(|&j| !overlaps(b, &boxes[j])))
                })
            });
        if free {
            kept.push(i);
            for y in y0..=y1 {
                for x in x0..=x1 {
                    buckets.entry((x, y)).or_default().push(i);
                }
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_labels_never_overlap_and_forced_ones_stay() {
        let boxes: Vec<Rect> = (0..400)
            .map(|i| {
                let x = (i % 20) as f32 * 23.0;
                let y = (i / 20) as f32 * 9.0;
                [x, y, x + 40.0, y + 12.0]
            })
            .collect();
        let kept = place(&boxes, 2, 1000);
        assert!(kept.starts_with(&[0, 1]));
        for (n, &a) in kept.iter().enumerate().skip(2) {
            for &b in &kept[..n] {
                assert!(!overlaps(&boxes[a], &boxes[b]), "{a} overlaps {b}");
            }
        }
        assert!(kept.len() > 20 && kept.len() < 200);
        assert_eq!(place(&boxes, 0, 5).len(), 5);
    }
}
