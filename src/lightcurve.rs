//! Light-curve ingestion: tables (CSV, TSV, whitespace), JSON, gzip, one or many objects,
//! one or many bands, turned into clean, time-sorted light curves.
//!
//! Layouts understood (header names are matched case-insensitively):
//! - long tables, one row per epoch: time, magnitude, optional error, optional band and
//!   object columns (ZTF/ALeRCE `mjd,magpsf,sigmapsf,fid,oid`; SDSS Stripe 82
//!   `time,mag,magerr,band`);
//! - wide tables with one magnitude (and error) column per band sharing a time column
//!   (MACHO-style `dateobs,rmag,rerr,bmag,berr`; `mag_g,magerr_g`);
//! - list cells, one row per object and band-suffixed columns holding `[v1, v2, ...]`
//!   (EROS `time_points_b,light_points_b,error_points_b`);
//! - headerless numeric columns: time, magnitude, error, in that order;
//! - JSON `{"t":[...],"m":[...],"e":[...]}` or an array of records.
//!
//! Cleaning, always the same: a row whose time or magnitude is missing or not finite, or whose
//! error is given but not finite or negative, is dropped (and counted in `dropped`); the rest
//! are sorted by time with a stable sort, so epochs with equal times keep their order in the
//! file. Equal times are kept: they give pairs with Δt = 0.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::io::Read;

/// Largest number of rows (epochs) read from one file.
pub const MAX_ROWS: usize = 5_000_000;
/// Largest input accepted, after decompression.
pub const MAX_INPUT_BYTES: u64 = 512 * 1024 * 1024;

const TIME_NAMES: &[&str] = &["time", "t", "mjd", "hjd", "bjd", "jd", "dateobs", "date-obs", "date_obs"];
const MAG_NAMES: &[&str] = &["mag", "magnitude", "magpsf", "m"];
const ERR_NAMES: &[&str] = &["err", "magerr", "mag_err", "sigmapsf", "sigma", "e", "error", "mag_error"];
const BAND_NAMES: &[&str] = &["band", "filter", "fid", "passband"];
const OBJECT_NAMES: &[&str] = &["oid", "objectid", "object_id", "object", "id", "source_id", "star_id", "name"];

/// Which columns to use when the header names are not the usual ones, and which band to keep.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReadOptions {
    /// Time column: a header name, or a 1-based column number.
    pub time: Option<String>,
    /// Magnitude column.
    pub mag: Option<String>,
    /// Magnitude-error column.
    pub err: Option<String>,
    /// Band (filter) column.
    pub band_column: Option<String>,
    /// Object-identifier column, for files holding several objects.
    pub object_column: Option<String>,
    /// Keep only this band (`g`, `r`, `b`, or the raw value in the band column).
    pub band: Option<String>,
}

/// One object seen in one band, cleaned and sorted by time.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LightCurve {
    pub object: Option<String>,
    pub band: Option<String>,
    pub time: Vec<f64>,
    pub mag: Vec<f64>,
    pub err: Option<Vec<f64>>,
    /// Rows dropped by cleaning (missing or non-finite values).
    pub dropped: usize,
}

impl LightCurve {
    /// A readable name for messages: object and band where known.
    pub fn label(&self) -> String {
        match (&self.object, &self.band) {
            (Some(o), Some(b)) => format!("object {o}, band {b}"),
            (Some(o), None) => format!("object {o}"),
            (None, Some(b)) => format!("band {b}"),
            (None, None) => "the light curve".to_string(),
        }
    }

    pub fn len(&self) -> usize {
        self.time.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    /// Drops unusable rows and sorts by time (stable: equal times keep file order).
    fn clean(&mut self) {
        let n = self.time.len();
        let keep: Vec<usize> = (0..n)
            .filter(|&i| {
                self.time[i].is_finite()
                    && self.mag[i].is_finite()
                    && self.err.as_ref().is_none_or(|e| e[i].is_finite() && e[i] >= 0.0)
            })
            .collect();
        self.dropped += n - keep.len();
        let mut order = keep;
        order.sort_by(|&a, &b| self.time[a].total_cmp(&self.time[b]));
        self.time = order.iter().map(|&i| self.time[i]).collect();
        self.mag = order.iter().map(|&i| self.mag[i]).collect();
        if let Some(e) = &self.err {
            self.err = Some(order.iter().map(|&i| e[i]).collect());
        }
    }
}

/// Reads every light curve in `bytes` (gzip-compressed or not): one per object and band,
/// cleaned and sorted. Fails with a message naming the problem, row and column.
pub fn read(bytes: &[u8], options: &ReadOptions) -> Result<Vec<LightCurve>> {
    let text = decode_text(bytes)?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(Error::Format("the file is empty".into()));
    }
    let mut curves = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        read_json(trimmed, options)?
    } else {
        read_table(&text, options)?
    };
    for c in &mut curves {
        c.clean();
    }
    select_band(&mut curves, options.band.as_deref())?;
    for c in &curves {
        if c.len() < 2 {
            return Err(Error::Value(format!(
                "{} has {} usable point{} (at least 2 are needed){}",
                c.label(),
                c.len(),
                if c.len() == 1 { "" } else { "s" },
                if c.dropped > 0 { format!("; {} row(s) with missing or non-finite values were dropped", c.dropped) } else { String::new() }
            )));
        }
    }
    Ok(curves)
}

fn decode_text(bytes: &[u8]) -> Result<String> {
    let mut raw = Vec::new();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut decoder = flate2::read::MultiGzDecoder::new(bytes).take(MAX_INPUT_BYTES + 1);
        decoder
            .read_to_end(&mut raw)
            .map_err(|e| Error::Format(format!("the gzip data is damaged or truncated ({e})")))?;
    } else {
        raw.extend_from_slice(bytes);
    }
    if raw.len() as u64 > MAX_INPUT_BYTES {
        return Err(Error::Limit(format!(
            "the light-curve file is larger than {} MiB once decompressed",
            MAX_INPUT_BYTES >> 20
        )));
    }
    let mut text = String::from_utf8(raw).map_err(|e| {
        Error::Format(format!(
            "not a text table or JSON file: invalid UTF-8 at byte {}",
            e.utf8_error().valid_up_to()
        ))
    })?;
    if text.starts_with('\u{feff}') {
        text.drain(..3);
    }
    if text.contains('\0') {
        return Err(Error::Format("not a text table or JSON file: it contains NUL bytes".into()));
    }
    Ok(text)
}

fn select_band(curves: &mut Vec<LightCurve>, band: Option<&str>) -> Result<()> {
    let Some(wanted) = band else { return Ok(()) };
    let found: Vec<String> = {
        let mut v: Vec<String> = curves.iter().filter_map(|c| c.band.clone()).collect();
        v.sort();
        v.dedup();
        v
    };
    if found.is_empty() {
        return Err(Error::Option(format!("band '{wanted}' was asked for, but the file has no band information")));
    }
    curves.retain(|c| c.band.as_deref().is_some_and(|b| b.eq_ignore_ascii_case(wanted)));
    if curves.is_empty() {
        return Err(Error::Option(format!("unknown band '{wanted}': the file has {}", found.join(", "))));
    }
    Ok(())
}

// ---------------------------------------------------------------- tables

#[derive(Debug, Clone, Copy, PartialEq)]
enum Delimiter {
    Comma,
    Tab,
    Semicolon,
    Whitespace,
}

fn detect_delimiter(first_line: &str) -> Delimiter {
    if first_line.contains('\t') {
        Delimiter::Tab
    } else if first_line.contains(',') {
        Delimiter::Comma
    } else if first_line.contains(';') {
        Delimiter::Semicolon
    } else {
        Delimiter::Whitespace
    }
}

/// Rows of a delimited text, with their 1-based line numbers. Lines starting with `#` and
/// blank lines are skipped.
fn table_rows(text: &str) -> Result<Vec<(usize, Vec<String>)>> {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("");
    let delimiter = detect_delimiter(first);
    // Count first: a file far over the limit is refused before its rows take memory (each
    // row's cells are kept as strings until the columns are known).
    if text.lines().filter(|l| { let l = l.trim_start(); !l.is_empty() && !l.starts_with('#') }).nth(MAX_ROWS + 1).is_some() {
        return Err(too_many_rows());
    }
    let mut rows = Vec::new();
    if delimiter == Delimiter::Whitespace {
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            rows.push((i + 1, line.split_whitespace().map(str::to_string).collect()));
            if rows.len() > MAX_ROWS + 1 {
                return Err(too_many_rows());
            }
        }
        return Ok(rows);
    }
    let byte = match delimiter {
        Delimiter::Comma => b',',
        Delimiter::Tab => b'\t',
        Delimiter::Semicolon => b';',
        Delimiter::Whitespace => unreachable!("handled above"),
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(byte)
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            Error::Format(format!("line {line}: cannot read the table ({e})"))
        })?;
        let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
        if record.iter().all(str::is_empty) {
            continue;
        }
        rows.push((line, record.iter().map(str::to_string).collect()));
        if rows.len() > MAX_ROWS + 1 {
            return Err(too_many_rows());
        }
    }
    Ok(rows)
}

fn too_many_rows() -> Error {
    Error::Limit(format!("the file has more than {MAX_ROWS} rows, the most skysift reads from one file"))
}

fn normalise(name: &str) -> String {
    name.trim().trim_matches('"').trim_matches('\'').to_ascii_lowercase()
}

/// A missing value: empty cell or one of the usual markers.
fn is_missing(cell: &str) -> bool {
    matches!(
        cell.trim().to_ascii_lowercase().as_str(),
        "" | "nan" | "null" | "none" | "na" | "n/a" | "--" | "-"
    )
}

fn parse_number(cell: &str) -> Option<f64> {
    let cell = cell.trim();
    if is_missing(cell) {
        return Some(f64::NAN);
    }
    cell.parse::<f64>().ok()
}

/// Where each quantity lives in a table.
#[derive(Debug)]
struct Columns {
    object: Option<usize>,
    /// Long layout: band column, and whether it holds ZTF filter ids.
    band: Option<(usize, bool)>,
    /// One entry per band (a single unnamed band for long tables).
    series: Vec<Series>,
}

#[derive(Debug)]
struct Series {
    band: Option<String>,
    time: usize,
    mag: usize,
    err: Option<usize>,
}

fn find_column(headers: &[String], names: &[&str]) -> Option<usize> {
    names.iter().find_map(|n| headers.iter().position(|h| h == n))
}

/// A column named by the user: header name (case-insensitive) or 1-based number.
fn user_column(headers: &[String], spec: &str, role: &str) -> Result<usize> {
    let key = normalise(spec);
    if let Some(i) = headers.iter().position(|h| *h == key) {
        return Ok(i);
    }
    if let Ok(n) = key.parse::<usize>() {
        if n >= 1 && n <= headers.len() {
            return Ok(n - 1);
        }
    }
    Err(Error::Option(format!(
        "{role} column '{spec}' is not in the file; its columns are: {}",
        headers.iter().map(|h| if h.is_empty() { "(unnamed)" } else { h.as_str() }).collect::<Vec<_>>().join(", ")
    )))
}

fn resolve_columns(headers: &[String], options: &ReadOptions) -> Result<Columns> {
    let pick = |spec: &Option<String>, names: &[&str], role: &str| -> Result<Option<usize>> {
        match spec {
            Some(s) => user_column(headers, s, role).map(Some),
            None => Ok(find_column(headers, names)),
        }
    };
    let time = pick(&options.time, TIME_NAMES, "time")?;
    let mag = pick(&options.mag, MAG_NAMES, "magnitude")?;
    let err = pick(&options.err, ERR_NAMES, "error")?;
    let band = pick(&options.band_column, BAND_NAMES, "band")?;
    let mut object = pick(&options.object_column, OBJECT_NAMES, "object")?;

    if let (Some(time), Some(mag)) = (time, mag) {
        let is_fid = band.is_some_and(|b| headers[b] == "fid");
        return Ok(Columns { object, band: band.map(|b| (b, is_fid)), series: vec![Series { band: None, time, mag, err }] });
    }

    // Wide layouts: one magnitude column per band.
    let mut series: Vec<Series> = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        if let Some(b) = band_of(h, &["light_points_", "mag_", "magnitude_"], &["mag", "magnitude"]) {
            let time_col = find_column(headers, &[&format!("time_points_{b}"), &format!("time_{b}"), &format!("mjd_{b}")]).or(time);
            let Some(time_col) = time_col else { continue };
            let err_col = find_column(
                headers,
                &[
                    &format!("error_points_{b}"),
                    &format!("magerr_{b}"),
                    &format!("mag_err_{b}"),
                    &format!("err_{b}"),
                    &format!("e_{b}"),
                    &format!("{b}err"),
                    &format!("{b}magerr"),
                    &format!("{b}_err"),
                ],
            );
            series.push(Series { band: Some(b), time: time_col, mag: i, err: err_col });
        }
    }
    if series.is_empty() {
        let missing = match (time, mag) {
            (None, None) => "time and magnitude columns",
            (None, _) => "a time column",
            _ => "a magnitude column",
        };
        return Err(Error::Format(format!(
            "no {missing} found; columns are: {}. Name them with the time/mag/err options (e.g. --time COL --mag COL)",
            headers.iter().map(|h| if h.is_empty() { "(unnamed)" } else { h.as_str() }).collect::<Vec<_>>().join(", ")
        )));
    }
    // pandas writes its index as an unnamed first column: the object name in EROS files.
    if object.is_none() && headers.first().is_some_and(|h| h.is_empty()) {
        object = Some(0);
    }
    Ok(Columns { object, band: None, series })
}

/// The band a wide-layout magnitude column belongs to: `light_points_b` / `mag_g` (prefixes)
/// or `rmag` / `bmagnitude` (suffixes, band name of at most 3 letters).
fn band_of(header: &str, prefixes: &[&str], suffixes: &[&str]) -> Option<String> {
    for p in prefixes {
        if let Some(rest) = header.strip_prefix(p) {
            if !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Some(rest.to_string());
            }
        }
    }
    for s in suffixes {
        if let Some(rest) = header.strip_suffix(s) {
            let rest = rest.trim_end_matches('_');
            if !rest.is_empty() && rest.len() <= 3 && rest.chars().all(|c| c.is_ascii_alphabetic()) {
                return Some(rest.to_string());
            }
        }
    }
    None
}

/// ZTF filter ids, as ALeRCE and the alert stream write them.
fn ztf_band(fid: &str) -> String {
    match fid.trim() {
        "1" | "1.0" => "g".into(),
        "2" | "2.0" => "r".into(),
        "3" | "3.0" => "i".into(),
        other => other.to_string(),
    }
}

/// Collects points into one light curve per (object, band), in order of first appearance.
#[derive(Default)]
struct Collector {
    index: HashMap<(Option<String>, Option<String>), usize>,
    curves: Vec<LightCurve>,
    with_errors: bool,
}

impl Collector {
    fn curve(&mut self, object: Option<String>, band: Option<String>) -> &mut LightCurve {
        let with_errors = self.with_errors;
        let next = self.curves.len();
        let i = *self.index.entry((object.clone(), band.clone())).or_insert(next);
        if i == next {
            self.curves.push(LightCurve {
                object,
                band,
                time: Vec::new(),
                mag: Vec::new(),
                err: with_errors.then(Vec::new),
                dropped: 0,
            });
        }
        &mut self.curves[i]
    }
}

fn cell_value(row: &[String], col: usize, line: usize, headers: &[String]) -> Result<f64> {
    let cell = row.get(col).map(String::as_str).unwrap_or("");
    parse_number(cell).ok_or_else(|| {
        Error::Value(format!(
            "line {line}, column '{}': '{}' is not a number",
            column_name(headers, col),
            shorten(cell)
        ))
    })
}

fn cell_list(row: &[String], col: usize, line: usize, headers: &[String]) -> Result<Vec<f64>> {
    let cell = row.get(col).map(String::as_str).unwrap_or("").trim();
    let inner = cell.trim_start_matches('[').trim_end_matches(']');
    if inner.trim().is_empty() {
        return Ok(Vec::new());
    }
    inner
        .split(',')
        .enumerate()
        .map(|(k, v)| {
            parse_number(v).ok_or_else(|| {
                Error::Value(format!(
                    "line {line}, column '{}', item {}: '{}' is not a number",
                    column_name(headers, col),
                    k + 1,
                    shorten(v.trim())
                ))
            })
        })
        .collect()
}

fn column_name(headers: &[String], col: usize) -> String {
    match headers.get(col) {
        Some(h) if !h.is_empty() => h.clone(),
        _ => format!("#{}", col + 1),
    }
}

/// Cuts long cell text for messages.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

fn read_table(text: &str, options: &ReadOptions) -> Result<Vec<LightCurve>> {
    let rows = table_rows(text)?;
    let Some((_, first)) = rows.first() else {
        return Err(Error::Format("the file has no rows".into()));
    };
    let headerless = first.iter().all(|c| c.trim().parse::<f64>().is_ok());
    let (headers, data): (Vec<String>, &[(usize, Vec<String>)]) = if headerless {
        // Plain numeric columns: time, magnitude, error.
        let names = ["time", "mag", "err", "band"];
        let width = first.len();
        if width < 2 {
            return Err(Error::Format("a headerless table needs at least two columns: time and magnitude".into()));
        }
        ((0..width).map(|i| names.get(i).map_or(String::new(), |n| n.to_string())).collect(), &rows[..])
    } else {
        (first.iter().map(|h| normalise(h)).collect(), &rows[1..])
    };
    if data.is_empty() {
        return Err(Error::Format("the table has a header but no data rows".into()));
    }
    let columns = resolve_columns(&headers, options)?;
    let lists = data
        .first()
        .and_then(|(_, r)| r.get(columns.series[0].mag))
        .is_some_and(|c| c.trim_start().starts_with('['));
    let mut collector = Collector { with_errors: columns.series.iter().any(|s| s.err.is_some()), ..Default::default() };
    let mut points = 0usize;
    for (line, row) in data {
        let line = *line;
        let object = columns.object.and_then(|c| row.get(c)).map(|s| s.trim().to_string());
        for s in &columns.series {
            let band = match (&s.band, columns.band) {
                (Some(b), _) => Some(b.clone()),
                (None, Some((c, fid))) => row.get(c).map(|v| if fid { ztf_band(v) } else { v.trim().to_string() }),
                (None, None) => None,
            };
            if lists {
                let t = cell_list(row, s.time, line, &headers)?;
                let m = cell_list(row, s.mag, line, &headers)?;
                let e = s.err.map(|c| cell_list(row, c, line, &headers)).transpose()?;
                if t.len() != m.len() || e.as_ref().is_some_and(|e| e.len() != m.len()) {
                    return Err(Error::Value(format!(
                        "line {line}: the lists in '{}' and '{}' have different lengths ({} and {})",
                        column_name(&headers, s.time),
                        column_name(&headers, s.mag),
                        t.len(),
                        m.len()
                    )));
                }
                points += t.len();
                let curve = collector.curve(object.clone(), band);
                curve.time.extend(t);
                curve.mag.extend(m);
                match (&mut curve.err, e) {
                    (Some(dst), Some(e)) => dst.extend(e),
                    (Some(dst), None) => dst.extend(std::iter::repeat_n(f64::NAN, curve.time.len() - dst.len())),
                    _ => {}
                }
            } else {
                let t = cell_value(row, s.time, line, &headers)?;
                let m = cell_value(row, s.mag, line, &headers)?;
                let e = s.err.map(|c| cell_value(row, c, line, &headers)).transpose()?;
                // In a wide table a band may have no value on this row: not a point of it.
                if s.band.is_some() && m.is_nan() {
                    continue;
                }
                points += 1;
                let curve = collector.curve(object.clone(), band);
                curve.time.push(t);
                curve.mag.push(m);
                if let Some(dst) = &mut curve.err {
                    dst.push(e.unwrap_or(f64::NAN));
                }
            }
            if points > MAX_ROWS {
                return Err(too_many_rows());
            }
        }
    }
    Ok(collector.curves)
}

// ---------------------------------------------------------------- JSON

fn read_json(text: &str, options: &ReadOptions) -> Result<Vec<LightCurve>> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Error::Format(format!("invalid JSON: {e}")))?;
    match value {
        serde_json::Value::Object(map) => json_columns(&map, options),
        serde_json::Value::Array(records) => json_records(&records, options),
        _ => Err(Error::Format("JSON light curves are an object of arrays or an array of records".into())),
    }
}

fn json_key<'a>(
    map: &'a serde_json::Map<String, serde_json::Value>,
    spec: &Option<String>,
    names: &[&str],
) -> Option<(&'a String, &'a serde_json::Value)> {
    let wanted: Vec<String> = match spec {
        Some(s) => vec![normalise(s)],
        None => names.iter().map(|s| s.to_string()).collect(),
    };
    wanted.iter().find_map(|w| map.iter().find(|(k, _)| normalise(k) == *w))
}

fn json_numbers(key: &str, value: &serde_json::Value) -> Result<Vec<f64>> {
    let serde_json::Value::Array(items) = value else {
        return Err(Error::Value(format!("JSON field '{key}' must be an array of numbers")));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            serde_json::Value::Number(n) => Ok(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::Null => Ok(f64::NAN),
            serde_json::Value::String(s) => parse_number(s)
                .ok_or_else(|| Error::Value(format!("JSON field '{key}', item {}: '{}' is not a number", i + 1, shorten(s)))),
            other => Err(Error::Value(format!("JSON field '{key}', item {}: {other} is not a number", i + 1))),
        })
        .collect()
}

fn json_columns(map: &serde_json::Map<String, serde_json::Value>, options: &ReadOptions) -> Result<Vec<LightCurve>> {
    let (tk, tv) = json_key(map, &options.time, &["t", "time", "mjd", "hjd", "bjd", "jd"])
        .ok_or_else(|| Error::Format("JSON light curve has no time array (\"t\")".into()))?;
    let (mk, mv) = json_key(map, &options.mag, &["m", "mag", "magnitude", "magpsf"])
        .ok_or_else(|| Error::Format("JSON light curve has no magnitude array (\"m\")".into()))?;
    let time = json_numbers(tk, tv)?;
    let mag = json_numbers(mk, mv)?;
    let err = json_key(map, &options.err, &["e", "err", "magerr", "mag_err", "sigma", "sigmapsf"])
        .map(|(k, v)| json_numbers(k, v))
        .transpose()?;
    if time.len() != mag.len() || err.as_ref().is_some_and(|e| e.len() != time.len()) {
        return Err(Error::Value(format!(
            "JSON arrays have different lengths: {} times, {} magnitudes{}",
            time.len(),
            mag.len(),
            err.as_ref().map_or(String::new(), |e| format!(", {} errors", e.len()))
        )));
    }
    if time.len() > MAX_ROWS {
        return Err(too_many_rows());
    }
    let object = json_key(map, &options.object_column, OBJECT_NAMES).and_then(|(_, v)| json_label(v));
    let band_value = json_key(map, &options.band_column, BAND_NAMES).map(|(_, v)| v);
    match band_value {
        Some(serde_json::Value::Array(bands)) => {
            if bands.len() != time.len() {
                return Err(Error::Value("JSON band array has a different length from the time array".into()));
            }
            let mut collector = Collector { with_errors: err.is_some(), ..Default::default() };
            for i in 0..time.len() {
                let curve = collector.curve(object.clone(), json_label(&bands[i]));
                curve.time.push(time[i]);
                curve.mag.push(mag[i]);
                if let (Some(dst), Some(e)) = (&mut curve.err, &err) {
                    dst.push(e[i]);
                }
            }
            Ok(collector.curves)
        }
        other => Ok(vec![LightCurve { object, band: other.and_then(json_label), time, mag, err, dropped: 0 }]),
    }
}

fn json_label(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An array of records becomes a table: one column per key, then the table rules apply.
fn json_records(records: &[serde_json::Value], options: &ReadOptions) -> Result<Vec<LightCurve>> {
    let mut headers: Vec<String> = Vec::new();
    for r in records {
        let serde_json::Value::Object(map) = r else {
            return Err(Error::Format("a JSON array must hold one object (record) per epoch".into()));
        };
        for k in map.keys() {
            if !headers.iter().any(|h| h == k) {
                headers.push(k.clone());
            }
        }
    }
    if records.is_empty() {
        return Err(Error::Format("the JSON array is empty".into()));
    }
    if records.len() > MAX_ROWS {
        return Err(too_many_rows());
    }
    let cell = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let mut text = String::new();
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    text.push_str(&headers.iter().map(|h| quote(h)).collect::<Vec<_>>().join(","));
    text.push('\n');
    for r in records {
        let map = r.as_object().expect("checked above");
        text.push_str(&headers.iter().map(|h| quote(&cell(map.get(h)))).collect::<Vec<_>>().join(","));
        text.push('\n');
    }
    read_table(&text, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(s: &str) -> Result<Vec<LightCurve>> {
        read(s.as_bytes(), &ReadOptions::default())
    }

    #[test]
    fn csv_with_aliases_and_bands() {
        let curves = read_str("oid,mjd,fid,magpsf,sigmapsf\nA,3,1,15.0,0.1\nA,1,1,15.5,0.1\nA,2,2,16,0.2\nA,4,2,16.5,0.2\n").unwrap();
        assert_eq!(curves.len(), 2);
        assert_eq!(curves[0].band.as_deref(), Some("g"));
        assert_eq!(curves[0].time, vec![1.0, 3.0]);
        assert_eq!(curves[0].mag, vec![15.5, 15.0]);
        assert_eq!(curves[1].band.as_deref(), Some("r"));
        assert_eq!(curves[1].object.as_deref(), Some("A"));
    }

    #[test]
    fn whitespace_headerless() {
        let curves = read_str("# a comment\n1.0  10.0 0.1\n0.5 11.0  0.2\n\n2 12 0.3\n").unwrap();
        assert_eq!(curves.len(), 1);
        assert_eq!(curves[0].time, vec![0.5, 1.0, 2.0]);
        assert_eq!(curves[0].err.as_ref().unwrap(), &vec![0.2, 0.1, 0.3]);
    }

    #[test]
    fn tsv_and_stripe82() {
        let curves = read_str("time\tmag\tmagerr\tband\n1\t20\t0.1\tu\n2\t21\t0.1\tu\n1\t19\t0.1\tg\n3\t19.5\t0.1\tg\n").unwrap();
        assert_eq!(curves.iter().map(|c| c.band.clone().unwrap()).collect::<Vec<_>>(), vec!["u", "g"]);
    }

    #[test]
    fn macho_wide() {
        let curves = read_str("dateobs,rmag,rerr,bmag,berr\n1,15,0.1,16,0.2\n2,15.2,0.1,,\n3,15.1,0.1,16.1,0.2\n").unwrap();
        assert_eq!(curves.len(), 2);
        assert_eq!(curves[0].band.as_deref(), Some("r"));
        assert_eq!(curves[0].len(), 3);
        assert_eq!(curves[1].band.as_deref(), Some("b"));
        assert_eq!(curves[1].len(), 2);
        assert_eq!(curves[1].err.as_ref().unwrap(), &vec![0.2, 0.2]);
    }

    #[test]
    fn eros_lists() {
        let text = ",time_points_b,time_points_r,light_points_b,light_points_r,error_points_b,error_points_r\n\
                    s1,\"[1.0, 2.0, 3.0]\",\"[1.5, 2.5]\",\"[-5.0, -5.1, -5.2]\",\"[-6.0, -6.1]\",\"[0.1, 0.1, 0.1]\",\"[0.2, 0.2]\"\n\
                    s2,\"[1.0, 2.0]\",\"[1.5, 2.5]\",\"[-5.0, -5.1]\",\"[-6.0, -6.1]\",\"[0.1, 0.1]\",\"[0.2, 0.2]\"\n";
        let curves = read_str(text).unwrap();
        assert_eq!(curves.len(), 4);
        assert_eq!(curves[0].object.as_deref(), Some("s1"));
        assert_eq!(curves[0].band.as_deref(), Some("b"));
        assert_eq!(curves[0].len(), 3);
        assert_eq!(curves[1].band.as_deref(), Some("r"));
        assert_eq!(curves[3].object.as_deref(), Some("s2"));
        let only_r = read(text.as_bytes(), &ReadOptions { band: Some("R".into()), ..Default::default() }).unwrap();
        assert_eq!(only_r.len(), 2);
    }

    #[test]
    fn json_forms() {
        let a = read_str(r#"{"t":[2,1,3],"m":[1,2,3],"e":[0.1,0.1,0.1]}"#).unwrap();
        assert_eq!(a[0].time, vec![1.0, 2.0, 3.0]);
        assert_eq!(a[0].mag, vec![2.0, 1.0, 3.0]);
        let b = read_str(r#"[{"mjd":1,"mag":2,"band":"g"},{"mjd":2,"mag":3,"band":"g"},{"mjd":1.5,"mag":2,"band":"r"},{"mjd":2,"mag":1,"band":"r"}]"#).unwrap();
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn cleaning_drops_and_sorts_stably() {
        let c = read_str("t,m,e\n2,1,0.1\n1,nan,0.1\n1,5,0.1\n1,6,0.1\n3,2,-1\n4,3,inf\n5,4,0.1\n").unwrap();
        assert_eq!(c[0].time, vec![1.0, 1.0, 2.0, 5.0]);
        assert_eq!(c[0].mag, vec![5.0, 6.0, 1.0, 4.0], "equal times keep file order");
        assert_eq!(c[0].dropped, 3);
    }

    #[test]
    fn gzip_input() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"t,m\n1,2\n2,3\n").unwrap();
        let bytes = enc.finish().unwrap();
        assert_eq!(read(&bytes, &ReadOptions::default()).unwrap()[0].len(), 2);
        let err = read(&bytes[..bytes.len() / 2], &ReadOptions::default()).unwrap_err();
        assert!(err.to_string().contains("gzip"), "{err}");
    }

    #[test]
    fn errors_name_the_problem() {
        let msg = |s: &str| read_str(s).unwrap_err().to_string();
        assert_eq!(msg(""), "the file is empty");
        assert!(msg("t,m\n1,2\n").contains("1 usable point"));
        assert!(msg("t,m\n1,2\n2,abc\n").contains("line 3, column 'm': 'abc' is not a number"));
        assert!(msg("a,b\n1,2\n").contains("no time and magnitude columns"));
        assert!(msg("t,m\nnan,1\nnan,2\n").contains("0 usable points"));
        assert!(msg("t,m\n").contains("no data rows"));
        let band = read("t,m,band\n1,2,g\n2,3,g\n".as_bytes(), &ReadOptions { band: Some("z".into()), ..Default::default() })
            .unwrap_err()
            .to_string();
        assert_eq!(band, "unknown band 'z': the file has g");
        assert!(read_str("{\"t\":[1,2],\"m\":[1]}").unwrap_err().to_string().contains("different lengths"));
        assert!(read("\u{0}\u{1}\u{2}".as_bytes(), &ReadOptions::default()).is_err());
    }

    #[test]
    fn overrides_by_name_and_number() {
        let opts = ReadOptions { time: Some("when".into()), mag: Some("3".into()), ..Default::default() };
        let c = read("when,x,bright\n1,0,10\n2,0,11\n".as_bytes(), &opts).unwrap();
        assert_eq!(c[0].mag, vec![10.0, 11.0]);
        let opts = ReadOptions { time: Some("nope".into()), ..Default::default() };
        let e = read("when,x,bright\n1,0,10\n".as_bytes(), &opts).unwrap_err().to_string();
        assert!(e.contains("time column 'nope' is not in the file"), "{e}");
    }
}
