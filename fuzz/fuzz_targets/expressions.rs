//! `--fail-if` conditions (compare and drift), drift method lists, semantic-axis specs and
//! vector expressions, the last also turned into a query over the bundled demo vectors.
//!
//! Mode byte: `mode % 4` which (0 a compare condition, 1 a drift condition and method list,
//! 2 an axis spec, 3 a vector expression with its query); bit 2 the metric for 3.
#![no_main]

use std::sync::OnceLock;

use embedscope::analysis::compare::gate::{Condition, split_condition};
use embedscope::analysis::drift::DriftMethod;
use embedscope::analysis::expr::Expr;
use embedscope::analysis::project::axes::AxisSpec;
use embedscope::analysis::{KnnIndex, Metric};
use embedscope::core::EmbeddingSet;
use embedscope::formats;
use embedscope_fuzz::Input;
use libfuzzer_sys::fuzz_target;

/// The bundled demo vectors (2,000 rows) and their index, made once.
fn demo() -> Option<&'static KnnIndex<'static>> {
    static INDEX: OnceLock<Option<KnnIndex<'static>>> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            let set: &'static EmbeddingSet =
                Box::leak(Box::new(formats::demo_set(Some(2000)).ok()?));
            Some(KnnIndex::new(set))
        })
        .as_ref()
}

fuzz_target!(|data: &[u8]| {
    let input = Input::new(data);
    let text = String::from_utf8_lossy(input.rest);
    match input.mode % 4 {
        0 => {
            if let Ok(c) = Condition::parse(&text) {
                std::hint::black_box(c.to_string());
            }
        }
        1 => {
            let _ = split_condition(&text);
            let _ = DriftMethod::parse_list(&text);
        }
        2 => {
            let _ = AxisSpec::parse(&text);
        }
        _ => {
            let Ok(expr) = Expr::parse(&text) else {
                return;
            };
            let Some(index) = demo() else {
                return;
            };
            let metric = if input.mode & 4 != 0 {
                Metric::Dot
            } else {
                Metric::Cosine
            };
            if let Ok(q) = expr.to_query(index, metric) {
                assert_eq!(q.vector.len(), index.set().dim());
            }
        }
    }
});
