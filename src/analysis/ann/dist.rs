//! Distance kernels of the index: a dot product and a squared euclidean distance over f32 rows.
//! On x86-64 with AVX2 and FMA (detected once at run time) they are hand-written 256-bit loops:
//! four independent accumulators over 32 values, then two over 16, one over 8, and a masked
//! load for the last 1..7 values, so the common dimensions (50, 100, 300, 384, 768) run without
//! a scalar tail. Elsewhere a portable loop of eight lanes with plain multiply and add (a fused
//! multiply-add without the instruction would be a library call). [`prefetch`] asks for a row's
//! cache lines ahead of its distance.

use std::sync::OnceLock;

const LANES: usize = 8;

#[inline(always)]
fn dot_generic(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
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
fn l2_generic(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..LANES {
            let d = x[l] - y[l];
            acc[l] += d * d;
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
mod avx2 {
    use std::arch::x86_64::*;

    /// Eight ones then eight zeros: `MASK[8 - r..]` loads a mask of the first `r` lanes.
    static MASK: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

    #[inline(always)]
    unsafe fn hsum(v: __m256) -> f32 {
        unsafe {
            let lo = _mm256_castps256_ps128(v);
            let hi = _mm256_extractf128_ps::<1>(v);
            let s = _mm_add_ps(lo, hi);
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_movehdup_ps(s));
            _mm_cvtss_f32(s)
        }
    }

    /// One kernel body for both metrics: `STEP(acc, x, y)` adds one 8-lane term.
    macro_rules! kernel {
        ($name:ident, $step:ident) => {
            /// # Safety
            /// The CPU must support AVX2 and FMA.
            #[target_feature(enable = "avx2,fma")]
            pub unsafe fn $name(a: &[f32], b: &[f32]) -> f32 {
                let n = a.len().min(b.len());
                let (pa, pb) = (a.as_ptr(), b.as_ptr());
                let mut i = 0usize;
                // SAFETY: every load reads `pa`/`pb` at `i..i + 8` with `i + 8 <= n`, or a
                // masked load of the lanes below `n` only.
                unsafe {
                    let mut s0 = _mm256_setzero_ps();
                    let mut s1 = _mm256_setzero_ps();
                    let mut s2 = _mm256_setzero_ps();
                    let mut s3 = _mm256_setzero_ps();
                    while i + 32 <= n {
                        s0 = $step(s0, _mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
                        s1 = $step(
                            s1,
                            _mm256_loadu_ps(pa.add(i + 8)),
                            _mm256_loadu_ps(pb.add(i + 8)),
                        );
                        s2 = $step(
                            s2,
                            _mm256_loadu_ps(pa.add(i + 16)),
                            _mm256_loadu_ps(pb.add(i + 16)),
                        );
                        s3 = $step(
                            s3,
                            _mm256_loadu_ps(pa.add(i + 24)),
                            _mm256_loadu_ps(pb.add(i + 24)),
                        );
                        i += 32;
                    }
                    while i + 16 <= n {
                        s0 = $step(s0, _mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
                        s1 = $step(
                            s1,
                            _mm256_loadu_ps(pa.add(i + 8)),
                            _mm256_loadu_ps(pb.add(i + 8)),
                        );
                        i += 16;
                    }
                    if i + 8 <= n {
                        s2 = $step(s2, _mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
                        i += 8;
                    }
                    if i < n {
                        let r = n - i;
                        let m = _mm256_loadu_si256(MASK.as_ptr().add(8 - r).cast());
                        s3 = $step(
                            s3,
                            _mm256_maskload_ps(pa.add(i), m),
                            _mm256_maskload_ps(pb.add(i), m),
                        );
                    }
                    hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)))
                }
            }
        };
    }

    #[inline(always)]
    unsafe fn dot_step(acc: __m256, x: __m256, y: __m256) -> __m256 {
        unsafe { _mm256_fmadd_ps(x, y, acc) }
    }

    #[inline(always)]
    unsafe fn l2_step(acc: __m256, x: __m256, y: __m256) -> __m256 {
        unsafe {
            let d = _mm256_sub_ps(x, y);
            _mm256_fmadd_ps(d, d, acc)
        }
    }

    kernel!(dot, dot_step);
    kernel!(l2, l2_step);
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

/// Asks the CPU to bring `bytes` bytes from `p` into the cache (x86-64; elsewhere nothing).
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let p = p.cast::<i8>();
        let mut off = 0;
        while off < bytes {
            // SAFETY: a prefetch never faults and reads nothing into the program; SSE, which
            // holds the instruction, is part of every x86-64 CPU.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off)) };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (p, bytes);
    }
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
            return unsafe { avx2::dot(a, b) };
        }
        dot_generic(a, b)
    }

    #[inline]
    pub fn l2(self, a: &[f32], b: &[f32]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: as in `dot`.
            return unsafe { avx2::l2(a, b) };
        }
        l2_generic(a, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_match_f64() {
        for n in [
            1usize, 7, 8, 9, 15, 16, 17, 31, 32, 33, 50, 100, 300, 301, 384, 768,
        ] {
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
            assert!(
                (f64::from(k.dot(&a, &b)) - d64).abs() < 1e-4 * (1.0 + d64.abs()),
                "{n}"
            );
            assert!(
                (f64::from(k.l2(&a, &b)) - l64).abs() < 1e-4 * (1.0 + l64),
                "{n}"
            );
            assert!((f64::from(dot_generic(&a, &b)) - d64).abs() < 1e-4 * (1.0 + d64.abs()));
            assert!((f64::from(l2_generic(&a, &b)) - l64).abs() < 1e-4 * (1.0 + l64));
        }
    }

    /// A row ending at the end of its allocation: the masked tail reads nothing past it.
    #[test]
    fn tail_stays_inside_the_slice() {
        let v: Vec<f32> = (0..53).map(|i| i as f32 * 0.1).collect();
        let (a, b) = (&v[..50], &v[3..]);
        let want: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x * y)).sum();
        let got = Kernels::detect().dot(a, b);
        assert!((f64::from(got) - want).abs() < 1e-3 * want);
    }
}
