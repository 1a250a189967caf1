//! NumPy `.npy` and safetensors arrays with their vocabulary file (part 1 the array, part 2 the
//! vocabulary).
//!
//! Mode byte: bit 0 safetensors (else npy), bit 1 a vocabulary file, bit 2 a tensor name from
//! part 3 (safetensors), bit 3 a row limit (bits 4-7).
#![no_main]

use embedscope::formats::{self, Format, LoadOptions};
use embedscope_fuzz::{Input, file, remove};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = Input::new(data);
    let parts = input.parts(3);
    let (name, format) = if input.mode & 1 != 0 {
        ("array.safetensors", Format::Safetensors)
    } else {
        ("array.npy", Format::Npy)
    };
    let array = file(name, parts[0]);
    let vocab = if input.mode & 2 != 0 {
        Some(file("vocab.txt", parts[1]))
    } else {
        remove("vocab.txt");
        None
    };
    let tensor = (input.mode & 4 != 0).then(|| String::from_utf8_lossy(parts[2]).into_owned());
    let opts = LoadOptions {
        format: Some(format),
        vocab,
        tensor,
        limit: (input.mode & 8 != 0).then_some(usize::from(input.mode >> 4)),
        ..LoadOptions::default()
    };
    if let Ok(set) = formats::load(&array, &opts) {
        assert_eq!(set.vocab.len(), set.rows());
        // Touch every value: a mapped array must be readable to its end.
        let mut sum = 0f64;
        for r in 0..set.rows() {
            sum += set.matrix.row(r).iter().map(|&x| f64::from(x)).sum::<f64>();
        }
        std::hint::black_box(sum);
    }
});
