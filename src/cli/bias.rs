//! `embedscope bias weat|direct|debias|ripa|sets`: bias probes on vector files (and, for WEAT,
//! SEAT-style probes on sentence-encoder model folders). The arguments, the word lists and
//! the direction probes are here; WEAT runs in [`weat`].

mod weat;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Subcommand};
use embedscope::analysis::bias::{
    self, Alternative, CaseMode, DebiasOptions, WeatOptions, WeatTest, WordSet,
};
use embedscope::core::EmbeddingSet;
use embedscope::formats::{self, Format};
use serde_json::{Value, json};

use super::values::{
    AlternativeArg, BackendArg, CaseModeArg, FormatArg, MAX_BATCH, MAX_ROWS, MAX_STEPS, count,
    count_u64,
};
use super::{CliError, LoadArgs, print_json, usage};

#[derive(Args, Debug)]
pub struct BiasArgs {
    #[command(subcommand)]
    pub command: BiasCommand,
}

#[derive(Subcommand, Debug)]
pub enum BiasCommand {
    /// Word Embedding Association Test: effect size, statistic, permutation p-value and a
    /// bootstrap 95% interval; several files are compared test by test (difference of effect
    /// sizes with a permutation test, Holm's correction). A model folder runs the SEAT-style
    /// sentence version.
    Weat(WeatArgs),
    /// Bias direction from definitional pairs, direct bias of neutral words, projections.
    Direct(DirectArgs),
    /// Hard debiasing (neutralise + equalise): writes a new vector file.
    Debias(DebiasArgs),
    /// Relational inner product association of words with a relation given by word pairs.
    Ripa(RipaArgs),
    /// List the bundled tests and word sets.
    Sets(SetsArgs),
}

#[derive(Args, Debug, Clone)]
pub struct CaseArg {
    /// How words are matched: auto (lowercase for an uncased vocabulary), exact, lower.
    #[arg(long, value_name = "MODE", value_enum, default_value_t = CaseModeArg::Auto)]
    pub case: CaseModeArg,
}

impl CaseArg {
    fn mode(&self) -> CaseMode {
        CaseMode::from(self.case)
    }
}

#[derive(Args, Debug)]
pub struct WeatArgs {
    /// Vector files (or `demo`), or sentence-encoder model folders (SEAT); several are compared.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<String>,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Bundled test(s): weat1 ... weat10, comma-separated or repeated, or `all`.
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub test: Vec<String>,
    /// A JSON test file (an object or a list of objects with x, y, a, b word lists).
    #[arg(long, value_name = "FILE")]
    pub tests_file: Option<PathBuf>,
    /// Target set X: a word-list file (one per line) or `set:NAME` (bundled).
    #[arg(long, value_name = "FILE")]
    pub x: Option<String>,
    #[arg(long, value_name = "FILE")]
    pub y: Option<String>,
    /// Attribute set A.
    #[arg(long, value_name = "FILE")]
    pub a: Option<String>,
    #[arg(long, value_name = "FILE")]
    pub b: Option<String>,
    /// Random partitions for the p-value when exact enumeration is too large.
    #[arg(value_parser = count(1, MAX_STEPS), long, value_name = "N", default_value_t = 100_000)]
    pub permutations: usize,
    /// Enumerate every partition when there are at most this many.
    #[arg(value_parser = count_u64(0, MAX_STEPS as u64), long, value_name = "N", default_value_t = 1_000_000)]
    pub exact_limit: u64,
    /// Bootstrap replicates for the 95% interval (0: none).
    #[arg(value_parser = count(0, MAX_STEPS), long, value_name = "N", default_value_t = 10_000)]
    pub bootstrap: usize,
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Largest share of a set's words that may be missing from the vocabulary.
    #[arg(long, value_name = "SHARE", default_value_t = 0.2)]
    pub max_missing: f64,
    #[command(flatten)]
    pub case: CaseArg,
    /// Tail of the p-value: greater (X more associated with A), less, two-sided.
    #[arg(long, value_name = "ALT", value_enum, default_value_t = AlternativeArg::Greater)]
    pub alternative: AlternativeArg,
    /// Accept target sets of different sizes.
    #[arg(long)]
    pub allow_unequal: bool,
    /// Backend for model folders.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto, ignore_case = true)]
    pub backend: BackendArg,
    #[arg(value_parser = count(1, MAX_BATCH), long, default_value_t = 32)]
    pub batch_size: usize,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DirectionArgs {
    /// Definitional pairs (file: one pair per line or JSON); default: Bolukbasi's ten gender
    /// pairs (`set:definitional`).
    #[arg(long, value_name = "FILE")]
    pub pairs: Option<String>,
    /// Word at the positive end of the direction.
    #[arg(long, default_value = "she")]
    pub positive: String,
    #[arg(long, default_value = "he")]
    pub negative: String,
    #[command(flatten)]
    pub case: CaseArg,
}

#[derive(Args, Debug)]
pub struct DirectArgs {
    #[arg(value_name = "FILE")]
    pub file: String,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub dir: DirectionArgs,
    /// Neutral words (file or `set:NAME`); default: the professions that are not
    /// gender-specific by definition.
    #[arg(long, value_name = "FILE")]
    pub words: Option<String>,
    /// Strictness c of DB_c.
    #[arg(long, default_value_t = 1.0)]
    pub c: f64,
    /// Most extreme words shown at each end.
    #[arg(value_parser = count(1, MAX_ROWS), long, default_value_t = 10)]
    pub top: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DebiasArgs {
    #[arg(value_name = "FILE")]
    pub file: String,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Output file (format from the extension, or --to).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    #[arg(long, value_name = "FORMAT", value_enum, ignore_case = true)]
    pub to: Option<FormatArg>,
    #[command(flatten)]
    pub dir: DirectionArgs,
    /// Equality pairs (default: Bolukbasi's equalize and definitional pairs).
    #[arg(long, value_name = "FILE")]
    pub equalize: Option<String>,
    /// Gender-specific words left as they are (default: Bolukbasi's full list).
    #[arg(long, value_name = "FILE")]
    pub specific: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RipaArgs {
    #[arg(value_name = "FILE")]
    pub file: String,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Word pairs defining the relation (default: Bolukbasi's definitional pairs).
    #[arg(long, value_name = "FILE")]
    pub pairs: Option<String>,
    /// Words to score (file or `set:NAME`; default: the neutral professions).
    #[arg(long, value_name = "FILE")]
    pub words: Option<String>,
    /// Normalise vectors first (RIPA keeps norms by default).
    #[arg(long)]
    pub normalize: bool,
    #[command(flatten)]
    pub case: CaseArg,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct SetsArgs {
    #[arg(long)]
    pub json: bool,
}

fn read(path: &str) -> Result<String, CliError> {
    Ok(formats::read_side_file(
        Path::new(path),
        "word list or test file",
    )?)
}

/// A word list from `set:NAME` or a file.
fn word_list(spec: &str) -> Result<WordSet, CliError> {
    if let Some(name) = spec.strip_prefix("set:") {
        return Ok(bias::set_by_name(name)?);
    }
    let words = bias::parse_word_list(&read(spec)?, spec)?;
    let name = Path::new(spec)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| spec.to_string());
    Ok(WordSet::new(name, words))
}

/// Pairs from `set:definitional` / `set:equalize` or a file.
fn pairs(
    spec: Option<&str>,
    default: &[(String, String)],
) -> Result<Vec<(String, String)>, CliError> {
    match spec {
        None => Ok(default.to_vec()),
        Some("set:definitional") => Ok(bias::bolukbasi().definitional_pairs.clone()),
        Some("set:equalize") => Ok(bias::bolukbasi().equalize_pairs.clone()),
        Some(s) if s.starts_with("set:") => Err(usage(format!(
            "{s}: the bundled pair lists are set:definitional and set:equalize"
        ))),
        Some(path) => Ok(bias::parse_pairs(&read(path)?, path)?),
    }
}

fn tests_of(a: &WeatArgs) -> Result<Vec<WeatTest>, CliError> {
    let mut tests = Vec::new();
    for name in &a.test {
        if name == "all" {
            tests.extend(bias::caliskan_tests().iter().cloned());
        } else {
            tests.push(bias::test_by_name(name)?);
        }
    }
    if let Some(f) = &a.tests_file {
        let p = f.display().to_string();
        tests.extend(bias::parse_test_file(&read(&p)?, &p)?);
    }
    let sides = [&a.x, &a.y, &a.a, &a.b];
    if sides.iter().any(|s| s.is_some()) {
        let [Some(x), Some(y), Some(at), Some(bt)] = sides else {
            return Err(usage(
                "a test from word lists needs all four of --x, --y, --a and --b",
            ));
        };
        let x = word_list(x)?;
        let y = word_list(y)?;
        let at = word_list(at)?;
        let bt = word_list(bt)?;
        tests.push(WeatTest {
            name: format!("{}-{}", x.name, y.name),
            x,
            y,
            a: at,
            b: bt,
            original: None,
        });
    }
    if tests.is_empty() {
        return Err(usage(
            "name a test: --test weat1 (bundled: weat1 ... weat10, or all), --tests-file FILE, \
             or --x F --y F --a F --b F",
        ));
    }
    Ok(tests)
}

fn weat_options(a: &WeatArgs) -> Result<WeatOptions, CliError> {
    if !(0.0..=1.0).contains(&a.max_missing) {
        return Err(usage("--max-missing is a share between 0 and 1"));
    }
    if a.permutations == 0 {
        return Err(usage("--permutations must be at least 1"));
    }
    if a.bootstrap > 10_000_000 {
        return Err(usage(
            "--bootstrap is at most 10,000,000 replicates (each is kept to find the interval)",
        ));
    }
    Ok(WeatOptions {
        permutations: a.permutations,
        exact_limit: a.exact_limit,
        bootstrap: a.bootstrap,
        seed: a.seed,
        max_missing: a.max_missing,
        case: a.case.mode(),
        alternative: Alternative::from(a.alternative),
        allow_unequal: a.allow_unequal,
    })
}

pub fn bias(a: &BiasArgs) -> Result<(), CliError> {
    match &a.command {
        BiasCommand::Weat(w) => weat::weat(w),
        BiasCommand::Direct(d) => direct(d),
        BiasCommand::Debias(d) => debias(d),
        BiasCommand::Ripa(r) => ripa(r),
        BiasCommand::Sets(s) => sets(s),
    }
}

fn direction_of(set: &EmbeddingSet, d: &DirectionArgs) -> Result<bias::BiasDirection, CliError> {
    let p = pairs(d.pairs.as_deref(), &bias::bolukbasi().definitional_pairs)?;
    Ok(bias::direction(
        set,
        &p,
        &d.positive,
        &d.negative,
        d.case.mode(),
    )?)
}

fn direction_json(dir: &bias::BiasDirection) -> Value {
    json!({
        "explained_variance_ratio": dir.explained_variance_ratio,
        "pairs_used": dir.pairs_used,
        "pairs_missing": dir.pairs_missing,
        "positive": dir.positive,
        "negative": dir.negative,
        "warning": dir.warning,
        "vector": dir.vector,
    })
}

fn neutral_words(spec: Option<&str>) -> Result<Vec<String>, CliError> {
    match spec {
        Some(s) => Ok(word_list(s)?.words),
        None => Ok(bias::bolukbasi().neutral_professions()),
    }
}

fn direct(a: &DirectArgs) -> Result<(), CliError> {
    let set = a.load.load(&a.file)?.set;
    let dir = direction_of(&set, &a.dir)?;
    let words = neutral_words(a.words.as_deref())?;
    let db = bias::direct_bias(&set, &dir, &words, a.c, a.dir.case.mode())?;
    if a.json {
        print_json(&json!({
            "direction": direction_json(&dir),
            "direct_bias": db.direct_bias,
            "c": db.c,
            "n_words": db.projections.len(),
            "missing": db.missing,
            "projections": db.projections,
        }));
        return Ok(());
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "direction {} - {} from {} pairs ({} missing); explained variance: {}",
        dir.positive,
        dir.negative,
        dir.pairs_used.len(),
        dir.pairs_missing.len(),
        dir.explained_variance_ratio
            .iter()
            .take(5)
            .map(|v| format!("{:.3}", v))
            .collect::<Vec<_>>()
            .join(" ")
    );
    if let Some(w) = &dir.warning {
        let _ = writeln!(out, "warning: {w}");
    }
    let _ = writeln!(
        out,
        "direct bias DB_{} = {:.6} over {} words ({} not in the vocabulary)",
        db.c,
        db.direct_bias,
        db.projections.len(),
        db.missing.len()
    );
    let n = a.top.min(db.projections.len());
    let _ = writeln!(out, "\ntowards '{}':", dir.positive);
    for p in db.projections.iter().take(n) {
        let _ = writeln!(out, "  {:>8.4}  {}", p.projection, p.word);
    }
    let _ = writeln!(out, "towards '{}':", dir.negative);
    for p in db.projections.iter().rev().take(n) {
        let _ = writeln!(out, "  {:>8.4}  {}", p.projection, p.word);
    }
    print!("{out}");
    Ok(())
}

fn debias(a: &DebiasArgs) -> Result<(), CliError> {
    let to = a.to.map(Format::from);
    super::check_not_input(&a.out, &a.load.inputs(&a.file))?;
    let set = a.load.load(&a.file)?.set;
    let dir = direction_of(&set, &a.dir)?;
    let b = bias::bolukbasi();
    let mut default_eq = b.equalize_pairs.clone();
    default_eq.extend(b.definitional_pairs.iter().cloned());
    let equality_pairs = pairs(a.equalize.as_deref(), &default_eq)?;
    let specific = match &a.specific {
        Some(s) => word_list(s)?.words,
        None => b.specific_words(),
    };
    let t = Instant::now();
    let (out_set, report) = bias::hard_debias(
        &set,
        &dir,
        &DebiasOptions {
            specific,
            equality_pairs,
        },
    )?;
    let debias_s = t.elapsed().as_secs_f64();
    let professions = b.neutral_professions();
    let case = a.dir.case.mode();
    let before = bias::direct_bias(&set, &dir, &professions, 1.0, case).ok();
    let after = bias::direct_bias(&out_set, &dir, &professions, 1.0, case).ok();
    let files = formats::save(&out_set, &a.out, to)?;
    if a.json {
        print_json(&json!({
            "output": files,
            "direction": direction_json(&dir),
            "report": report,
            "direct_bias_professions": {
                "before": before.as_ref().map(|d| d.direct_bias),
                "after": after.as_ref().map(|d| d.direct_bias),
            },
            "seconds": debias_s,
        }));
        return Ok(());
    }
    println!(
        "{} rows: {} neutralised, {} gender-specific kept, {} pairs equalised ({} pairs not in the vocabulary){}",
        report.rows,
        report.neutralised,
        report.specific_kept,
        report.equalised_pairs.len(),
        report.pairs_missing.len(),
        if report.skipped_rows > 0 {
            format!(", {} zero/NaN rows left as they were", report.skipped_rows)
        } else {
            String::new()
        }
    );
    if let (Some(b), Some(af)) = (before, after) {
        println!(
            "direct bias of the neutral professions: {:.6} -> {:.6}",
            b.direct_bias, af.direct_bias
        );
    }
    for f in &files {
        println!("wrote {}", f.display());
    }
    Ok(())
}

fn ripa(a: &RipaArgs) -> Result<(), CliError> {
    let set = a.load.load(&a.file)?.set;
    let p = pairs(a.pairs.as_deref(), &bias::bolukbasi().definitional_pairs)?;
    let words = neutral_words(a.words.as_deref())?;
    let r = bias::ripa(&set, &p, &words, a.case.mode(), a.normalize)?;
    if a.json {
        print_json(&serde_json::to_value(&r).unwrap_or(Value::Null));
        return Ok(());
    }
    println!(
        "RIPA = {:.6} over {} words, {} pairs ({} words and {} pairs not in the vocabulary)",
        r.ripa,
        r.words.len(),
        r.pairs_used.len(),
        r.words_missing.len(),
        r.pairs_missing.len()
    );
    let mut sorted = r.words.clone();
    sorted.sort_by(|x, y| y.mean.total_cmp(&x.mean));
    for w in &sorted {
        println!("  {:>9.4} +- {:<8.4} {}", w.mean, w.std, w.word);
    }
    Ok(())
}

fn sets(a: &SetsArgs) -> Result<(), CliError> {
    let tests = bias::caliskan_tests();
    let named = bias::named_sets();
    if a.json {
        print_json(&json!({
            "tests": tests,
            "sets": named,
            "pairs": {
                "definitional": bias::bolukbasi().definitional_pairs,
                "equalize": bias::bolukbasi().equalize_pairs,
            },
        }));
        return Ok(());
    }
    println!("bundled WEAT tests (--test NAME):");
    for t in tests {
        println!(
            "  {:<7} {} ({}/{}/{}/{} words)",
            t.name,
            t.title(),
            t.x.words.len(),
            t.y.words.len(),
            t.a.words.len(),
            t.b.words.len()
        );
    }
    println!("\nbundled word sets (set:NAME wherever a word-list file is expected):");
    for s in named {
        println!("  {:<28} {} words", s.name, s.words.len());
    }
    println!("\nbundled pair lists: set:definitional (10 pairs), set:equalize (52 pairs)");
    Ok(())
}
