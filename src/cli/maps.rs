//! Reading a map written by `embedscope project --out` (CSV `token,x,y[,z],...` with any
//! columns after the coordinates, quoted fields spanning lines; or .npy + .vocab.txt).

use std::path::Path;

use embedscope::formats;

use super::{CliError, usage};

/// A map's tokens and positions (`tokens.len() x dims`, row-major).
pub struct MapFile {
    pub tokens: Vec<String>,
    pub coords: Vec<f32>,
    pub dims: usize,
}

/// Reads the map at `path`; `flag` names the option it came from in messages (`--map`).
pub fn read_map(path: &Path, flag: &str) -> Result<MapFile, CliError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if ext == "npy" {
        let set = formats::load(path, &Default::default())?;
        let tokens = (0..set.rows())
            .map(|i| set.vocab.token(i).to_string())
            .collect();
        return Ok(MapFile {
            tokens,
            coords: set.matrix.as_slice().to_vec(),
            dims: set.dim(),
        });
    }
    let file = std::fs::File::open(path)
        .map_err(|e| usage(format!("{flag} {}: cannot read: {e}", path.display())))?;
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(std::io::BufReader::new(file));
    let bad =
        |line: u64, msg: String| usage(format!("{flag} {}: line {line}: {msg}", path.display()));
    let header = r
        .headers()
        .map_err(|e| usage(format!("{flag} {}: {e}", path.display())))?
        .clone();
    let dims = header
        .iter()
        .skip(1)
        .take_while(|h| ["x", "y", "z"].contains(h))
        .count();
    if header.get(0) != Some("token") || !(dims == 2 || dims == 3) {
        return Err(usage(format!(
            "{flag} {}: expected a map written by `embedscope project` (header token,x,y[,z])",
            path.display()
        )));
    }
    let mut tokens = Vec::new();
    let mut coords = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            bad(line, e.to_string())
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() < dims + 1 {
            return Err(bad(
                line,
                format!("expected a token and {dims} coordinates"),
            ));
        }
        for v in rec.iter().skip(1).take(dims) {
            let x: f32 = v
                .trim()
                .parse()
                .map_err(|_| bad(line, format!("'{v}' is not a number")))?;
            coords.push(x);
        }
        tokens.push(formats::csv_text(&rec[0]).to_string());
    }
    Ok(MapFile {
        tokens,
        coords,
        dims,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_and_line_breaks_in_later_columns() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("m.csv");
        std::fs::write(
            &p,
            "token,x,y,text\n\"x,\"\"y\"\"\",1.5,-2,\"two\nlines, here\"\nd1,0,3,plain\n",
        )
        .expect("write");
        let m = read_map(&p, "--map").expect("map");
        assert_eq!(m.tokens, ["x,\"y\"", "d1"]);
        assert_eq!(m.coords, [1.5, -2.0, 0.0, 3.0]);
        assert_eq!(m.dims, 2);
        std::fs::write(&p, "token,x,y\na,1,zz\n").expect("write");
        let e = read_map(&p, "--on").err().expect("bad number");
        let msg = format!("{e:?}");
        assert!(
            msg.contains("--on") && msg.contains("line 2") && msg.contains("zz"),
            "{msg}"
        );
        std::fs::write(&p, "word,a,b\n").expect("write");
        assert!(read_map(&p, "--on").is_err());
    }
}
