#!/usr/bin/env python3
"""Writes a corpus of bad inputs, and a manifest of what skysift must say about each.

Usage: python3 scripts/make_bad_inputs.py OUT_DIR [--big]
Only the standard library (FITS files are written card by card). The sky maps are tiny
BAYESTAR-like maps (NSIDE 4, made up here) broken in one way each; the light curves are made
up too. --big adds light curves of 10^6 points (read, but more than a dm–dt image takes) and
10^7 points (more than a file may have): hundreds of MB, so only on request.

manifest.json: [{file, kind: "skymap" | "lightcurve", expect: regex the one-line error must
match, ok: true where the input is odd but fine}]
"""
import gzip
import json
import math
import struct
import sys
from pathlib import Path

BLOCK = 2880


def card(key, value=None, comment=''):
    if value is None:
        text = key.ljust(80)
    else:
        if isinstance(value, bool):
            v = 'T' if value else 'F'
            v = v.rjust(20)
        elif isinstance(value, str):
            v = ("'" + value.replace("'", "''").ljust(8) + "'").ljust(20)
        elif isinstance(value, int):
            v = str(value).rjust(20)
        else:
            v = repr(float(value)).upper().rjust(20)
        text = f'{key:<8}= {v}' + (f' / {comment}' if comment else '')
    return text[:80].ljust(80).encode('ascii')


def header(cards):
    raw = b''.join(cards) + card('END')
    return raw + b' ' * (-len(raw) % BLOCK)


def primary():
    return header([card('SIMPLE', True), card('BITPIX', 8), card('NAXIS', 0), card('EXTEND', True)])


def table(columns, extra, rows=None, bitpix=8, tform=None):
    """A BINTABLE of float64 columns {name: values}; `extra` header cards."""
    names = list(columns)
    n = len(next(iter(columns.values()))) if rows is None else rows
    cards = [card('XTENSION', 'BINTABLE'), card('BITPIX', bitpix), card('NAXIS', 2), card('NAXIS1', 8 * len(names)),
             card('NAXIS2', n), card('PCOUNT', 0), card('GCOUNT', 1), card('TFIELDS', len(names))]
    for k, name in enumerate(names, 1):
        cards += [card(f'TTYPE{k}', name), card(f'TFORM{k}', (tform or {}).get(name, 'D'))]
    cards += extra
    # Each value as its TFORM says (K: 64-bit integers), so that only what is meant to be broken is.
    codes = ''.join('q' if (tform or {}).get(c) == 'K' else 'd' for c in names)
    values = lambda i: (int(columns[c][i]) if code == 'q' else columns[c][i] for c, code in zip(names, codes))
    data = b''.join(struct.pack('>' + codes, *values(i)) for i in range(len(next(iter(columns.values())))))
    return header(cards) + data + b'\0' * (-len(data) % BLOCK)


def bayestar_cards(nside=4, ordering='NESTED', creator='BAYESTAR', obj="<img src=x onerror=alert(1)>"):
    return [card('PIXTYPE', 'HEALPIX'), card('ORDERING', ordering), card('INDXSCHM', 'IMPLICIT' if ordering != 'NUNIQ' else 'EXPLICIT'),
            card('NSIDE', nside), card('CREATOR', creator), card('OBJECT', obj), card('INSTRUME', 'H1,L1,V1'),
            card('DATE-OBS', '2019-04-12T05:30:44.165622'), card('DISTMEAN', 300.0), card('DISTSTD', 80.0),
            card('LOGBCI', 5.0), card('LOGBSN', 20.0)]


def flat_columns(npix):
    prob = [math.exp(-((i - npix / 3) / (npix / 10)) ** 2) for i in range(npix)]
    s = sum(prob)
    return {'PROB': [p / s for p in prob], 'DISTMU': [300.0] * npix, 'DISTSIGMA': [80.0] * npix, 'DISTNORM': [1.0e-5] * npix}


def good_map(**kw):
    return primary() + table(flat_columns(192), bayestar_cards(**kw))


def main():
    out = Path(sys.argv[1])
    big = '--big' in sys.argv
    out.mkdir(parents=True, exist_ok=True)
    cases = []

    def add(name, data, kind, expect, ok=False):
        (out / name).write_bytes(data)
        cases.append({'file': name, 'kind': kind, 'expect': expect, 'ok': ok})

    good = good_map()
    add('good-flat.fits', good, 'skymap', '', ok=True)
    add('truncated.fits', good[:BLOCK + 1000], 'skymap', 'truncated|damaged')
    add('truncated-data.fits', good[:len(good) - BLOCK], 'skymap', 'truncated|damaged|rows')
    add('truncated.fits.gz', gzip.compress(good)[:900], 'skymap', 'gzip.*(damaged|truncated)')
    add('wrong-bitpix.fits', primary() + table(flat_columns(192), bayestar_cards(), bitpix=16), 'skymap', 'BITPIX|damaged|binary table')
    add('wrong-tform.fits', primary() + table(flat_columns(192), bayestar_cards(), tform={'PROB': '8A'}), 'skymap', 'PROB|TFORM|column')
    add('unknown-tform.fits', primary() + table(flat_columns(192), bayestar_cards(), tform={'DISTMU': '1Q'}), 'skymap', 'TFORM|column|damaged|format')
    add('nside-not-power-of-two.fits', primary() + table(flat_columns(108), bayestar_cards(nside=3)), 'skymap', 'NSIDE|power of two')
    add('nside-rows-mismatch.fits', primary() + table(flat_columns(100), bayestar_cards(nside=4)), 'skymap', 'rows|NSIDE|pixels')
    moc = {'UNIQ': [2.0, 16.0], 'PROBDENSITY': [1.0, 1.0], 'DISTMU': [300.0] * 2, 'DISTSIGMA': [80.0] * 2, 'DISTNORM': [1e-5] * 2}
    add('uniq-out-of-range.fits', primary() + table(moc, bayestar_cards(ordering='NUNIQ'), tform={'UNIQ': 'K'}), 'skymap', 'UNIQ')
    cols = flat_columns(192)
    cols['PROB'][5] = float('nan')
    add('nan-prob.fits', primary() + table(cols, bayestar_cards()), 'skymap', 'PROB.*(NaN|finite)|not finite|NaN')
    cols = flat_columns(192)
    cols['DISTMU'][7] = float('inf')
    # BAYESTAR itself writes DISTMU = inf where the distance is unconstrained: fine.
    add('inf-distmu.fits', primary() + table(cols, bayestar_cards()), 'skymap', '', ok=True)
    cols = flat_columns(192)
    del cols['DISTMU']
    add('missing-distmu.fits', primary() + table(cols, bayestar_cards()), 'skymap', 'DISTMU|distance')
    add('zero-rows.fits', primary() + table({k: [] for k in flat_columns(1)}, bayestar_cards()), 'skymap', 'no pixels|rows|empty|NSIDE')
    giant = primary() + header([card('XTENSION', 'BINTABLE')] + [card('COMMENT', None) for _ in range(0)] + [card(f'K{i:06d}', i) for i in range(200000)])
    add('giant-header.fits', giant, 'skymap', 'header|damaged|table')
    no_end = b''.join([card('SIMPLE', True), card('BITPIX', 8), card('NAXIS', 0)] + [card(f'K{i:06d}', i) for i in range(5000)])
    add('no-end-card.fits', no_end + b' ' * (-len(no_end) % BLOCK), 'skymap', 'truncated|header|damaged|END')
    add('junk.fits', bytes((i * 7919 + 13) % 251 for i in range(10000)), 'skymap', 'not a FITS file')
    add('not-bayestar.fits', good_map(creator='LALInference'), 'skymap', 'BAYESTAR')

    def lc(name, text, expect, ok=False):
        add(name, text.encode(), 'lightcurve', expect, ok)

    rows = [f'{58000 + 0.37 * i:.3f},{15 + 0.3 * math.sin(i):.3f},0.02' for i in range(60)]
    lc('good.csv', 'mjd,mag,magerr\n' + '\n'.join(rows) + '\n', '', ok=True)
    lc('text-in-mag.csv', 'mjd,mag,magerr\n' + '\n'.join(rows[:10]) + '\n58010.0,bright,0.02\n' + '\n'.join(rows[10:]) + '\n', 'line 12|bright|number')
    lc('one-point.csv', 'mjd,mag,magerr\n58000.0,15.0,0.02\n', '2 points|one point|at least|too few')
    lc('all-nan.csv', 'mjd,mag,magerr\n' + '\n'.join(f'{58000 + i},nan,nan' for i in range(20)) + '\n', 'NaN|no (valid|usable)|finite')
    lc('equal-times.csv', 'mjd,mag,magerr\n' + '\n'.join(f'58000.0,{15 + 0.01 * i},0.02' for i in range(20)) + '\n', '', ok=True)
    lc('wrong-delimiter.csv', 'mjd|mag|magerr\n' + '\n'.join(r.replace(',', '|') for r in rows) + '\n', 'column|delimiter|number')
    lc('empty.csv', '', 'empty|no (data|rows)')
    lc('header-only.csv', 'mjd,mag,magerr\n', 'no (data|rows)|empty')
    add('binary.csv', bytes(range(256)) * 40, 'lightcurve', 'text|UTF-8|binary|column|number')
    add('truncated.csv.gz', gzip.compress(('mjd,mag,magerr\n' + '\n'.join(rows) + '\n').encode())[:60], 'lightcurve', 'gzip.*(damaged|truncated)')
    if big:
        with open(out / 'million.csv', 'w') as f:
            f.write('mjd,mag,magerr\n')
            for i in range(1_000_000):
                f.write(f'{58000 + 0.01 * i:.3f},{15 + 0.3 * math.sin(i * 0.1):.3f},0.02\n')
        cases.append({'file': 'million.csv', 'kind': 'lightcurve', 'expect': 'points|pairs|limit|at most', 'ok': False})
        with open(out / 'ten-million.csv', 'w') as f:
            f.write('mjd,mag,magerr\n')
            line = ''.join(f'{58000 + 0.001 * i:.3f},15.000,0.02\n' for i in range(1000))
            for _ in range(10_000):
                f.write(line)
        cases.append({'file': 'ten-million.csv', 'kind': 'lightcurve', 'expect': 'rows|MB|limit|most', 'ok': False})
    (out / 'manifest.json').write_text(json.dumps(cases, indent=1) + '\n')
    print(f'{len(cases)} inputs in {out}')


if __name__ == '__main__':
    main()
