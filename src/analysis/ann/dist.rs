//! Distance kernels of the index: a dot product and a squared euclidean distance over f32 rows,
//! with eight independent accumulators so the compiler keeps them in vector registers. On x86-64
//! with AVX2 and FMA (detected once at run time) the same loops are compiled for 256-bit vectors
//! with fused multiply-adds; elsewhere they use plain multiply and add (a fused multiply-add
//! without the instruction would be a library call).

use std::sync::OnceLock;

const LANES: usize = 8;

#[inline(always)]
fn dot_generic<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..LANES {
            acc[l] = if FMA {
                x[l].mul_add(y[l], acc[l])
            } else {
                acc[l] + x[l] * y[l]
            };
        }
    }
    let mut tail = 0f32;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    let s = (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]);
    s + tail
}

#[inline(always)]
fn l2_generic<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..LANES {
            let d = x[l] - y[l];
            acc[l] = if FMA {
                d.mul_add(d, acc[l])
            } else {
                acc[l] + d * d
            };
        }
    }
    let mut tail = 0f32;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += (x - y) * (x - y);
    }
    let s = (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]);
    s + tail
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    dot_generic::<true>(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn l2_avx2(a: &[f32], b: &[f32]) -> f32 {
    l2_generic::<true>(a, b)
}

fn has_avx2() -> bool {
    static AVX2: OnceLock<bool> = OnceLock::new();
    *AVX2.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// The kernel pair chosen for this CPU.
#[derive(Clone, Copy)]
pub(crate) struct Kernels {
    avx2: bool,
}

impl Kernels {
    pub fn detect() -> Kernels {
        Kernels { avx2: has_avx2() }
    }

    #[inline]
    pub fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is true only where the CPU reports AVX2 and FMA.
            return unsafe { dot_avx2(a, b) };
        }
        dot_generic::<false>(a, b)
    }

    #[inline]
    pub fn l2(self, a: &[f32], b: &[f32]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: as in `dot`.
            return unsafe { l2_avx2(a, b) };
        }
        l2_generic::<false>(a, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_match_f64() {
        for n in [1usize, 7, 8, 9, 50, 100, 301] {
            let a: Vec<f32> = (0..n).map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.3).collect();
            let b: Vec<f32> = (0..n).map(|i| ((i * 13 % 7) as f32 - 3.0) * 0.7).collect();
            let d64: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| f64::from(*x) * f64::from(*y))
                .sum();
            let l64: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
                .sum();
            let k = Kernels::detect();
            assert!((f64::from(k.dot(&a, &b)) - d64).abs() < 1e-4 * (1.0 + d64.abs()));
            assert!((f64::from(k.l2(&a, &b)) - l64).abs() < 1e-4 * (1.0 + l64));
            assert!(
                (f64::from(dot_generic::<false>(&a, &b)) - d64).abs() < 1e-4 * (1.0 + d64.abs())
            );
        }
    }
}
