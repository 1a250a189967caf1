//! Writers. Every file is written to a temporary name beside the target, then renamed, so an
//! interrupted write never leaves a half-written file under the target's name.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::Format;
use super::error::{ErrorKind, FormatError, Location};
use crate::core::EmbeddingSet;

pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Whether a process with this id runs: `kill(pid, 0)`, which sends nothing (a process of
/// another user, where it answers EPERM, runs too).
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 is not delivered; kill only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// When process `pid` started, in clock ticks since boot (Linux: field 22 of
/// `/proc/<pid>/stat`); `None` elsewhere or when it cannot be read. With the id, it names one
/// run: an id reused by a later process has another start.
pub fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the run that was process `pid`, started at `start` (where known), still runs.
pub fn run_alive(pid: u32, start: Option<u64>) -> bool {
    if !process_alive(pid) {
        return false;
    }
    match (start, process_start(pid)) {
        (Some(then), Some(now)) => then == now,
        _ => true,
    }
}

/// Removes the temporary files of `target` that writers killed before they finished left
/// behind (`.NAME.tmp-PID` whose process is gone): SIGKILL runs no clean-up, so the next write
/// to the same destination does it.
fn sweep_left_behind(target: &Path) {
    let Some(name) = target.file_name() else {
        return;
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let me = std::process::id();
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix.as_str()))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != me && !process_alive(pid) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The temporary files being written, so that a signal handler can remove them before the
/// process exits (Ctrl+C must leave nothing behind). Slots hold leaked C strings; the handler
/// only loads pointers and calls `unlink`, both async-signal-safe.
#[cfg(unix)]
mod live {
    use std::ffi::CString;
    use std::os::raw::c_char;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering::SeqCst};

    const SLOTS: usize = 256;
    static TRACK: AtomicBool = AtomicBool::new(false);
    /// Set by [`remove_all`]: from then on a removed slot's string is leaked, never freed,
    /// since the handler may still be reading it.
    static CLEANING: AtomicBool = AtomicBool::new(false);
    static SLOT: [AtomicPtr<c_char>; SLOTS] =
        [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];

    pub fn track() {
        TRACK.store(true, SeqCst);
    }

    /// Records `path`; `None` when tracking is off or every slot is taken.
    pub fn add(path: &Path) -> Option<usize> {
        if !TRACK.load(SeqCst) {
            return None;
        }
        let c = CString::new(path.as_os_str().as_bytes()).ok()?.into_raw();
        for (i, s) in SLOT.iter().enumerate() {
            if s.compare_exchange(std::ptr::null_mut(), c, SeqCst, SeqCst)
                .is_ok()
            {
                return Some(i);
            }
        }
        // SAFETY: `c` came from `CString::into_raw` above and was stored nowhere.
        drop(unsafe { CString::from_raw(c) });
        None
    }

    pub fn remove(slot: usize) {
        let Some(s) = SLOT.get(slot) else { return };
        let p = s.swap(std::ptr::null_mut(), SeqCst);
        if !p.is_null() && !CLEANING.load(SeqCst) {
            // SAFETY: `p` came from `CString::into_raw` in `add`, and the slot no longer
            // holds it; no handler has started reading slots.
            drop(unsafe { CString::from_raw(p) });
        }
    }

    pub fn remove_all() {
        CLEANING.store(true, SeqCst);
        for s in &SLOT {
            let p = s.load(SeqCst);
            if !p.is_null() {
                // SAFETY: a NUL-terminated string that is never freed once CLEANING is set.
                unsafe { libc::unlink(p) };
            }
        }
    }
}

#[cfg(not(unix))]
mod live {
    use std::path::Path;
    pub fn track() {}
    pub fn add(_: &Path) -> Option<usize> {
        None
    }
    pub fn remove(_: usize) {}
    pub fn remove_all() {}
}

/// Keeps a list of the temporary files this process is writing, for
/// [`remove_temp_files_now`]. The command-line tool turns it on before its work starts.
pub fn track_temp_files() {
    live::track();
}

/// Removes every temporary file being written, and every file of a group being renamed into
/// place (see [`Staged::commit`]), then returns. Async-signal-safe: meant for a Ctrl+C
/// handler that ends the process right after; writes that go on afterwards are not tracked.
pub fn remove_temp_files_now() {
    live::remove_all();
}

/// The error of a destination that cannot be written: a missing folder is named as such, a
/// folder in the file's place said plainly.
fn destination_error(path: &Path, e: std::io::Error) -> FormatError {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if e.kind() == std::io::ErrorKind::NotFound
        && let Some(dir) = parent
        && !dir.is_dir()
    {
        return FormatError::new(
            path,
            Location::None,
            ErrorKind::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("folder {} does not exist", dir.display()),
            )),
        );
    }
    if path.is_dir() {
        return FormatError::new(
            path,
            Location::None,
            ErrorKind::Io(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "is a folder; give a file name to write",
            )),
        );
    }
    FormatError::new(path, Location::None, ErrorKind::Io(e))
}

/// A temporary file beside `target`: removed when dropped unless renamed onto the target by
/// [`TempFile::commit`]; listed for [`remove_temp_files_now`] while it exists.
pub struct TempFile {
    target: PathBuf,
    tmp: PathBuf,
    slot: Option<usize>,
    done: bool,
}

impl TempFile {
    /// Reserves the temporary name of `target` (nothing is created yet): refused when
    /// `target` is a folder or its folder does not exist.
    pub fn new(target: &Path) -> Result<TempFile, FormatError> {
        if target.is_dir() {
            return Err(destination_error(
                target,
                std::io::Error::from(std::io::ErrorKind::IsADirectory),
            ));
        }
        if let Some(dir) = target.parent().filter(|p| !p.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(destination_error(
                target,
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        sweep_left_behind(target);
        let tmp = temp_path(target);
        let slot = live::add(&tmp);
        Ok(TempFile {
            target: target.to_path_buf(),
            tmp,
            slot,
            done: false,
        })
    }

    /// Creates (or truncates) the temporary file.
    pub fn create(&self) -> Result<std::fs::File, FormatError> {
        std::fs::File::create(&self.tmp).map_err(|e| destination_error(&self.target, e))
    }

    pub fn path(&self) -> &Path {
        &self.tmp
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Renames the temporary file onto the target.
    pub fn commit(mut self) -> Result<PathBuf, FormatError> {
        std::fs::rename(&self.tmp, &self.target).map_err(|e| destination_error(&self.target, e))?;
        self.done = true;
        Ok(self.target.clone())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
        if let Some(s) = self.slot.take() {
            live::remove(s);
        }
    }
}

/// Writes through `f` into `t`'s temporary file, flushed and synced.
pub(crate) fn write_temp(
    t: &TempFile,
    f: impl FnOnce(&mut BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), FormatError> {
    let file = t.create()?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let result = (|| {
        f(&mut w)?;
        w.flush()?;
        w.get_ref().sync_all()
    })();
    result.map_err(|e| destination_error(t.target(), e))
}

/// The files of one output (vectors with their vocabulary, metadata, encoding record), each
/// written to a temporary name first; [`Staged::commit`] renames them all, and dropping an
/// uncommitted group removes its temporary files: an output is all of its files or none.
#[derive(Default)]
pub struct Staged {
    files: Vec<TempFile>,
}

impl Staged {
    pub fn new() -> Staged {
        Staged::default()
    }

    /// Writes the file that will become `path` through `f`.
    pub fn write_with(
        &mut self,
        path: &Path,
        f: impl FnOnce(&mut BufWriter<std::fs::File>) -> std::io::Result<()>,
    ) -> Result<(), FormatError> {
        let t = TempFile::new(path)?;
        write_temp(&t, f)?;
        self.files.push(t);
        Ok(())
    }

    pub fn write(&mut self, path: &Path, bytes: &[u8]) -> Result<(), FormatError> {
        self.write_with(path, |w| w.write_all(bytes))
    }

    /// Adds a temporary file that a writer of its own has filled.
    pub fn push(&mut self, t: TempFile) {
        self.files.push(t);
    }

    /// The temporary file that will become `target` (to read back what was written).
    pub fn temp_of(&self, target: &Path) -> Option<&Path> {
        self.files
            .iter()
            .find(|t| t.target() == target)
            .map(TempFile::path)
    }

    /// Renames every file into place. When a rename fails, the files already renamed are
    /// removed and the rest are left as temporary files that are removed too.
    pub fn commit(self) -> Result<Vec<PathBuf>, FormatError> {
        let mut done: Vec<(PathBuf, Option<usize>)> = Vec::with_capacity(self.files.len());
        let mut result = Ok(());
        for t in self.files {
            // Listed before the rename, so a signal in between removes it either way.
            let slot = live::add(t.target());
            match t.commit() {
                Ok(p) => done.push((p, slot)),
                Err(e) => {
                    if let Some(s) = slot {
                        live::remove(s);
                    }
                    result = Err(e);
                    break;
                }
            }
        }
        if result.is_err() {
            for (p, _) in &done {
                let _ = std::fs::remove_file(p);
            }
        }
        for s in done.iter().filter_map(|(_, s)| *s) {
            live::remove(s);
        }
        result.map(|()| done.into_iter().map(|(p, _)| p).collect())
    }
}

/// Writes through `f` into a temporary file, then renames it over `path`.
pub fn atomic_write_with(
    path: &Path,
    f: impl FnOnce(&mut BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), FormatError> {
    let t = TempFile::new(path)?;
    write_temp(&t, f)?;
    t.commit().map(|_| ())
}

/// Writes `bytes` to `path` atomically (temporary file beside it, synced, then renamed).
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), FormatError> {
    atomic_write_with(path, |w| w.write_all(bytes))
}

/// First characters that make a spreadsheet read a cell as a formula (CSV injection).
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A text cell that needs a `'` before it: it starts like a formula and is not a number (nor
/// a lone `-`, the placeholder of a missing value), or it starts with `'`s before such a
/// start (so that [`csv_text`] gives every text back as it was).
fn needs_quote_mark(s: &str) -> bool {
    let rest = s.trim_start_matches('\'');
    rest.starts_with(FORMULA_START)
        && (rest.len() < s.len() || (s != "-" && s.parse::<f64>().is_err()))
}

/// One CSV text field. A text that starts like a spreadsheet formula (`=`, `+`, `-`, `@`, tab,
/// carriage return) gets a `'` before it, so a spreadsheet opening the file shows a token such
/// as `=HYPERLINK(...)` as text rather than running it; numbers are left as they are. Then
/// RFC 4180: quoted when it holds a comma, quote or line break, or starts or ends with a space
/// or tab (which readers trim). [`csv_text`] reads the text back.
pub fn csv_field(s: &str) -> String {
    let marked;
    let s = if needs_quote_mark(s) {
        marked = format!("'{s}");
        marked.as_str()
    } else {
        s
    };
    if s.contains([',', '"', '\n', '\r']) || s.starts_with([' ', '\t']) || s.ends_with([' ', '\t'])
    {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The text of a CSV field written by [`csv_field`] (after the CSV reader's unquoting): the
/// `'` put before a formula-like text taken off again.
pub fn csv_text(field: &str) -> &str {
    match field.strip_prefix('\'') {
        Some(rest) if needs_quote_mark(rest) => rest,
        _ => field,
    }
}

/// Shortest text that reads back as the same f32.
pub(crate) fn push_f32(out: &mut String, v: f32) {
    let start = out.len();
    let _ = write!(out, "{v}");
    if out.len() - start > 14 {
        out.truncate(start);
        let _ = write!(out, "{v:e}");
    }
}

/// Tokens that a whitespace-separated format cannot hold.
fn check_token(path: &Path, row: usize, t: &str, what: &str) -> Result<(), FormatError> {
    if t.is_empty() || t.chars().any(char::is_whitespace) {
        return Err(FormatError::unrepresentable(
            path,
            Location::Row(row as u64),
            format!(
                "token {t:?} is empty or contains whitespace, which {what} cannot store; write parquet, npy or native instead"
            ),
        ));
    }
    Ok(())
}

/// Formats rows as text lines ("token v1 v2 ..." or values only) in parallel blocks.
fn text_lines(
    set: &EmbeddingSet,
    sep: char,
    with_token: bool,
    out: &mut impl Write,
) -> std::io::Result<()> {
    const BLOCK: usize = 4096;
    let rows = set.rows();
    let blocks: Vec<usize> = (0..rows.div_ceil(BLOCK)).collect();
    for group in blocks.chunks(rayon::current_num_threads().max(1) * 4) {
        let texts: Vec<String> = group
            .par_iter()
            .map(|&b| {
                let mut s = String::with_capacity(BLOCK * set.dim() * 10);
                for i in b * BLOCK..((b + 1) * BLOCK).min(rows) {
                    if with_token {
                        s.push_str(set.vocab.token(i));
                        s.push(sep);
                    }
                    for (j, &v) in set.matrix.row(i).iter().enumerate() {
                        if j > 0 {
                            s.push(sep);
                        }
                        push_f32(&mut s, v);
                    }
                    s.push('\n');
                }
                s
            })
            .collect();
        for t in texts {
            out.write_all(t.as_bytes())?;
        }
    }
    Ok(())
}

/// Writes `set` to `path` in `format` (or the format its extension implies).
/// Returns every file written (array formats also write a vocabulary file beside the data):
/// all of them, or none when any fails.
pub fn save(
    set: &EmbeddingSet,
    path: &Path,
    format: Option<Format>,
) -> Result<Vec<PathBuf>, FormatError> {
    stage(set, path, format)?.commit()
}

/// [`save`]'s files written to temporary names, not yet renamed: the caller may add files of
/// its own (an encoding record) before [`Staged::commit`].
pub fn stage(
    set: &EmbeddingSet,
    path: &Path,
    format: Option<Format>,
) -> Result<Staged, FormatError> {
    let format = format.or_else(|| Format::from_extension(path)).ok_or_else(|| {
        FormatError::unsupported(
            path,
            "cannot tell the output format from the extension: use .txt .vec .bin .tsv .npy .safetensors .parquet .esv or give --to",
        )
    })?;
    let rows = set.rows();
    let mut staged = Staged::new();
    match format {
        Format::Word2VecText | Format::GloveText | Format::Word2VecBinary => {
            let what = format.name();
            for (i, t) in set.vocab.iter().enumerate() {
                check_token(path, i, t, what)?;
            }
            staged.write_with(path, |w| {
                if format != Format::GloveText {
                    writeln!(w, "{} {}", rows, set.dim())?;
                }
                if format == Format::Word2VecBinary {
                    for i in 0..rows {
                        w.write_all(set.vocab.token(i).as_bytes())?;
                        w.write_all(b" ")?;
                        for v in set.matrix.row(i) {
                            w.write_all(&v.to_le_bytes())?;
                        }
                        w.write_all(b"\n")?;
                    }
                    Ok(())
                } else {
                    text_lines(set, ' ', true, w)
                }
            })?;
        }
        Format::ProjectorTsv => {
            let meta_path = super::projector::metadata_path_for(path);
            let cols = set.metadata.columns();
            let check = |s: &str, row: usize| {
                if s.contains(['\t', '\n', '\r']) {
                    Err(FormatError::unrepresentable(
                        &meta_path,
                        Location::Row(row as u64),
                        format!(
                            "{s:?} contains a tab or line break, which metadata.tsv cannot store"
                        ),
                    ))
                } else {
                    Ok(())
                }
            };
            let mut meta = String::new();
            if !cols.is_empty() {
                meta.push_str("token");
                for c in cols {
                    check(&c.name, 0)?;
                    meta.push('\t');
                    meta.push_str(&c.name);
                }
                meta.push('\n');
            }
            for i in 0..rows {
                let t = set.vocab.token(i);
                check(t, i)?;
                meta.push_str(t);
                for c in cols {
                    check(&c.values[i], i)?;
                    meta.push('\t');
                    meta.push_str(&c.values[i]);
                }
                meta.push('\n');
            }
            staged.write_with(path, |w| text_lines(set, '\t', false, w))?;
            staged.write(&meta_path, meta.as_bytes())?;
        }
        Format::Npy | Format::Safetensors => {
            let vocab_path = vocab_path_for(path);
            let vocab = super::vocab_file::vocab_text(&vocab_path, set.vocab.iter())?;
            if format == Format::Npy {
                staged.write_with(path, |w| super::npy::write_npy(w, &set.matrix))?;
            } else {
                let t = TempFile::new(path)?;
                super::safetensors_io::write_safetensors(&set.matrix, &t)?;
                staged.push(t);
            }
            staged.write(&vocab_path, vocab.as_bytes())?;
            // Metadata beside the array (`x.metadata.tsv`, token first), as the reader expects.
            if format == Format::Npy && !set.metadata.columns().is_empty() {
                let stem = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_default();
                let meta_path = path.with_file_name(format!("{stem}.metadata.tsv"));
                let cols = set.metadata.columns();
                let mut text = String::from("token");
                for c in cols {
                    text.push('\t');
                    text.push_str(&super::npy::tsv_cell(&c.name));
                }
                text.push('\n');
                for (i, tok) in set.vocab.iter().enumerate() {
                    text.push_str(&super::npy::tsv_cell(tok));
                    for c in cols {
                        text.push('\t');
                        text.push_str(&super::npy::tsv_cell(&c.values[i]));
                    }
                    text.push('\n');
                }
                staged.write(&meta_path, text.as_bytes())?;
            }
        }
        Format::Parquet => staged.push(super::table::write_parquet_temp(set, path)?),
        Format::Native => {
            staged.write_with(path, |w| super::native::write_native(w, set, None))?;
        }
        Format::ArrowIpc => {
            return Err(FormatError::unsupported(
                path,
                "writing Arrow IPC is not supported; write parquet instead",
            ));
        }
    }
    Ok(staged)
}

/// `x.npy` -> `x.vocab.txt` (found again by the readers).
pub(crate) fn vocab_path_for(data: &Path) -> PathBuf {
    let stem = data
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    data.with_file_name(format!("{stem}.vocab.txt"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field(" pad"), "\" pad\"");
        assert_eq!(csv_field("pad\t"), "\"pad\t\"");
        for f in ["=cmd()", "+x", "-y", "@SUM(A1)", "=HYPERLINK(\"http://x\")"] {
            let w = csv_field(f);
            assert!(w.starts_with("'") || w.starts_with("\"'"), "{f} -> {w}");
        }
        assert_eq!(csv_field("=1+2"), "'=1+2");
        assert_eq!(csv_field("\tx"), "'\tx");
        assert_eq!(csv_field("\rx"), "\"'\rx\"");
        // Numbers and the missing-value placeholder stay as they are.
        for n in ["-2", "+1", "-0.5e-3", "-"] {
            assert_eq!(csv_field(n), n);
        }
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("naïve"), "naïve");
    }

    #[test]
    fn csv_text_gives_every_text_back() {
        for t in [
            "=cmd()", "'=cmd()", "''@x", "'plain", "'", "-", "-2", "'-2", "+", "@", "\tx", "it's",
            "=", "'='",
        ] {
            let w = csv_field(t);
            // What a CSV reader returns for the field: the quotes taken off.
            let read = if w.starts_with('"') {
                w[1..w.len() - 1].replace("\"\"", "\"")
            } else {
                w.clone()
            };
            assert_eq!(csv_text(&read), t, "{t:?} -> {w:?}");
        }
    }

    #[test]
    fn floats_round_trip_through_text() {
        for v in [
            0.418f32,
            -1e-30,
            3.4e38,
            1.0,
            0.0,
            -0.0,
            f32::MIN_POSITIVE,
            123456.79,
            1e-45,
        ] {
            let mut s = String::new();
            push_f32(&mut s, v);
            assert!(s.len() <= 15, "{s}");
            let back: f32 = fast_float2::parse(&s).unwrap();
            assert_eq!(back.to_bits(), v.to_bits(), "{v} -> {s}");
        }
    }
}
