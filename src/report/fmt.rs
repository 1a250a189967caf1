//! Numbers, names and sentences as the report, the command line and the app show them: one
//! rule each, so the same value reads the same everywhere. A value that is not a finite number
//! is shown as `-`.

use std::path::Path;

use crate::model::tokdiff::TokenizerDiff;

/// `v` with `d` decimals; a value that rounds to zero has no sign ("-0.0000" reads as a
/// finding), and a value that is not finite is `-`.
pub fn decimals(v: f64, d: usize) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let t = format!("{v:.d$}");
    match t.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => t,
    }
}

/// A p-value: four decimals, or two significant digits in scientific notation below 1e-4
/// (`3.2e-7`); `-` when it is not a finite number (not computed).
pub fn p_value(p: f64) -> String {
    if !p.is_finite() {
        "-".into()
    } else if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

/// A long name cut in the middle to at most `n` characters (`n` >= 5): its first third,
/// `...`, and its end (the end tells versions and files apart).
pub fn short(name: &str, n: usize) -> String {
    let count = name.chars().count();
    if count <= n {
        return name.to_string();
    }
    let head = n / 3;
    let tail = n.saturating_sub(3 + head);
    let h: String = name.chars().take(head).collect();
    let t: String = name.chars().skip(count - tail).collect();
    format!("{h}...{t}")
}

/// A path's file name without its folders (narrow table cells and chart labels; the full
/// source is listed elsewhere).
pub fn file_name(name: &str) -> String {
    Path::new(name)
        .file_name()
        .map_or(name.to_string(), |n| n.to_string_lossy().into_owned())
}

/// The tokenizer diff in one sentence: how many corpus words the two tokenizers split
/// differently, pieces per word and words with an unknown piece on each side, and whether the
/// tokenizer files are the same.
pub fn tokenizer_sentence(td: &TokenizerDiff) -> String {
    format!(
        "{} of {} corpus words are split differently ({:.1}%); pieces per word A {:.2}, B \
         {:.2}; words with an unknown piece A {:.1}%, B {:.1}%{}.",
        td.words_different,
        td.words_checked,
        100.0 * td.share_different,
        td.mean_pieces_a,
        td.mean_pieces_b,
        100.0 * td.unk_share_a,
        100.0 * td.unk_share_b,
        if td.identical_files {
            "; the tokenizer files are identical"
        } else {
            ""
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(decimals(0.12345, 3), "0.123");
        assert_eq!(decimals(-0.00001, 4), "0.0000");
        assert_eq!(decimals(-0.5, 1), "-0.5");
        assert_eq!(decimals(f64::NAN, 2), "-");
        assert_eq!(decimals(f64::INFINITY, 2), "-");
        assert_eq!(p_value(0.04321), "0.0432");
        assert_eq!(p_value(3.2e-7), "3.2e-7");
        assert_eq!(p_value(0.0), "0.0e0");
        assert_eq!(p_value(f64::NAN), "-");
        assert_eq!(p_value(f64::INFINITY), "-");
    }

    #[test]
    fn names() {
        assert_eq!(short("abc", 10), "abc");
        let s = short("/home/someone/models/glove-v2/vectors.vec", 20);
        assert_eq!(s.chars().count(), 20);
        assert_eq!(s, "/home/...vectors.vec");
        assert_eq!(file_name("/a/b/c.vec"), "c.vec");
        assert_eq!(file_name("demo"), "demo");
    }
}
