//! The low-dimensional similarity 1 / (1 + a d^(2b)) fitted by least squares to the target
//! curve of `min_dist` and `spread` (1 below `min_dist`, exp(-(d - min_dist) / spread) above),
//! sampled at 300 points on [0, 3 spread], as umap-learn's `find_ab_params` does.

const SAMPLES: usize = 300;

fn model(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        1.0
    } else {
        1.0 / (1.0 + a * x.powf(2.0 * b))
    }
}

fn residual_ss(xs: &[f64], ys: &[f64], a: f64, b: f64) -> f64 {
    xs.iter()
        .zip(ys)
        .map(|(&x, &y)| (model(x, a, b) - y).powi(2))
        .sum()
}

/// `(a, b)` for `spread` and `min_dist` (Levenberg-Marquardt from a = b = 1).
pub fn fit_ab(spread: f64, min_dist: f64) -> (f64, f64) {
    let xs: Vec<f64> = (0..SAMPLES)
        .map(|i| 3.0 * spread * i as f64 / (SAMPLES - 1) as f64)
        .collect();
    let ys: Vec<f64> = xs
        .iter()
        .map(|&x| {
            if x < min_dist {
                1.0
            } else {
                (-(x - min_dist) / spread).exp()
            }
        })
        .collect();
    let (mut a, mut b) = (1.0f64, 1.0f64);
    let mut lambda = 1e-3;
    let mut ss = residual_ss(&xs, &ys, a, b);
    for _ in 0..500 {
        // Normal equations J^T J and J^T r.
        let (mut jaa, mut jab, mut jbb, mut ga, mut gb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&x, &y) in xs.iter().zip(&ys) {
            if x <= 0.0 {
                continue;
            }
            let p = x.powf(2.0 * b);
            let den = 1.0 + a * p;
            let f = 1.0 / den;
            let da = -p / (den * den);
            let db = -a * p * 2.0 * x.ln() / (den * den);
            let r = f - y;
            jaa += da * da;
            jab += da * db;
            jbb += db * db;
            ga += da * r;
            gb += db * r;
        }
        let mut improved = false;
        for _ in 0..30 {
            let (m11, m22) = (jaa * (1.0 + lambda), jbb * (1.0 + lambda));
            let det = m11 * m22 - jab * jab;
            if det.abs() < 1e-300 {
                lambda *= 10.0;
                continue;
            }
            let sa = -(m22 * ga - jab * gb) / det;
            let sb = -(m11 * gb - jab * ga) / det;
            let (na, nb) = (a + sa, b + sb);
            let nss = if na > 0.0 && nb > 0.0 {
                residual_ss(&xs, &ys, na, nb)
            } else {
                f64::INFINITY
            };
            if nss < ss {
                let rel = (ss - nss) / ss.max(1e-300);
                a = na;
                b = nb;
                ss = nss;
                lambda = (lambda / 10.0).max(1e-12);
                improved = rel > 1e-14;
                break;
            }
            lambda *= 10.0;
        }
        if !improved {
            break;
        }
    }
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_umap_learn() {
        // umap-learn 0.5.12 find_ab_params(spread, min_dist).
        for (spread, min_dist, ea, eb) in [
            (1.0, 0.1, 1.576_943_460_269_765_2, 0.895_060_877_851_573_3),
            (1.0, 0.5, 0.583_030_020_341_442_5, 1.334_166_992_431_491_4),
            (2.0, 0.0, 0.646_046_671_952_582_6, 0.790_494_490_688_904_4),
            (1.0, 0.001, 1.929_073_395_935_085, 0.791_504_533_427_439_3),
        ] {
            let (a, b) = fit_ab(spread, min_dist);
            assert!(
                (a - ea).abs() < 1e-4 * ea,
                "{spread} {min_dist}: a = {a}, expected {ea}"
            );
            assert!(
                (b - eb).abs() < 1e-4 * eb,
                "{spread} {min_dist}: b = {b}, expected {eb}"
            );
        }
    }
}
