//! The values of the options that name one of a fixed set of choices (`--metric`, `--method`,
//! `--format`, `--backend`, `--level`, ...): each is a clap `ValueEnum`, so `--help` lists the
//! possible values and clap refuses any other (exit 2, with the list), converted into the
//! library's type by a `match`.
//!
//! These enums live here, not as `ValueEnum` derived on the library types, because clap is the
//! binary's argument parser: the library layers (which the desktop app uses too) name their
//! values through `FromStr`/`Display` and know nothing of one front end's parser, and several
//! of the types belong to layers the command line only calls (engine, report, bias probes).
//! The tests below check that every name and alias given here is one the library's `FromStr`
//! reads as the same value, and that every library value can be chosen.

use clap::ValueEnum;
use embedscope::analysis::Metric;
use embedscope::analysis::analogy::Method;
use embedscope::analysis::bias::{Alternative, CaseMode};
use embedscope::engine::device::BackendChoice;
use embedscope::engine::encode::Level;
use embedscope::formats::Format;
use embedscope::formats::corpus::CorpusFormat;
use embedscope::model::Pooling;
use embedscope::report::{MapMethod, OutputFormat};

/// A `ValueEnum` and its conversion into the library type, variant by variant.
macro_rules! choice {
    (
        $(#[$meta:meta])*
        $name:ident => $lib:ty {
            $($(#[$vmeta:meta])* $variant:ident => $target:expr),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl From<$name> for $lib {
            fn from(v: $name) -> $lib {
                match v {
                    $($name::$variant => $target),+
                }
            }
        }
    };
}

choice! {
    /// `--metric`.
    MetricArg => Metric {
        Cosine => Metric::Cosine,
        Dot => Metric::Dot,
        Euclidean => Metric::Euclidean,
    }
}

choice! {
    /// `analogy --method`, `eval --method`.
    AnalogyMethodArg => Method {
        Add => Method::Add,
        Mul => Method::Mul,
    }
}

choice! {
    /// `--format`, `--to` (read case-insensitively, with the aliases `Format` accepts).
    FormatArg => Format {
        #[value(
            name = "word2vec-text",
            aliases = ["word2vec", "w2v", "w2v-text", "fasttext", "vec", "txt"]
        )]
        Word2VecText => Format::Word2VecText,
        #[value(name = "glove", alias = "glove-text")]
        Glove => Format::GloveText,
        #[value(name = "word2vec-binary", aliases = ["w2v-binary", "bin", "binary"])]
        Word2VecBinary => Format::Word2VecBinary,
        #[value(name = "projector-tsv", aliases = ["projector", "tsv"])]
        ProjectorTsv => Format::ProjectorTsv,
        #[value(alias = "numpy")]
        Npy => Format::Npy,
        Safetensors => Format::Safetensors,
        Parquet => Format::Parquet,
        #[value(name = "arrow", aliases = ["arrow-ipc", "feather", "ipc"])]
        Arrow => Format::ArrowIpc,
        #[value(aliases = ["esv", "cache"])]
        Native => Format::Native,
    }
}

choice! {
    /// `embed --corpus-format` (read case-insensitively, with the aliases `CorpusFormat`
    /// accepts).
    CorpusFormatArg => CorpusFormat {
        #[value(aliases = ["txt", "text"])]
        Lines => CorpusFormat::Lines,
        Paragraphs => CorpusFormat::Paragraphs,
        Csv => CorpusFormat::Csv,
        Tsv => CorpusFormat::Tsv,
        #[value(aliases = ["ndjson", "json"])]
        Jsonl => CorpusFormat::Jsonl,
        Parquet => CorpusFormat::Parquet,
    }
}

choice! {
    /// `embed --pooling` (read case-insensitively).
    PoolingArg => Pooling {
        Mean => Pooling::Mean,
        Cls => Pooling::Cls,
        Max => Pooling::Max,
        #[value(name = "mean_sqrt_len_tokens")]
        MeanSqrtLen => Pooling::MeanSqrtLen,
        #[value(name = "weightedmean")]
        WeightedMean => Pooling::WeightedMean,
        #[value(name = "lasttoken")]
        LastToken => Pooling::LastToken,
    }
}

choice! {
    /// `--backend` (read case-insensitively; `gpu` and `flex` as the engine reads them).
    BackendArg => BackendChoice {
        Auto => BackendChoice::Auto,
        #[value(alias = "gpu")]
        Wgpu => BackendChoice::Wgpu,
        #[value(alias = "flex")]
        Cpu => BackendChoice::Cpu,
    }
}

choice! {
    /// `--level`.
    LevelArg => Level {
        Sentence => Level::Sentence,
        Word => Level::Word,
    }
}

choice! {
    /// `report --as`.
    ReportFormatArg => OutputFormat {
        Html => OutputFormat::Html,
        Md => OutputFormat::Markdown,
        Json => OutputFormat::Json,
        Csv => OutputFormat::CsvDir,
    }
}

choice! {
    /// `report --map-method`.
    MapMethodArg => MapMethod {
        Pca => MapMethod::Pca,
        Umap => MapMethod::Umap,
    }
}

choice! {
    /// `bias --case`.
    CaseModeArg => CaseMode {
        Auto => CaseMode::Auto,
        Exact => CaseMode::Exact,
        Lower => CaseMode::Lower,
    }
}

choice! {
    /// `bias weat --alternative`.
    AlternativeArg => Alternative {
        Greater => Alternative::Greater,
        Less => Alternative::Less,
        TwoSided => Alternative::TwoSided,
    }
}

/// `project --method`: the map to draw (no library type: each method has its own function).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProjectMethod {
    Pca,
    Tsne,
    Umap,
    Axes,
}

impl std::fmt::Display for ProjectMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_possible_value() {
            Some(v) => f.write_str(v.get_name()),
            None => Ok(()),
        }
    }
}

/// The most rows a set holds (its vocabulary indexes rows with u32): the upper limit of every
/// option that counts rows (`-k`, `--limit`, `--restrict`, `--top`, ...); the analyses cap such
/// a count at the rows the set has.
pub const MAX_ROWS: usize = u32::MAX as usize;

/// The most dimensions a dimension option asks for (`--dims`, `--pca`, `--truncate-dim`).
pub const MAX_DIMS: usize = 65_536;
/// The most steps of an iterative option (`--iterations`, `--epochs`, `--permutations`,
/// `--bootstrap`, `--pairs`).
pub const MAX_STEPS: usize = 10_000_000;
/// The largest batch of `--batch-size`.
pub const MAX_BATCH: usize = 65_536;
/// The longest short list (`--keywords`, `--neighbours`, `--map-labels`, `--n-neighbors`,
/// `--quality-k`).
pub const MAX_LIST: usize = 10_000;

/// The parser of a count option: a whole number from `min` to `max`, refused when the
/// arguments are parsed (a usage error naming the option and the range), before anything is
/// read or allocated.
pub fn count(
    min: usize,
    max: usize,
) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    move |s: &str| match s.trim().parse::<u128>() {
        Ok(n) if (min as u128..=max as u128).contains(&n) => Ok(n as usize),
        _ => Err(format!("expected a whole number from {min} to {max}")),
    }
}

/// [`count`] for a `u64` option.
pub fn count_u64(
    min: u64,
    max: u64,
) -> impl Fn(&str) -> Result<u64, String> + Clone + Send + Sync + 'static {
    move |s: &str| match s.trim().parse::<u128>() {
        Ok(n) if (u128::from(min)..=u128::from(max)).contains(&n) => Ok(n as u64),
        _ => Err(format!("expected a whole number from {min} to {max}")),
    }
}

/// A size in bytes: `2147483648`, `512M`, `4G`, `1.5GiB` (powers of 1024).
pub fn byte_size(s: &str) -> Result<u64, String> {
    embedscope::core::parse_bytes(s)
        .ok_or_else(|| format!("{s:?}: a size in bytes, or with a unit (K, M, G, T: 512M, 4G)"))
}

/// A duration: `90s`, `30m`, `12h`, `7d`, `2w` (a number alone is seconds).
pub fn duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?}: a duration such as 90s, 30m, 12h, 7d or 2w"))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("{s:?}: a duration such as 90s, 30m, 12h, 7d or 2w")),
    };
    Ok(std::time::Duration::from_secs(n.saturating_mul(mult)))
}

#[cfg(test)]
mod tests {
    use std::fmt::{Debug, Display};
    use std::str::FromStr;

    use super::*;

    /// Every name and alias of `C` is read by `L`'s `FromStr` as the value `C` converts to.
    fn names_parse<C, L>()
    where
        C: ValueEnum + Copy + Debug,
        L: FromStr + From<C> + PartialEq + Debug,
    {
        for c in C::value_variants() {
            let pv = c.to_possible_value().expect("no value is skipped");
            for name in pv.get_name_and_aliases() {
                assert_eq!(name.parse::<L>().ok(), Some(L::from(*c)), "{name}");
            }
        }
    }

    /// Each value's command-line name is the library's `Display` name.
    fn names_display<C, L>()
    where
        C: ValueEnum + Copy + Debug,
        L: Display + From<C>,
    {
        for c in C::value_variants() {
            let pv = c.to_possible_value().expect("no value is skipped");
            assert_eq!(L::from(*c).to_string(), pv.get_name(), "{c:?}");
        }
    }

    /// Every library value in `all` can be chosen on the command line.
    fn covers<C, L>(all: &[L])
    where
        C: ValueEnum + Copy,
        L: From<C> + PartialEq + Debug,
    {
        for l in all {
            assert!(
                C::value_variants().iter().any(|c| L::from(*c) == *l),
                "{l:?} cannot be chosen"
            );
        }
    }

    #[test]
    fn command_line_names_are_the_library_names() {
        names_parse::<MetricArg, Metric>();
        names_display::<MetricArg, Metric>();
        covers::<MetricArg, Metric>(&Metric::ALL);

        names_parse::<AnalogyMethodArg, Method>();
        names_display::<AnalogyMethodArg, Method>();
        covers::<AnalogyMethodArg, Method>(&Method::ALL);

        names_parse::<FormatArg, Format>();
        names_display::<FormatArg, Format>();
        covers::<FormatArg, Format>(&Format::ALL);

        names_parse::<CorpusFormatArg, CorpusFormat>();
        names_display::<CorpusFormatArg, CorpusFormat>();
        covers::<CorpusFormatArg, CorpusFormat>(&CorpusFormat::ALL);

        names_parse::<PoolingArg, Pooling>();
        names_display::<PoolingArg, Pooling>();
        covers::<PoolingArg, Pooling>(&Pooling::ALL);

        names_parse::<BackendArg, BackendChoice>();
        names_display::<BackendArg, BackendChoice>();
        covers::<BackendArg, BackendChoice>(&BackendChoice::ALL);

        names_parse::<LevelArg, Level>();
        names_display::<LevelArg, Level>();
        covers::<LevelArg, Level>(&[Level::Sentence, Level::Word]);

        names_parse::<CaseModeArg, CaseMode>();
        covers::<CaseModeArg, CaseMode>(&[CaseMode::Auto, CaseMode::Exact, CaseMode::Lower]);

        names_parse::<AlternativeArg, Alternative>();
        covers::<AlternativeArg, Alternative>(&[
            Alternative::Greater,
            Alternative::Less,
            Alternative::TwoSided,
        ]);

        names_parse::<MapMethodArg, MapMethod>();
        names_display::<MapMethodArg, MapMethod>();
        covers::<MapMethodArg, MapMethod>(&MapMethod::ALL);

        covers::<ReportFormatArg, OutputFormat>(&[
            OutputFormat::Html,
            OutputFormat::Markdown,
            OutputFormat::Json,
            OutputFormat::CsvDir,
        ]);
    }

    #[test]
    fn project_methods_display_their_names() {
        let names: Vec<String> = ProjectMethod::value_variants()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names, ["pca", "tsne", "umap", "axes"]);
    }
}
