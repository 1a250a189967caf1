fn main() {
    let (rows, dim, nq) = (400_000usize, 300usize, 1000usize);
    let x: Vec<f32> = (0..rows * dim).map(|i| (i % 97) as f32 * 0.01).collect();
    let q: Vec<f32> = (0..nq * dim).map(|i| (i % 89) as f32 * 0.01).collect();
    for (tile, qb) in [
        (1024usize, 512usize),
        (1024, 1000),
        (2048, 1000),
        (512, 1000),
    ] {
        let t = std::time::Instant::now();
        let tiles = rows / tile;
        use rayon::prelude::*;
        (0..tiles).into_par_iter().for_each_init(
            || vec![0f32; qb * tile],
            |dst, ti| {
                let xs = &x[ti * tile * dim..(ti + 1) * tile * dim];
                for q0 in (0..nq).step_by(qb) {
                    let qn = qb.min(nq - q0);
                    let lhs = &q[q0 * dim..(q0 + qn) * dim];
                    unsafe {
                        gemm::gemm(
                            qn,
                            tile,
                            dim,
                            dst.as_mut_ptr(),
                            1,
                            tile as isize,
                            false,
                            lhs.as_ptr(),
                            1,
                            dim as isize,
                            xs.as_ptr(),
                            dim as isize,
                            1,
                            0.0,
                            1.0,
                            false,
                            false,
                            false,
                            gemm::Parallelism::None,
                        );
                    }
                }
            },
        );
        let s = t.elapsed().as_secs_f64();
        println!(
            "tile {tile} qb {qb}: {s:.3} s  {:.1} GFLOP/s",
            2.0 * (rows * dim * nq) as f64 / s / 1e9
        );
    }
}
