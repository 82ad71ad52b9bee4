//! BAYESTAR sky maps: FITS binary tables, flat HEALPix (NESTED or RING, `PROB`, `DISTMU`,
//! `DISTSIGMA`, `DISTNORM`) or multi-order (`UNIQ`, `PROBDENSITY`, ...), gzipped or not,
//! whatever the file is called. The FITS structure (header cards, where each data unit lies) and
//! the table columns are read here: fitsrs 0.4.1, used before, panicked on malformed header cards
//! (a string value of a lone quote, found by fuzzing), and a panic in the page's wasm kills its
//! worker, so this reader checks every card and only reports errors. Flat maps are turned into
//! multi-order form as ligo.skymap's `read_sky_map(..., moc=True)` does: one NUNIQ pixel per
//! HEALPix pixel, probability divided by the pixel's area.

use crate::error::{Error, Result};
use std::io::Read;

/// Largest sky-map file accepted, after decompression.
pub const MAX_BYTES: u64 = 1 << 30;
/// Largest NSIDE of a flat map (12·1024² = 12.6 million pixels).
pub const MAX_FLAT_NSIDE: u64 = 1024;
/// What `SkyMap::to_bytes` starts with.
const COMPACT_MAGIC: &[u8] = b"skysift compact sky map 1\n";
/// Deepest HEALPix order (NSIDE 2^29), the resolution pixels are looked up at.
pub const MACHINE_ORDER: u8 = 29;

/// Header facts of a sky map.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    pub creator: Option<String>,
    pub object: Option<String>,
    pub date_obs: Option<String>,
    pub instruments: Vec<String>,
    pub distmean: Option<f64>,
    pub diststd: Option<f64>,
    pub log_bci: Option<f64>,
    pub log_bsn: Option<f64>,
    /// NUNIQ for multi-order files, NESTED or RING for flat ones.
    pub ordering: String,
    /// NSIDE of a flat map.
    pub nside: Option<u64>,
}

/// A sky map in multi-order form: pixels sorted by their position at the machine order.
#[derive(Debug, Clone, PartialEq)]
pub struct SkyMap {
    pub meta: Meta,
    pub uniq: Vec<u64>,
    /// Probability per steradian.
    pub prob_density: Vec<f64>,
    /// Distance layers (Mpc), when the map has them.
    pub distance: Option<DistanceLayers>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DistanceLayers {
    pub mu: Vec<f64>,
    pub sigma: Vec<f64>,
    pub norm: Vec<f64>,
}

/// (order, nested index) of a NUNIQ pixel index, or None if it is not one.
pub fn uniq_to_nested(uniq: u64) -> Option<(u8, u64)> {
    if uniq < 4 {
        return None;
    }
    let order = ((63 - uniq.leading_zeros()) / 2 - 1) as u8;
    if order > MACHINE_ORDER {
        return None;
    }
    Some((order, uniq - (4u64 << (2 * order as u32))))
}

impl SkyMap {
    /// Number of pixels.
    pub fn len(&self) -> usize {
        self.uniq.len()
    }

    /// The map in a compact binary form (`from_bytes` reads it back): what the page's workers
    /// pass each other, as a flat NSIDE-1024 map's FITS is 400 MB to inflate and decode again
    /// and its multi-order form a few hundred kB. `COMPACT_MAGIC`, the header facts as JSON
    /// (u32 length first), the pixel count (u64), whether there are distance layers (u8), then
    /// UNIQ (u64) and each layer (f64), little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let meta = serde_json::to_vec(&self.meta).expect("header facts are plain data");
        let layers = 1 + 3 * self.distance.is_some() as usize;
        let mut out = Vec::with_capacity(COMPACT_MAGIC.len() + 13 + meta.len() + 8 * self.len() * (1 + layers));
        out.extend_from_slice(COMPACT_MAGIC);
        out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
        out.extend_from_slice(&meta);
        out.extend_from_slice(&(self.len() as u64).to_le_bytes());
        out.push(self.distance.is_some() as u8);
        out.extend(self.uniq.iter().flat_map(|u| u.to_le_bytes()));
        let mut columns = vec![&self.prob_density];
        if let Some(d) = &self.distance {
            columns.extend([&d.mu, &d.sigma, &d.norm]);
        }
        for column in columns {
            out.extend(column.iter().flat_map(|v| v.to_le_bytes()));
        }
        out
    }

    /// Reads `to_bytes`'s form back, checked as a file is (the pixels must tile the sky).
    pub fn from_bytes(bytes: &[u8]) -> Result<SkyMap> {
        let damaged = || Error::Format("the compact sky map is truncated or damaged".into());
        let rest = bytes.strip_prefix(COMPACT_MAGIC).ok_or_else(|| Error::Format("not a compact sky map (skysift's own form)".into()))?;
        let (len, rest) = rest.split_first_chunk::<4>().ok_or_else(damaged)?;
        let (meta, rest) = rest.split_at_checked(u32::from_le_bytes(*len) as usize).ok_or_else(damaged)?;
        let meta: Meta = serde_json::from_slice(meta).map_err(|_| damaged())?;
        let (n, rest) = rest.split_first_chunk::<8>().ok_or_else(damaged)?;
        let (&has_distance, rest) = rest.split_first().ok_or_else(damaged)?;
        let n = usize::try_from(u64::from_le_bytes(*n)).map_err(|_| damaged())?;
        let columns = 2 + 3 * (has_distance != 0) as usize;
        if has_distance > 1 || n.checked_mul(8 * columns) != Some(rest.len()) {
            return Err(damaged());
        }
        let mut words = rest.chunks_exact(8).map(|w| <[u8; 8]>::try_from(w).expect("8 bytes"));
        let uniq: Vec<u64> = words.by_ref().take(n).map(u64::from_le_bytes).collect();
        let mut column = || words.by_ref().take(n).map(f64::from_le_bytes).collect::<Vec<f64>>();
        let density = column();
        let distance = (has_distance == 1).then(|| DistanceLayers { mu: column(), sigma: column(), norm: column() });
        finish(meta, uniq, density, distance)
    }

    pub fn is_empty(&self) -> bool {
        self.uniq.is_empty()
    }

    /// First nested index at the machine order of each pixel, ascending (the pixels are kept
    /// in this order), for looking points up.
    pub fn machine_starts(&self) -> Vec<u64> {
        self.uniq
            .iter()
            .map(|&u| {
                let (order, ipix) = uniq_to_nested(u).expect("checked when read");
                ipix << (2 * (MACHINE_ORDER - order) as u32)
            })
            .collect()
    }

    /// Index of the pixel holding the point (lon, lat), in radians.
    pub fn pixel_at(starts: &[u64], lon: f64, lat: f64) -> usize {
        let h = cdshealpix::nested::hash(MACHINE_ORDER, lon, lat);
        starts.partition_point(|&s| s <= h) - 1
    }
}

fn decompress(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        if bytes.len() as u64 > MAX_BYTES {
            return Err(Error::Limit(format!("the sky map is larger than {} MiB", MAX_BYTES >> 20)));
        }
        return Ok(bytes.into());
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::Format(format!("the gzip data is damaged or truncated ({e})")))?;
    if out.len() as u64 > MAX_BYTES {
        return Err(Error::Limit(format!("the sky map is larger than {} MiB once decompressed", MAX_BYTES >> 20)));
    }
    Ok(out.into())
}

/// One table column.
struct Column<'a> {
    name: String,
    values: Values<'a>,
    /// Integer columns keep exact values (NUNIQ needs all 64 bits).
    ints: Option<Vec<u64>>,
}

/// A column's values. Floating-point columns of one value a row (E or D: a flat map's, tens of
/// millions of values of which its multi-order form keeps a few thousand) stay in the table's
/// bytes and are decoded where read: decoding them all took as long as inflating the file.
enum Values<'a> {
    Decoded(Vec<f64>),
    InTable { table: &'a [u8], rows: usize, row_bytes: usize, offset: usize, double: bool, tscal: f64, tzero: f64 },
}

impl<'a> Values<'a> {
    /// Field `f`'s values in `rows` rows of `table` (an E or D field of one value a row).
    fn in_table(table: &'a [u8], rows: usize, row_bytes: usize, f: &Field) -> Values<'a> {
        Values::InTable { table, rows, row_bytes, offset: f.offset, double: f.letter == b'D', tscal: f.tscal, tzero: f.tzero }
    }

    fn len(&self) -> usize {
        match self {
            Values::Decoded(v) => v.len(),
            Values::InTable { rows, .. } => *rows,
        }
    }

    /// Value `k`: TSCAL × stored + TZERO, as `decode_columns` computes it.
    #[inline]
    fn at(&self, k: usize) -> f64 {
        match *self {
            Values::Decoded(ref v) => v[k],
            Values::InTable { table, row_bytes, offset, double, tscal, tzero, .. } => {
                let at = k * row_bytes + offset;
                let stored = if double {
                    f64::from_be_bytes(table[at..at + 8].try_into().expect("8 bytes"))
                } else {
                    f32::from_be_bytes(table[at..at + 4].try_into().expect("4 bytes")) as f64
                };
                stored * tscal + tzero
            }
        }
    }

    /// For values still in the table: the table, its row length, and where in a row they lie.
    fn place(&self) -> Option<(&[u8], usize, std::ops::Range<usize>)> {
        match *self {
            Values::Decoded(_) => None,
            Values::InTable { table, row_bytes, offset, double, .. } => Some((table, row_bytes, offset..offset + if double { 8 } else { 4 })),
        }
    }

    fn into_vec(self) -> Vec<f64> {
        match self {
            Values::Decoded(v) => v,
            table => (0..table.len()).map(|k| table.at(k)).collect(),
        }
    }
}

/// Where one field lies in a table row, and how its stored values are scaled.
struct Field {
    name: String,
    letter: u8,
    repeat: usize,
    width: usize,
    offset: usize,
    /// value = TSCAL × stored + TZERO.
    tscal: f64,
    tzero: f64,
}

/// The fields of a binary table from TFORMn/TTYPEn/TSCALn/TZEROn, checked to fill NAXIS1
/// exactly before any byte is read.
fn fields(header: &std::collections::HashMap<String, String>, count: u64, row_bytes: u64) -> Result<Vec<Field>> {
    let mut fields = Vec::new();
    let mut offset = 0u64;
    for k in 1..=count {
        let tform = header.get(&format!("TFORM{k}")).ok_or_else(|| Error::Format(format!("the FITS table has no TFORM{k}")))?;
        let bad = |why: &str| Error::Format(format!("TFORM{k} = '{tform}' {why}"));
        let letter_at = tform.find(|c: char| c.is_ascii_alphabetic()).ok_or_else(|| bad("is not a FITS format"))?;
        let repeat: u64 = if letter_at == 0 { 1 } else { tform[..letter_at].trim().parse().map_err(|_| bad("has a bad repeat count"))? };
        let letter = tform.as_bytes()[letter_at];
        let width: u64 = match letter {
            b'L' | b'B' | b'A' | b'X' => 1,
            b'I' => 2,
            b'J' | b'E' => 4,
            b'K' | b'D' => 8,
            _ => return Err(bad("is a column type sky maps do not use")),
        };
        let size = if letter == b'X' { Some(repeat.div_ceil(8)) } else { repeat.checked_mul(width) };
        let end = size.and_then(|s| offset.checked_add(s)).filter(|&e| e <= row_bytes).ok_or_else(|| {
            Error::Format(format!("the FITS table's columns take more than NAXIS1 = {row_bytes} bytes a row"))
        })?;
        let scale = |key: &str, default: f64| header.get(&format!("{key}{k}")).and_then(|v| v.parse::<f64>().ok()).unwrap_or(default);
        fields.push(Field {
            name: header.get(&format!("TTYPE{k}")).cloned().unwrap_or_default().to_ascii_uppercase(),
            letter,
            repeat: repeat as usize,
            width: width as usize,
            offset: offset as usize,
            tscal: scale("TSCAL", 1.0),
            tzero: scale("TZERO", 0.0),
        });
        offset = end;
    }
    if offset != row_bytes {
        return Err(Error::Format(format!("the FITS table's columns take {offset} bytes a row, but NAXIS1 = {row_bytes}")));
    }
    Ok(fields)
}

/// Decodes the numeric columns of a binary table from its data bytes (big-endian, FITS).
fn decode_columns<'a>(data: &'a [u8], header: &std::collections::HashMap<String, String>) -> Result<Vec<Column<'a>>> {
    let num = |key: &str| -> Result<u64> {
        header
            .get(key)
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| Error::Format(format!("the FITS table has no valid {key}")))
    };
    let (row_bytes, rows, count) = (num("NAXIS1")?, num("NAXIS2")?, num("TFIELDS")?);
    if row_bytes.checked_mul(rows).is_none_or(|n| n > data.len() as u64) {
        return Err(Error::Format(format!(
            "the FITS file is truncated: its table needs {row_bytes} × {rows} bytes, {} are there",
            data.len()
        )));
    }
    let (row_bytes, rows) = (row_bytes as usize, rows as usize);
    let mut columns = Vec::new();
    for f in fields(header, count, row_bytes as u64)? {
        let integer = matches!(f.letter, b'I' | b'J' | b'K');
        if !(integer || matches!(f.letter, b'E' | b'D')) || f.repeat == 0 {
            if ["UNIQ", "PROB", "PROBABILITY", "PROBDENSITY", "DISTMU", "DISTSIGMA", "DISTNORM"].contains(&f.name.as_str()) {
                return Err(Error::Format(format!("column {} holds {} values; sky-map columns hold numbers (TFORM E, D, I, J or K)", f.name, if f.letter == b'A' { "text" } else { "non-numeric" })));
            }
            continue;
        }
        // TZERO = 2^63 on a K column is FITS's way to store unsigned 64-bit integers (old
        // BAYESTAR files write UNIQ so); unscaled integers are kept exact (NUNIQ needs all 64
        // bits, more than an f64 holds).
        let unsigned64 = f.letter == b'K' && f.tscal == 1.0 && f.tzero == 9_223_372_036_854_775_808.0;
        let unscaled = f.tscal == 1.0 && f.tzero == 0.0;
        if !integer && f.repeat == 1 {
            let values = Values::in_table(data, rows, row_bytes, &f);
            columns.push(Column { name: f.name, values, ints: None });
            continue;
        }
        let n = rows * f.repeat;
        let mut values = Vec::with_capacity(n);
        let mut ints = integer.then(|| Vec::with_capacity(n));
        for r in 0..rows {
            for j in 0..f.repeat {
                let at = r * row_bytes + f.offset + j * f.width;
                let b = &data[at..at + f.width];
                let stored_int = match f.letter {
                    b'I' => Some(i16::from_be_bytes([b[0], b[1]]) as i64),
                    b'J' => Some(i32::from_be_bytes(b.try_into().expect("4 bytes")) as i64),
                    b'K' => Some(i64::from_be_bytes(b.try_into().expect("8 bytes"))),
                    _ => None,
                };
                let value = match (stored_int, f.letter) {
                    (Some(x), _) if unsigned64 => ((x as u64) ^ (1 << 63)) as f64,
                    (Some(x), _) => x as f64 * f.tscal + f.tzero,
                    (None, b'E') => f32::from_be_bytes(b.try_into().expect("4 bytes")) as f64 * f.tscal + f.tzero,
                    (None, _) => f64::from_be_bytes(b.try_into().expect("8 bytes")) * f.tscal + f.tzero,
                };
                if let (Some(ints), Some(x)) = (&mut ints, stored_int) {
                    ints.push(if unsigned64 { (x as u64) ^ (1 << 63) } else if unscaled { x as u64 } else { value as u64 });
                }
                values.push(value);
            }
        }
        columns.push(Column { name: f.name, values: Values::Decoded(values), ints });
    }
    Ok(columns)
}

/// Whether the bytes are a FITS file (also inside gzip): what tells a sky map from a light curve.
pub fn is_fits(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut head = [0u8; 9];
        return flate2::read::MultiGzDecoder::new(bytes).read_exact(&mut head).is_ok() && head.starts_with(b"SIMPLE  =");
    }
    bytes.starts_with(b"SIMPLE  =")
}

/// Reads a sky map from the bytes of a FITS file (gzip-compressed or not).
pub fn read(bytes: &[u8]) -> Result<SkyMap> {
    if let Some(map) = read_flat_gzip_streaming(bytes) {
        return map;
    }
    let bytes = decompress(bytes)?;
    if bytes.len() < 2880 || !bytes.starts_with(b"SIMPLE  =") {
        return Err(Error::Format("not a FITS file (it does not start with a FITS header)".into()));
    }
    let (header, table) = headers_until_table(&bytes)?;
    let (start, size) = table.ok_or_else(|| Error::Format("the FITS file has no binary table: it is not a HEALPix sky map".into()))?;
    let data = bytes.get(start..).ok_or_else(|| Error::Format("the FITS file is truncated before its table".into()))?;
    let data = &data[..size.min(data.len())];
    let columns = decode_columns(data, &header)?;
    build(columns, &header)
}

const BLOCK: usize = 2880;

/// A gzipped flat NESTED map with plain floating-point columns (most of BAYESTAR's flat maps; at
/// NSIDE 1024 400 MB once inflated) is inflated and merged into multi-order form (`derasterize`)
/// a block of rows at a time, never held whole: inflating into a block that stays in cache took
/// half the time of inflating into one 400 MB buffer, and the memory is spared. Only the rows
/// the merged map keeps are decoded. Any other file, or one this finds anything wrong with, is
/// None: read the general way, which names the problem. The same map as the general way
/// (`streaming_and_general_reads_agree`).
fn read_flat_gzip_streaming(bytes: &[u8]) -> Option<Result<SkyMap>> {
    /// Inflated before looking for the table: BAYESTAR's headers take a few blocks.
    const HEAD_BYTES: u64 = 1 << 20;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return None;
    }
    let mut inflate = flate2::read::MultiGzDecoder::new(bytes);
    let mut head = Vec::new();
    (&mut inflate).take(HEAD_BYTES).read_to_end(&mut head).ok()?;
    if head.len() < BLOCK || !head.starts_with(b"SIMPLE  =") {
        return None;
    }
    let (header, table) = headers_until_table(&head).ok()?;
    let (start, size) = table?;
    let number = |key: &str| header.get(key)?.parse::<usize>().ok();
    let (row_bytes, rows, count) = (number("NAXIS1")?, number("NAXIS2")?, number("TFIELDS")?);
    let ordering = header.get("ORDERING").map(|o| o.to_ascii_uppercase());
    if start > head.len() || row_bytes.checked_mul(rows)? > size || !matches!(ordering.as_deref(), Some("NESTED" | "NEST")) || check_coordsys(&header).is_err() {
        return None;
    }
    let fields = fields(&header, count as u64, row_bytes as u64).ok()?;
    const SKY_MAP_COLUMNS: [&str; 7] = ["UNIQ", "PROB", "PROBABILITY", "PROBDENSITY", "DISTMU", "DISTSIGMA", "DISTNORM"];
    let plain = |f: &Field| matches!(f.letter, b'E' | b'D') && f.repeat == 1;
    if fields.iter().any(|f| f.name == "UNIQ" || (SKY_MAP_COLUMNS.contains(&f.name.as_str()) && !plain(f))) {
        return None;
    }
    let column = |name: &str| fields.iter().find(|f| f.name == name);
    let mut layers = vec![column("PROB").or_else(|| column("PROBABILITY"))?];
    if let (Some(mu), Some(sigma), Some(norm)) = (column("DISTMU"), column("DISTSIGMA"), column("DISTNORM")) {
        layers.extend([mu, sigma, norm]);
    }
    let mut meta = meta_from_header(&header);
    let nside = flat_nside(rows as u64, meta.nside).ok()?;
    let order = nside.trailing_zeros() as usize;
    if order < Merge::CHUNK {
        return None;
    }
    meta.nside = Some(nside);
    let per_steradian = rows as f64 / (4.0 * std::f64::consts::PI);
    let spans = merged_spans(layers.iter().map(|f| f.offset..f.offset + f.width));
    let mut merge = Merge::new(order);
    let block_rows = rows / merge.chunks();
    let mut block = vec![0u8; block_rows * row_bytes];
    let mut from_head = &head[start..];
    // The rows the merged map keeps (each block's first among them), decoded, ascending.
    let mut kept: Vec<(usize, Vec<f64>)> = Vec::new();
    for chunk in 0..merge.chunks() {
        let n = from_head.len().min(block.len());
        block[..n].copy_from_slice(&from_head[..n]);
        from_head = &from_head[n..];
        inflate.read_exact(&mut block[n..]).ok()?;
        let first_row = chunk * block_rows;
        let row = |k: usize| &block[(k - first_row) * row_bytes..][..row_bytes];
        // The block's layers as the general way reads them (`Values::at`, `flat_layer_value`).
        let columns: Vec<Values> = layers.iter().map(|f| Values::in_table(&block, block_rows, row_bytes, f)).collect();
        let value = |l: usize, k: usize| flat_layer_value(&columns, per_steradian, l, k - first_row);
        let identical = |a: usize, b: usize| same_rows(row(a), row(b), &spans);
        // Rows first..first + count all hold the same bytes in the layers' spans. Where the
        // spans are the whole row, one pass compares each row with the next.
        let identical_rows = |first: usize, count: usize| -> bool {
            if spans.len() == 1 && spans[0] == (0..row_bytes) {
                let bytes = &block[(first - first_row) * row_bytes..][..count * row_bytes];
                same_bytes(&bytes[..bytes.len() - row_bytes], &bytes[row_bytes..])
            } else {
                (first + 1..first + count).all(|k| identical(first, k))
            }
        };
        let standing_for_all = merge.fill_chunk_top_down(chunk, &|a, b| identical(a, b) || same_row(layers.len(), &value, a, b), &identical_rows);
        // PROB must be finite: if not, the general way says where.
        if standing_for_all.iter().any(|&k| !value(0, k).is_finite()) {
            return None;
        }
        kept.extend(merge.kept_in_chunk(chunk).into_iter().map(|k| (k, (0..layers.len()).map(|l| value(l, k)).collect())));
    }
    // Every block's first row is kept (it is the first row of the block's first pixel), and so
    // is the first row of every pixel the merged map keeps; checked, not assumed.
    let index = |k: usize| kept.binary_search_by_key(&k, |r| r.0);
    if (0..merge.chunks()).any(|c| index(c * block_rows).is_err()) {
        return None;
    }
    let row = |k: usize| &kept[index(k).expect("checked above")].1;
    merge.fill_upper(&|a, b| same_row(layers.len(), &|l, k| row(k)[l], a, b));
    let (uniq, first) = merge.walk((0..12).map(|p| (0, p)).collect());
    if first.iter().any(|&k| index(k).is_err()) {
        return None;
    }
    let pick = |l: usize| first.iter().map(|&k| row(k)[l]).collect::<Vec<f64>>();
    let distance = (layers.len() == 4).then(|| DistanceLayers { mu: pick(1), sigma: pick(2), norm: pick(3) });
    Some(finish(meta, uniq, pick(0), distance))
}

/// Walks the HDUs (header, then data unit, each padded to 2880 bytes) up to the first binary
/// table. Returns the header cards of all HDUs read (later ones win) and where the table's data
/// unit lies (start, size), or None when there is no binary table.
#[allow(clippy::type_complexity)]
fn headers_until_table(bytes: &[u8]) -> Result<(std::collections::HashMap<String, String>, Option<(usize, usize)>)> {
    let mut all = std::collections::HashMap::new();
    let mut pos = 0;
    let mut first = true;
    while pos < bytes.len() {
        let (cards, data_start) = header_at(bytes, pos)?;
        let get = |key: &str| cards.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let int = |key: &str| -> Result<Option<i64>> {
            get(key)
                .map(|v| v.parse::<i64>().map_err(|_| Error::Format(format!("the FITS file is damaged: {key} = '{v}' is not an integer"))))
                .transpose()
        };
        let extension = get("XTENSION").map(str::to_ascii_uppercase);
        if !first && extension.is_none() {
            return Err(Error::Format("the FITS file is damaged: an extension header does not start with XTENSION".into()));
        }
        let bitpix = int("BITPIX")?.ok_or_else(|| Error::Format("the FITS file is damaged: a header has no BITPIX".into()))?;
        if ![8, 16, 32, 64, -32, -64].contains(&bitpix) {
            return Err(Error::Format(format!("the FITS file is damaged: BITPIX = {bitpix} is not a FITS data type")));
        }
        let naxis = int("NAXIS")?.ok_or_else(|| Error::Format("the FITS file is damaged: a header has no NAXIS".into()))?;
        if !(0..=999).contains(&naxis) {
            return Err(Error::Format(format!("the FITS file is damaged: NAXIS = {naxis}")));
        }
        // Data unit size (FITS 4.0, eq. 1 and 2): |BITPIX|/8 × GCOUNT × (PCOUNT + NAXIS1 × ... × NAXISn).
        let mut elements: u64 = if naxis == 0 { 0 } else { 1 };
        for k in 1..=naxis {
            let n = int(&format!("NAXIS{k}"))?.ok_or_else(|| Error::Format(format!("the FITS file is damaged: a header has NAXIS = {naxis} but no NAXIS{k}")))?;
            let n = u64::try_from(n).map_err(|_| Error::Format(format!("the FITS file is damaged: NAXIS{k} = {n}")))?;
            elements = elements.checked_mul(n).ok_or_else(|| Error::Format("the FITS file is damaged: its header describes an impossibly large data unit".into()))?;
        }
        let (pcount, gcount) = if first { (0, 1) } else { (int("PCOUNT")?.unwrap_or(0), int("GCOUNT")?.unwrap_or(1)) };
        let size = u64::try_from(pcount)
            .ok()
            .and_then(|p| elements.checked_add(p))
            .and_then(|e| e.checked_mul(u64::try_from(gcount).ok()?))
            .and_then(|e| e.checked_mul(bitpix.unsigned_abs() / 8))
            .filter(|&s| s <= MAX_BYTES)
            .ok_or_else(|| Error::Format("the FITS file is damaged: its header describes an impossibly large data unit".into()))? as usize;
        for (k, v) in &cards {
            all.insert(k.clone(), v.clone());
        }
        if extension.as_deref() == Some("BINTABLE") {
            if bitpix != 8 || naxis != 2 {
                return Err(Error::Format(format!("the FITS file is damaged: a binary table has BITPIX = 8 and NAXIS = 2, this one {bitpix} and {naxis}")));
            }
            return Ok((all, Some((data_start, size))));
        }
        first = false;
        pos = data_start.saturating_add(size.div_ceil(BLOCK) * BLOCK);
    }
    Ok((all, None))
}

/// The header starting at `pos`: its cards (keyword, value as text) up to END, and where its
/// data unit starts. Commentary cards are skipped; string values lose their quotes.
fn header_at(bytes: &[u8], pos: usize) -> Result<(Vec<(String, String)>, usize)> {
    let mut cards = Vec::new();
    let mut at = pos;
    loop {
        let card = bytes.get(at..at + 80).ok_or_else(|| Error::Format("the FITS file is truncated: it ends inside a header".into()))?;
        at += 80;
        if !card.iter().all(|b| (0x20..=0x7e).contains(b)) {
            return Err(Error::Format(format!("the FITS file is damaged: a header card holds bytes that are not text (at byte {})", at - 80)));
        }
        let text = std::str::from_utf8(card).expect("printable ASCII");
        let key = text[..8].trim_end();
        if key == "END" {
            break;
        }
        if cards.len() >= 100_000 {
            return Err(Error::Format("the FITS file is damaged: a header has more than 100 000 cards".into()));
        }
        if &text[8..10] != "= " || key.is_empty() || key == "COMMENT" || key == "HISTORY" {
            continue;
        }
        let value = card_value(&text[10..]).map_err(|why| Error::Format(format!("the FITS file is damaged: header card {key}: {why}")))?;
        cards.push((key.to_ascii_uppercase(), value));
    }
    Ok((cards, (at - pos).div_ceil(BLOCK) * BLOCK + pos))
}

/// A card's value as text: a string without its quotes ('' is a quote; trailing spaces are not
/// significant), or the number or logical before any comment (FITS 4.0, section 4.2).
fn card_value(field: &str) -> std::result::Result<String, String> {
    let field = field.trim_start();
    if let Some(rest) = field.strip_prefix('\'') {
        let mut value = String::new();
        let mut chars = rest.chars().peekable();
        loop {
            match chars.next() {
                None => return Err("a string value without its closing quote".into()),
                Some('\'') if chars.peek() == Some(&'\'') => {
                    chars.next();
                    value.push('\'');
                }
                Some('\'') => return Ok(value.trim().to_string()),
                Some(c) => value.push(c),
            }
        }
    }
    let value = field.split('/').next().unwrap_or("").trim();
    // Fortran-style exponents (1.0D+02) are numbers too.
    Ok(if value.parse::<f64>().is_err() && value.contains('D') { value.replace('D', "E") } else { value.to_string() })
}

/// Probabilities must be numbers: a NaN would make every input of GWSkyNet NaN.
fn check_finite(name: &str, values: &Values) -> Result<()> {
    let bad: Vec<usize> = (0..values.len()).filter(|&k| !values.at(k).is_finite()).collect();
    match bad.first() {
        None => Ok(()),
        Some(&first) => Err(Error::Format(format!(
            "column {name} has {} value{} that {} not a finite number (the first in row {}: {})",
            bad.len(),
            if bad.len() == 1 { "" } else { "s" },
            if bad.len() == 1 { "is" } else { "are" },
            first + 1,
            values.at(first)
        ))),
    }
}

/// Only maps in equatorial coordinates are read.
fn check_coordsys(header: &std::collections::HashMap<String, String>) -> Result<()> {
    match header.get("COORDSYS") {
        Some(system) if !system.eq_ignore_ascii_case("C") => Err(Error::Format(format!("COORDSYS = '{system}': only sky maps in equatorial coordinates (C) are read"))),
        _ => Ok(()),
    }
}

/// NSIDE of a flat map of `npix` pixels, checked against the header's NSIDE (`declared`) and the
/// largest read.
fn flat_nside(npix: u64, declared: Option<u64>) -> Result<u64> {
    let nside = ((npix / 12) as f64).sqrt().round() as u64;
    if npix == 0 || 12 * nside * nside != npix || !nside.is_power_of_two() {
        return Err(Error::Format(format!("a flat HEALPix map has 12·NSIDE² pixels with NSIDE a power of two; this one has {npix}")));
    }
    if let Some(declared) = declared {
        if declared != nside {
            return Err(Error::Format(format!("NSIDE = {declared} in the header, but the map has {npix} pixels (NSIDE {nside})")));
        }
    }
    if nside > MAX_FLAT_NSIDE {
        return Err(Error::Limit(format!("flat sky maps up to NSIDE {MAX_FLAT_NSIDE} are read; this one has NSIDE {nside}")));
    }
    Ok(nside)
}

/// Layer `l` of a flat map at row `k`: PROB (layer 0) as a density, PROB × (NPIX / 4π) as
/// ligo.skymap has it, the distance layers as they are.
#[inline]
fn flat_layer_value(layers: &[Values], per_steradian: f64, l: usize, k: usize) -> f64 {
    if l == 0 { layers[0].at(k) * per_steradian } else { layers[l].at(k) }
}

/// The header facts of a sky map.
fn meta_from_header(header: &std::collections::HashMap<String, String>) -> Meta {
    let float = |k: &str| header.get(k).and_then(|v| v.parse::<f64>().ok());
    Meta {
        creator: header.get("CREATOR").cloned(),
        object: header.get("OBJECT").cloned(),
        date_obs: header.get("DATE-OBS").cloned(),
        instruments: header
            .get("INSTRUME")
            .map(|s| s.split(',').map(|d| d.trim().to_string()).filter(|d| !d.is_empty()).collect())
            .unwrap_or_default(),
        distmean: float("DISTMEAN"),
        diststd: float("DISTSTD"),
        log_bci: float("LOGBCI"),
        log_bsn: float("LOGBSN"),
        ordering: header.get("ORDERING").cloned().unwrap_or_default().to_ascii_uppercase(),
        nside: header.get("NSIDE").and_then(|v| v.parse().ok()),
    }
}

fn build<'a>(mut columns: Vec<Column<'a>>, header: &std::collections::HashMap<String, String>) -> Result<SkyMap> {
    check_coordsys(header)?;
    let mut meta = meta_from_header(header);
    let mut take = |name: &str| columns.iter().position(|c| c.name == name).map(|i| columns.swap_remove(i));
    let dist = |mu: Option<Column<'a>>, sigma: Option<Column<'a>>, norm: Option<Column<'a>>| -> Option<[Values<'a>; 3]> {
        match (mu, sigma, norm) {
            (Some(mu), Some(sigma), Some(norm)) => Some([mu.values, sigma.values, norm.values]),
            _ => None,
        }
    };
    if let Some(uniq) = take("UNIQ") {
        let density = take("PROBDENSITY").ok_or_else(|| Error::Format("the multi-order sky map has no PROBDENSITY column".into()))?;
        check_finite("PROBDENSITY", &density.values)?;
        let distance = dist(take("DISTMU"), take("DISTSIGMA"), take("DISTNORM")).map(|[mu, sigma, norm]| DistanceLayers { mu: mu.into_vec(), sigma: sigma.into_vec(), norm: norm.into_vec() });
        meta.ordering = "NUNIQ".into();
        let uniq = uniq.ints.ok_or_else(|| Error::Format("the UNIQ column must hold integers".into()))?;
        return finish(meta, uniq, density.values.into_vec(), distance);
    }
    let prob = take("PROB").or_else(|| take("PROBABILITY")).ok_or_else(|| {
        Error::Format("the FITS table has neither UNIQ/PROBDENSITY nor PROB columns: it is not a HEALPix sky map".into())
    })?;
    check_finite(&prob.name, &prob.values)?;
    let npix = prob.values.len() as u64;
    let nside = flat_nside(npix, meta.nside)?;
    meta.nside = Some(nside);
    let order = nside.trailing_zeros() as u8;
    let distance = dist(take("DISTMU"), take("DISTSIGMA"), take("DISTNORM"));
    // The layers in nested order, density first: as ligo.skymap, PROB × (NPIX / 4π).
    let mut layers = vec![prob.values];
    layers.extend(distance.into_iter().flatten());
    match meta.ordering.as_str() {
        "NESTED" | "NEST" => {}
        "RING" => {
            // Reorder to nested: pixel k of the result is ring pixel to_ring(k).
            let layer = cdshealpix::nested::get(order);
            let ring_of: Vec<usize> = (0..npix).map(|k| layer.to_ring(k) as usize).collect();
            layers = layers.into_iter().map(|v| Values::Decoded(ring_of.iter().map(|&r| v.at(r)).collect())).collect();
        }
        other => {
            return Err(Error::Format(format!(
                "ORDERING = '{other}': a flat HEALPix map must say NESTED or RING"
            )))
        }
    }
    let per_steradian = npix as f64 / (4.0 * std::f64::consts::PI);
    let value = |layer: usize, k: usize| flat_layer_value(&layers, per_steradian, layer, k);
    // Equal stored bytes are equal values: where every layer is still in the table, rows whose
    // layers' bytes are equal need no decoding (most comparisons, and a 32-byte compare each).
    let places: Option<Vec<_>> = layers.iter().map(Values::place).collect();
    let in_one_table = places
        .filter(|p| p.iter().all(|(t, r, _)| std::ptr::eq(*t, p[0].0) && *r == p[0].1))
        .map(|p| (p[0].0, p[0].1, merged_spans(p.iter().map(|(_, _, span)| span.clone()))));
    let identical = |a: usize, b: usize| {
        in_one_table.as_ref().is_some_and(|(table, row_bytes, spans)| same_rows(&table[a * row_bytes..][..*row_bytes], &table[b * row_bytes..][..*row_bytes], spans))
    };
    let (uniq, first) = derasterize(order, layers.len(), value, identical);
    let pick = |layer: usize| first.iter().map(|&k| value(layer, k)).collect::<Vec<f64>>();
    let distance = (layers.len() == 4).then(|| DistanceLayers { mu: pick(1), sigma: pick(2), norm: pick(3) });
    finish(meta, uniq, pick(0), distance)
}

/// The byte ranges of a row that hold the layers, joined where they touch.
fn merged_spans(spans: impl Iterator<Item = std::ops::Range<usize>>) -> Vec<std::ops::Range<usize>> {
    let mut spans: Vec<std::ops::Range<usize>> = spans.collect();
    spans.sort_by_key(|s| s.start);
    spans.dedup_by(|next, merged| {
        let joins = next.start <= merged.end;
        if joins {
            merged.end = merged.end.max(next.end);
        }
        joins
    });
    spans
}

/// Whether two rows hold the same bytes in `spans`.
#[inline]
fn same_rows(a: &[u8], b: &[u8], spans: &[std::ops::Range<usize>]) -> bool {
    spans.iter().all(|s| same_bytes(&a[s.clone()], &b[s.clone()]))
}

/// Whether two byte strings of equal length are equal: eight bytes at a time, inlined (this runs
/// tens of millions of times on short rows, where a call to memcmp costs more than the compare,
/// above all in wasm).
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let (wa, wb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tails = wa.remainder() == wb.remainder();
    tails && wa.zip(wb).all(|(x, y)| u64::from_ne_bytes(x.try_into().expect("8 bytes")) == u64::from_ne_bytes(y.try_into().expect("8 bytes")))
}

/// A flat nested map as multi-order pixels, the way ligo.skymap reads flat maps with `moc=True`
/// (`derasterize`): every block of pixels whose rows (all layers) are equal becomes one pixel,
/// the largest such blocks first. This matters beyond memory: ligo.skymap's volume rendering
/// takes its step from the finest order left, and its principal axes from the pixel centres,
/// so GWSkyNet's inputs depend on it. As there, rows holding a NaN in any layer count as
/// equal to each other. `value(layer, k)` is layer `layer` at flat pixel `k` (of 12 · 4^order);
/// `identical(a, b)` may vouch for rows a and b being equal without reading their values.
/// Returns the NUNIQ indices and, for each, its first flat pixel.
fn derasterize(order: u8, layer_count: usize, value: impl Fn(usize, usize) -> f64, identical: impl Fn(usize, usize) -> bool) -> (Vec<u64>, Vec<usize>) {
    let same = |a: usize, b: usize| identical(a, b) || same_row(layer_count, &value, a, b);
    let mut merge = Merge::new(order as usize);
    for chunk in 0..merge.chunks() {
        merge.fill_chunk(chunk, &same);
    }
    merge.fill_upper(&same);
    merge.walk((0..12).map(|p| (0, p)).collect())
}

/// Rows a and b equal in every layer, rows holding a NaN anywhere counting as equal to each other
/// (as ligo.skymap's `derasterize`).
#[inline]
fn same_row(layer_count: usize, value: &impl Fn(usize, usize) -> f64, a: usize, b: usize) -> bool {
    let has_nan = |k: usize| (0..layer_count).any(|l| value(l, k).is_nan());
    let (na, nb) = (has_nan(a), has_nan(b));
    if na || nb {
        return na && nb;
    }
    (0..layer_count).all(|l| value(l, a) == value(l, b))
}

/// `derasterize`'s bookkeeping: uniform[d][p], whether pixel p at depth `order − d` covers flat
/// pixels that are all equal (every single flat pixel does: uniform[0] is left empty). The first
/// `CHUNK` levels are filled a block of 4^CHUNK flat pixels at a time, while its rows are in cache
/// (or, reading a gzipped map, while they are the rows just inflated); the levels above from the
/// blocks' first rows.
struct Merge {
    order: usize,
    uniform: Vec<Vec<bool>>,
}

impl Merge {
    const CHUNK: usize = 6;

    fn new(order: usize) -> Merge {
        let npix = 12usize << (2 * order);
        Merge { order, uniform: (0..=order).map(|d| vec![false; if d == 0 { 0 } else { npix >> (2 * d) }]).collect() }
    }

    fn chunked(&self) -> usize {
        self.order.min(Self::CHUNK)
    }

    /// How many blocks the first levels are filled in.
    fn chunks(&self) -> usize {
        12usize << (2 * (self.order - self.chunked()))
    }

    /// Level d at pixels `pixels`, `same(a, b)` telling whether flat pixels a and b are equal.
    fn fill(&mut self, d: usize, pixels: std::ops::Range<usize>, same: &impl Fn(usize, usize) -> bool) {
        let block = 1usize << (2 * d);
        for p in pixels {
            let child = |c: usize| 4 * p + c;
            self.uniform[d][p] = (d == 1 || (0..4).all(|c| self.uniform[d - 1][child(c)])) && (1..4).all(|c| same(p * block, child(c) * (block / 4)));
        }
    }

    /// The first levels of block `chunk`: `same` reads only its rows.
    fn fill_chunk(&mut self, chunk: usize, same: &impl Fn(usize, usize) -> bool) {
        let chunked = self.chunked();
        for d in 1..=chunked {
            let per_chunk = 1usize << (2 * (chunked - d));
            self.fill(d, chunk * per_chunk..(chunk + 1) * per_chunk, same);
        }
    }

    /// The first levels of block `chunk` as `fill_chunk` fills them, top down: a pixel whose
    /// flat pixels' rows are all identical (`identical_rows(first, count)`, one pass over their
    /// bytes) is uniform at once, its rows not compared pair by pair at each level; only where
    /// they are not are its children filled (and it from them). Most of a BAYESTAR map's flat
    /// pixels are copies of their neighbours: three quarters of an NSIDE-1024 map's blocks are
    /// uniform. Returns rows whose values stand for all of the block's: the first of each
    /// identical pixel and every row of a level-1 pixel whose rows are not all identical.
    fn fill_chunk_top_down(&mut self, chunk: usize, same: &impl Fn(usize, usize) -> bool, identical_rows: &impl Fn(usize, usize) -> bool) -> Vec<usize> {
        let mut standing_for_all = Vec::new();
        self.fill_down(self.chunked(), chunk, same, identical_rows, &mut standing_for_all);
        standing_for_all
    }

    fn fill_down(&mut self, d: usize, p: usize, same: &impl Fn(usize, usize) -> bool, identical_rows: &impl Fn(usize, usize) -> bool, standing_for_all: &mut Vec<usize>) {
        let block = 1usize << (2 * d);
        if identical_rows(p * block, block) {
            for level in 1..=d {
                let shift = 2 * (d - level);
                self.uniform[level][p << shift..(p + 1) << shift].fill(true);
            }
            standing_for_all.push(p * block);
            return;
        }
        if d == 1 {
            standing_for_all.extend(p * block..(p + 1) * block);
        } else {
            for c in 0..4 {
                self.fill_down(d - 1, 4 * p + c, same, identical_rows, standing_for_all);
            }
        }
        self.fill(d, p..p + 1, same);
    }

    /// The levels above the blocks: `same` reads only the blocks' first rows.
    fn fill_upper(&mut self, same: &impl Fn(usize, usize) -> bool) {
        for d in self.chunked() + 1..=self.order {
            self.fill(d, 0..12usize << (2 * (self.order - d)), same);
        }
    }

    /// Depth-first from `roots` ((depth, pixel), depth 0 the base pixels): a pixel is kept whole
    /// if uniform, else split. The NUNIQ indices kept and, for each, its first flat pixel.
    fn walk(&self, roots: Vec<(usize, usize)>) -> (Vec<u64>, Vec<usize>) {
        let (mut uniq, mut first) = (Vec::new(), Vec::new());
        let mut stack: Vec<(usize, usize)> = roots.into_iter().rev().collect();
        while let Some((depth, p)) = stack.pop() {
            let d = self.order - depth;
            if d == 0 || self.uniform[d][p] {
                uniq.push((4u64 << (2 * depth)) + p as u64);
                first.push(p << (2 * d));
            } else {
                stack.extend((0..4).rev().map(|c| (depth + 1, 4 * p + c)));
            }
        }
        (uniq, first)
    }

    /// The first flat pixels of the pixels `walk` can keep inside block `chunk` (its first levels
    /// filled): the only rows of the block the merged map reads.
    fn kept_in_chunk(&self, chunk: usize) -> Vec<usize> {
        self.walk(vec![(self.order - self.chunked(), chunk)]).1
    }
}

/// Checks a multi-order map and sorts its pixels by position.
fn finish(meta: Meta, uniq: Vec<u64>, density: Vec<f64>, distance: Option<DistanceLayers>) -> Result<SkyMap> {
    let n = uniq.len();
    if n == 0 {
        return Err(Error::Format("the sky map has no pixels".into()));
    }
    if density.len() != n || distance.as_ref().is_some_and(|d| d.mu.len() != n || d.sigma.len() != n || d.norm.len() != n) {
        return Err(Error::Format("the sky map's columns have different lengths".into()));
    }
    let mut keyed = Vec::with_capacity(n);
    let mut covered: u128 = 0;
    for (i, &u) in uniq.iter().enumerate() {
        let (order, ipix) = uniq_to_nested(u).ok_or_else(|| Error::Format(format!("UNIQ value {u} (row {}) is not a valid NUNIQ pixel index", i + 1)))?;
        let shift = 2 * (MACHINE_ORDER - order) as u32;
        keyed.push((ipix << shift, i));
        covered += 1u128 << shift;
    }
    keyed.sort_unstable();
    // Every point of the sky must lie in exactly one pixel.
    let full_sky = 12u128 << (2 * MACHINE_ORDER as u32);
    let overlap = keyed.windows(2).any(|w| {
        let (order, _) = uniq_to_nested(uniq[w[0].1]).expect("checked");
        w[0].0 + (1u64 << (2 * (MACHINE_ORDER - order) as u32)) > w[1].0
    });
    if covered != full_sky || overlap {
        return Err(Error::Format("the multi-order pixels do not tile the sky exactly once (missing or overlapping pixels)".into()));
    }
    let pick = |v: &[f64]| keyed.iter().map(|&(_, i)| v[i]).collect::<Vec<f64>>();
    Ok(SkyMap {
        meta,
        uniq: keyed.iter().map(|&(_, i)| uniq[i]).collect(),
        prob_density: pick(&density),
        distance: distance.map(|d| DistanceLayers { mu: pick(&d.mu), sigma: pick(&d.sigma), norm: pick(&d.norm) }),
    })
}

/// Solid angle of a pixel of `order`, in steradians.
fn pixel_area(order: u8) -> f64 {
    4.0 * std::f64::consts::PI / (12u64 << (2 * order as u32)) as f64
}

/// The credible level of each pixel: the probability held by all pixels at least as dense
/// (ligo.skymap's `find_greedy_credible_levels`). The 90% credible region is where it is ≤ 0.9.
pub fn credible_levels(map: &SkyMap) -> Vec<f64> {
    let mut order: Vec<usize> = (0..map.len()).collect();
    order.sort_by(|&a, &b| map.prob_density[b].total_cmp(&map.prob_density[a]));
    let mut levels = vec![0.0; map.len()];
    let mut cumulative = 0.0;
    for k in order {
        let (o, _) = uniq_to_nested(map.uniq[k]).expect("checked when read");
        cumulative += map.prob_density[k] * pixel_area(o);
        levels[k] = cumulative;
    }
    levels
}

/// Area of the smallest region holding probability `p`, in square degrees, interpolated within
/// the pixel that crosses `p` as ligo.skymap's `crossmatch` does (`contour_areas`).
pub fn credible_area(map: &SkyMap, p: f64) -> f64 {
    let square_degrees = (180.0 / std::f64::consts::PI).powi(2);
    let mut order: Vec<usize> = (0..map.len()).collect();
    order.sort_by(|&a, &b| map.prob_density[b].total_cmp(&map.prob_density[a]));
    let (mut prob, mut area) = (0.0, 0.0);
    for k in order {
        let da = pixel_area(uniq_to_nested(map.uniq[k]).expect("checked when read").0);
        let dp = map.prob_density[k] * da;
        if dp > 0.0 && prob + dp >= p {
            return (area + da * ((p - prob) / dp).max(0.0)) * square_degrees;
        }
        prob += dp;
        area += da;
    }
    4.0 * std::f64::consts::PI * square_degrees
}

/// A Mollweide view of the map, `width` × `height` cells, row 0 at the top (north), centred
/// on right ascension 180° with right ascension growing to the left, as astronomers draw the
/// sky (ligo.skymap's "astro mollweide"). Each cell inside the ellipse gets the probability
/// density and the credible level of the pixel under its centre; cells outside get NaN.
pub fn mollweide(map: &SkyMap, levels: &[f64], width: usize, height: usize) -> (Vec<f32>, Vec<f32>) {
    let starts = map.machine_starts();
    let (mut density, mut level) = (vec![f32::NAN; width * height], vec![f32::NAN; width * height]);
    let sqrt2 = std::f64::consts::SQRT_2;
    for row in 0..height {
        // Cell centres in the projection plane: x in [−2√2, 2√2], y in [−√2, √2].
        let y = sqrt2 * (1.0 - 2.0 * (row as f64 + 0.5) / height as f64);
        let theta = (y / sqrt2).asin();
        let lat = ((2.0 * theta + (2.0 * theta).sin()) / std::f64::consts::PI).clamp(-1.0, 1.0).asin();
        for col in 0..width {
            let x = 2.0 * sqrt2 * (2.0 * (col as f64 + 0.5) / width as f64 - 1.0);
            let lon = std::f64::consts::PI * x / (2.0 * sqrt2 * theta.cos());
            if lon.abs() > std::f64::consts::PI {
                continue; // outside the ellipse
            }
            let ra = (std::f64::consts::PI - lon).rem_euclid(2.0 * std::f64::consts::PI);
            let k = SkyMap::pixel_at(&starts, ra, lat);
            density[row * width + col] = map.prob_density[k] as f32;
            level[row * width + col] = levels[k] as f32;
        }
    }
    (density, level)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compact form gives back the very map (bit for bit: layers may hold NaN), and any
    /// damage to it an error, never a panic or a different map.
    #[test]
    fn compact_form_round_trip() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/www/examples/simulated-bbh.fits.gz");
        let map = read(&std::fs::read(path).expect("the example map")).expect("readable");
        let bytes = map.to_bytes();
        let back = SkyMap::from_bytes(&bytes).expect("readable");
        let again = back.to_bytes();
        let first_difference = again.iter().zip(&bytes).position(|(a, b)| a != b);
        assert!(again.len() == bytes.len() && first_difference.is_none(), "{} vs {} bytes, first difference at {first_difference:?}", again.len(), bytes.len());
        assert_eq!((back.meta, back.uniq.len()), (map.meta.clone(), map.uniq.len()));
        for cut in [0, 5, COMPACT_MAGIC.len() + 2, COMPACT_MAGIC.len() + 40, bytes.len() / 2, bytes.len() - 1] {
            assert!(SkyMap::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(SkyMap::from_bytes(&longer).is_err());
        // A pixel index changed: the pixels no longer tile the sky.
        let mut moved = bytes.clone();
        let first_uniq = bytes.len() - 8 * map.len() * 5;
        moved[first_uniq] ^= 1;
        assert!(SkyMap::from_bytes(&moved).unwrap_err().to_string().contains("tile the sky"));
        assert!(SkyMap::from_bytes(b"SIMPLE  = T").unwrap_err().to_string().contains("not a compact sky map"));
    }

    #[test]
    fn nuniq_round_trip() {
        assert_eq!(uniq_to_nested(4), Some((0, 0)));
        assert_eq!(uniq_to_nested(15), Some((0, 11)));
        assert_eq!(uniq_to_nested(16), Some((1, 0)));
        assert_eq!(uniq_to_nested(4 * 1024 * 1024 + 7), Some((10, 7)));
        assert_eq!(uniq_to_nested(3), None);
        assert_eq!(uniq_to_nested(u64::MAX), None);
    }

    /// A FITS file: empty primary HDU, then a binary table with `cards` and `rows` bytes.
    fn fits(cards: &[(&str, &str)], rows: &[u8]) -> Vec<u8> {
        let block = |lines: Vec<String>| -> Vec<u8> {
            let mut b: Vec<u8> = lines.iter().flat_map(|l| format!("{l:<80}").into_bytes()).collect();
            b.resize(b.len().div_ceil(2880) * 2880, b' ');
            b
        };
        let card = |k: &str, v: &str| format!("{k:<8}= {v:>20}");
        let mut out = block(vec![card("SIMPLE", "T"), card("BITPIX", "8"), card("NAXIS", "0"), "END".into()]);
        let mut lines = vec![card("XTENSION", "'BINTABLE'"), card("BITPIX", "8"), card("NAXIS", "2")];
        lines.extend(cards.iter().map(|(k, v)| card(k, v)));
        lines.push("END".into());
        out.extend(block(lines));
        let mut data = rows.to_vec();
        data.resize(data.len().div_ceil(2880) * 2880, 0);
        out.extend(data);
        out
    }

    /// The 12 order-0 pixels, UNIQ 4..15, as (K, D) rows; `unsigned` stores UNIQ with TZERO 2^63.
    fn order0_map(unsigned: bool) -> Vec<u8> {
        let mut rows = Vec::new();
        for k in 0..12u64 {
            let uniq = 4 + k;
            let stored = if unsigned { uniq ^ (1 << 63) } else { uniq };
            rows.extend(stored.to_be_bytes());
            rows.extend((k as f64).to_be_bytes());
        }
        let mut cards = vec![
            ("NAXIS1", "16"), ("NAXIS2", "12"), ("PCOUNT", "0"), ("GCOUNT", "1"), ("TFIELDS", "2"),
            ("TTYPE1", "'UNIQ'"), ("TFORM1", "'K'"), ("TTYPE2", "'PROBDENSITY'"), ("TFORM2", "'D'"),
            ("ORDERING", "'NUNIQ'"), ("CREATOR", "'BAYESTAR'"),
        ];
        if unsigned {
            cards.push(("TZERO1", "9223372036854775808"));
        }
        fits(&cards, &rows)
    }

    /// The file with the value of header card `key` (as written by `fits`) replaced.
    fn with_card(mut bytes: Vec<u8>, key: &str, value: &str) -> Vec<u8> {
        let at = bytes.windows(8).position(|w| w == format!("{key:<8}").as_bytes()).unwrap();
        bytes[at + 10..at + 30].copy_from_slice(format!("{value:>20}").as_bytes());
        bytes
    }

    /// A gzipped flat NESTED map is read a block of rows at a time (`read_flat_gzip_streaming`):
    /// the same map, bit for bit, as the general way reads the same file uncompressed; and a
    /// truncated one is left to the general way, which says so. The map: the project's example
    /// rasterised at NSIDE 64, with a NaN-distance patch, −0.0 beside 0.0 and a float32 column.
    #[test]
    fn streaming_and_general_reads_agree() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/www/examples/simulated-bbh.fits.gz");
        let moc = read(&std::fs::read(path).expect("the example map")).expect("readable");
        let dist = moc.distance.as_ref().expect("distance layers");
        let starts = moc.machine_starts();
        let order = 6u32;
        let npix = 12usize << (2 * order);
        let mut rows = Vec::new();
        for k in 0..npix {
            let h = (k as u64) << (2 * (MACHINE_ORDER as u32 - order));
            let i = starts.partition_point(|&s| s <= h) - 1;
            let prob = moc.prob_density[i] * 4.0 * std::f64::consts::PI / npix as f64;
            let mu = if (100..164).contains(&k) { f64::NAN } else if k % 2 == 1 && dist.mu[i] == 0.0 { -0.0 } else { dist.mu[i] };
            rows.extend(prob.to_be_bytes());
            rows.extend(mu.to_be_bytes());
            rows.extend(dist.sigma[i].to_be_bytes());
            rows.extend((dist.norm[i] as f32).to_be_bytes());
        }
        let cards = [
            ("NAXIS1", "28"), ("NAXIS2", &npix.to_string()), ("PCOUNT", "0"), ("GCOUNT", "1"), ("TFIELDS", "4"),
            ("TTYPE1", "'PROB'"), ("TFORM1", "'D'"), ("TTYPE2", "'DISTMU'"), ("TFORM2", "'D'"),
            ("TTYPE3", "'DISTSIGMA'"), ("TFORM3", "'D'"), ("TTYPE4", "'DISTNORM'"), ("TFORM4", "'E'"),
            ("ORDERING", "'NESTED'"), ("NSIDE", "64"), ("CREATOR", "'BAYESTAR'"), ("DISTMEAN", "400.0"), ("DISTSTD", "90.0"),
        ];
        let gzip = |plain: &[u8]| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut gz, plain).unwrap();
            gz.finish().unwrap()
        };
        let plain = fits(&cards, &rows);
        let gz = gzip(&plain);
        let general = read(&plain).expect("readable");
        let streamed = read_flat_gzip_streaming(&gz).expect("taken the streaming way").expect("readable");
        assert_eq!(streamed.to_bytes(), general.to_bytes());
        assert!(general.len() > 12 && general.len() < npix, "{} pixels: nothing merged, or everything", general.len());
        // A column that is not a layer, different in every row: rows are then compared in the
        // layers' bytes only, not as whole rows.
        let mut with_extra = Vec::new();
        for (k, row) in rows.chunks(28).enumerate() {
            with_extra.extend((k as i32).to_be_bytes());
            with_extra.extend(row);
        }
        let npix_text = npix.to_string();
        let mut extra_cards = vec![
            ("NAXIS1", "32"), ("NAXIS2", npix_text.as_str()), ("PCOUNT", "0"), ("GCOUNT", "1"), ("TFIELDS", "5"),
            ("TTYPE1", "'EXTRA'"), ("TFORM1", "'J'"), ("TTYPE2", "'PROB'"), ("TFORM2", "'D'"), ("TTYPE3", "'DISTMU'"), ("TFORM3", "'D'"),
            ("TTYPE4", "'DISTSIGMA'"), ("TFORM4", "'D'"), ("TTYPE5", "'DISTNORM'"), ("TFORM5", "'E'"),
        ];
        extra_cards.extend(cards.iter().filter(|(k, _)| !(k.starts_with("TTYPE") || k.starts_with("TFORM") || ["NAXIS1", "NAXIS2", "PCOUNT", "GCOUNT", "TFIELDS"].contains(k))));
        let plain_extra = fits(&extra_cards, &with_extra);
        let streamed_extra = read_flat_gzip_streaming(&gzip(&plain_extra)).expect("taken the streaming way").expect("readable");
        assert_eq!(streamed_extra.to_bytes(), read(&plain_extra).expect("readable").to_bytes());
        assert_eq!(streamed_extra.to_bytes(), general.to_bytes());
        // Cut short: the general way's message.
        let cut = &gz[..gz.len() / 2];
        assert!(read_flat_gzip_streaming(cut).is_none());
        assert!(read(cut).unwrap_err().to_string().contains("gzip"), "{}", read(cut).unwrap_err());
    }

    #[test]
    fn reads_a_multi_order_map_signed_or_unsigned() {
        for unsigned in [false, true] {
            let map = read(&order0_map(unsigned)).unwrap();
            assert_eq!(map.uniq, (4..16).collect::<Vec<u64>>());
            assert_eq!(map.prob_density, (0..12).map(|k| k as f64).collect::<Vec<f64>>());
            assert_eq!(map.meta.creator.as_deref(), Some("BAYESTAR"));
            assert!(map.distance.is_none());
        }
    }

    #[test]
    fn columns_wider_than_the_row_are_an_error_not_a_panic() {
        // Claim 1024 values a row in a 16-byte row.
        let bytes = with_card(order0_map(false), "TFORM2", "'1024D'");
        let err = read(&bytes).unwrap_err().to_string();
        // `fields` refuses this before reading a byte.
        assert!(err.contains("NAXIS1"), "{err}");
    }

    #[test]
    fn pixels_must_tile_the_sky() {
        let bytes = with_card(order0_map(false), "NAXIS2", "11");
        let err = read(&bytes).unwrap_err().to_string();
        assert!(err.contains("tile the sky"), "{err}");
    }

    /// The examples of ligo.skymap's `reconstruct_nested`, which `derasterize` is built on.
    #[test]
    fn derasterize_merges_equal_blocks_like_ligo_skymap() {
        let leaves = |values: Vec<f64>, order: u8| {
            let (uniq, _) = derasterize(order, 1, |_, k| values[k], |_, _| false);
            // Vouching for rows with equal bits changes nothing.
            let (vouched, _) = derasterize(order, 1, |_, k| values[k], |a, b| values[a].to_bits() == values[b].to_bits());
            assert_eq!(vouched, uniq);
            let mut v: Vec<(u8, u64)> = uniq.iter().map(|&u| uniq_to_nested(u).unwrap()).collect();
            v.sort();
            v
        };
        let base: Vec<(u8, u64)> = (0..12).map(|p| (0, p)).collect();
        assert_eq!(leaves(vec![0.0; 12], 0), base);
        assert_eq!(leaves(vec![0.0; 768], 3), base);
        // NSIDE 2, zeros but four distinct values in the first base pixel.
        let mut m = vec![0.0; 48];
        m[..4].copy_from_slice(&[0.0, 1.0, 2.0, 3.0]);
        let want: Vec<(u8, u64)> = (1..12).map(|p| (0, p)).chain((0..4).map(|p| (1, p))).collect();
        assert_eq!(leaves(m, 1), want);
        // NSIDE 2, all distinct but four equal values in the first base pixel.
        let mut m: Vec<f64> = (0..48).map(f64::from).collect();
        m[..4].fill(0.0);
        let want: Vec<(u8, u64)> = std::iter::once((0, 0)).chain((4..48).map(|p| (1, p))).collect();
        assert_eq!(leaves(m, 1), want);
        // NaN rows count as equal to each other.
        let mut m = vec![f64::NAN; 48];
        m[47] = 1.0;
        assert_eq!(leaves(m, 1).len(), 11 + 4);
    }

    #[test]
    fn not_fits_is_refused() {
        assert!(read(b"hello").unwrap_err().to_string().contains("not a FITS file"));
        assert!(read(&[0x1f, 0x8b, 8, 0, 0]).unwrap_err().to_string().contains("gzip"));
    }

    #[test]
    fn malformed_header_cards_are_errors_not_panics() {
        // A string value of a lone quote made fitsrs 0.4.1 panic (found by `scripts/fuzz.sh`).
        let e = read(&fits(&[("NAXIS1", "8"), ("NAXIS2", "0"), ("TFIELDS", "1"), ("OBJECT", "'")], &[])).unwrap_err();
        assert!(e.to_string().contains("header card OBJECT: a string value without its closing quote"), "{e}");
        let e = read(&fits(&[("NAXIS1", "8"), ("NAXIS2", "-5"), ("TFIELDS", "1")], &[])).unwrap_err();
        assert!(e.to_string().contains("NAXIS2 = -5"), "{e}");
        let e = read(&fits(&[("NAXIS1", "99999999999"), ("NAXIS2", "99999999999"), ("TFIELDS", "1")], &[])).unwrap_err();
        assert!(e.to_string().contains("impossibly large"), "{e}");
        // Quotes inside strings, comments after values, and Fortran exponents are read.
        assert_eq!(card_value(" 'O''Neil  ' / a comment").unwrap(), "O'Neil");
        assert_eq!(card_value("          1.5D+02 / Mpc").unwrap(), "1.5E+02");
        assert_eq!(card_value("                    T").unwrap(), "T");
    }

    #[test]
    fn credible_levels_and_areas_of_a_two_part_map() {
        // Order 0: twelve base pixels; all the probability in two of them, 3:1.
        let area = 4.0 * std::f64::consts::PI / 12.0;
        let mut density = vec![0.0; 12];
        density[3] = 0.75 / area;
        density[7] = 0.25 / area;
        let map = SkyMap { meta: Meta::default(), uniq: (4..16).collect(), prob_density: density, distance: None };
        let levels = credible_levels(&map);
        assert!((levels[3] - 0.75).abs() < 1e-12 && (levels[7] - 1.0).abs() < 1e-12);
        let sq_deg = 41252.96124941927 / 12.0;
        // As ligo.skymap interpolates: 50% is 2/3 of the first pixel, 90% all of it and 60% of the second.
        assert!((credible_area(&map, 0.5) - sq_deg * 0.5 / 0.75).abs() < 1e-6);
        assert!((credible_area(&map, 0.9) - sq_deg * 1.6).abs() < 1e-6);
        let (d, l) = mollweide(&map, &levels, 80, 40);
        let inside = d.iter().filter(|v| !v.is_nan()).count();
        // The ellipse covers π/4 of its bounding box.
        assert!((inside as f64 / 3200.0 - std::f64::consts::PI / 4.0).abs() < 0.02, "{inside}");
        assert!(l.iter().filter(|v| !v.is_nan()).all(|&v| v == 0.75 || v == 1.0));
    }
}
