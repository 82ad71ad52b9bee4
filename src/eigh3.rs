//! Eigen-decomposition of a real symmetric 3 × 3 matrix, the way numpy's `linalg.eigh` does it.
//!
//! Why not a linear-algebra crate: ligo.skymap's `principal_axes_moc` takes the eigenvectors of
//! `np.linalg.eigh` as the axes of the volume images, and an eigenvector's sign is arbitrary:
//! a different sign mirrors an image, and GWSkyNet's score changes. To see the sky maps the
//! way the reference does, we follow the path LAPACK's `dsyevd` (UPLO = 'L') takes for n = 3:
//! `dsytd2` (one Householder reflection to tridiagonal form), `dsteqr` (implicit QL/QR with
//! Wilkinson shifts, as `dstedc` does for small n) with LAPACK ≥ 3.10's `dlartg`, `dlaev2` for
//! 2 × 2 blocks, then the eigenvectors sorted by ascending eigenvalue and the reflection applied
//! back (`dormtr`). The reflection uses the reference BLAS's order of operations (dsymv, dsyr2):
//! with any other order, rounding in the near-cancelling update already flipped eigenvector
//! signs of ill-conditioned matrices. Checked against numpy (OpenBLAS) on 700 generated
//! matrices, signs included (tests/golden/make_eigh_golden.py).
//! The scalings `dsyevd`/`dsteqr` apply to matrices with entries near over- or underflow are
//! left out; `eigh` refuses matrices that would need them.

/// Eigenvalues (ascending) and eigenvectors (as columns: `vectors[row][k]` is component `row`
/// of the k-th eigenvector) of the symmetric matrix `a` (only the lower triangle is read).
/// None if an entry is not finite or so large or small that LAPACK would rescale it.
pub fn eigh(a: &[[f64; 3]; 3]) -> Option<([f64; 3], [[f64; 3]; 3])> {
    let lower = (0..3).flat_map(|i| (0..=i).map(move |j| a[i][j].abs()));
    if lower.clone().any(|x| !x.is_finite()) {
        return None;
    }
    let max = lower.fold(0.0, f64::max);
    if max != 0.0 && !(1e-100..=1e100).contains(&max) {
        return None;
    }
    // dsytd2, lower: reflect rows/columns 2..3 so that A(3,1) becomes 0.
    let mut m = *a;
    for i in 0..3 {
        for j in i + 1..3 {
            m[i][j] = m[j][i];
        }
    }
    let (alpha, x) = (m[1][0], m[2][0]);
    let (e0, tau, v2) = householder(alpha, x);
    let mut d = [m[0][0], m[1][1], m[2][2]];
    let mut e = [e0, m[2][1]];
    if tau != 0.0 {
        // A22 := H A22 H with H = I − τ v vᵀ, v = (1, v2): w = τ A22 v − (τ/2)(wᵀv) v, A22 −= v wᵀ + w vᵀ.
        // Operation order of the reference BLAS dsymv/dsyr2 (lower, x = v, y = w).
        let v = [1.0, v2];
        let (a00, a10, a11) = (m[1][1], m[2][1], m[2][2]);
        let t0 = tau * v[0];
        let mut w = [t0 * a00, t0 * a10];
        w[0] += tau * (a10 * v[1]);
        w[1] += (tau * v[1]) * a11;
        let alpha = -0.5 * tau * (w[0] * v[0] + w[1] * v[1]);
        w[0] += alpha * v[0];
        w[1] += alpha * v[1];
        d[1] = a00 + (v[0] * -w[0] + w[0] * -v[0]);
        e[1] = a10 + (v[1] * -w[0] + w[1] * -v[0]);
        d[2] = a11 + (v[1] * -w[1] + w[1] * -v[1]);
    }
    let mut z = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    steqr(&mut d, &mut e, &mut z)?;
    // dormtr: Z := Q Z with Q = H acting on rows 2..3.
    if tau != 0.0 {
        for col in 0..3 {
            let s = tau * (z[1][col] + v2 * z[2][col]);
            z[1][col] -= s;
            z[2][col] -= s * v2;
        }
    }
    Some((d, z))
}

/// dlarfg for n = 2: β, τ and v2 with H (α, x)ᵀ = (β, 0)ᵀ, H = I − τ (1, v2)(1, v2)ᵀ.
fn householder(alpha: f64, x: f64) -> (f64, f64, f64) {
    if x == 0.0 {
        return (alpha, 0.0, 0.0);
    }
    let beta = -lapy2(alpha, x).copysign(alpha);
    (beta, (beta - alpha) / beta, x * (1.0 / (alpha - beta)))
}

/// dlapy2: sqrt(x² + y²) without needless overflow.
fn lapy2(x: f64, y: f64) -> f64 {
    let (xa, ya) = (x.abs(), y.abs());
    let (w, z) = (xa.max(ya), xa.min(ya));
    if z == 0.0 {
        w
    } else {
        w * (1.0 + (z / w) * (z / w)).sqrt()
    }
}

/// dlartg (LAPACK ≥ 3.10): c, s, r with [c s; −s c] (f, g)ᵀ = (r, 0)ᵀ, c ≥ 0, sign(r) = sign(f).
/// (Our entries are far from over/underflow, so the scaled branch is not needed.)
fn lartg(f: f64, g: f64) -> (f64, f64, f64) {
    if g == 0.0 {
        (1.0, 0.0, f)
    } else if f == 0.0 {
        (0.0, 1f64.copysign(g), g.abs())
    } else {
        let d = (f * f + g * g).sqrt();
        let c = f.abs() / d;
        let r = d.copysign(f);
        (c, g / r, r)
    }
}

/// dlaev2: eigen-decomposition of [[a, b], [b, c]]: rt1 (larger |.|), rt2, and (cs1, sn1), the
/// eigenvector of rt1.
fn laev2(a: f64, b: f64, c: f64) -> (f64, f64, f64, f64) {
    let sm = a + c;
    let df = a - c;
    let adf = df.abs();
    let tb = b + b;
    let ab = tb.abs();
    let (acmx, acmn) = if a.abs() > c.abs() { (a, c) } else { (c, a) };
    let rt = if adf > ab {
        adf * (1.0 + (ab / adf).powi(2)).sqrt()
    } else if adf < ab {
        ab * (1.0 + (adf / ab).powi(2)).sqrt()
    } else {
        ab * 2f64.sqrt()
    };
    let (rt1, rt2, sgn1) = if sm < 0.0 {
        let rt1 = 0.5 * (sm - rt);
        (rt1, (acmx / rt1) * acmn - (b / rt1) * b, -1)
    } else if sm > 0.0 {
        let rt1 = 0.5 * (sm + rt);
        (rt1, (acmx / rt1) * acmn - (b / rt1) * b, 1)
    } else {
        (0.5 * rt, -0.5 * rt, 1)
    };
    let (cs, sgn2) = if df >= 0.0 { (df + rt, 1) } else { (df - rt, -1) };
    let (mut cs1, mut sn1);
    if cs.abs() > ab {
        let ct = -tb / cs;
        sn1 = 1.0 / (1.0 + ct * ct).sqrt();
        cs1 = ct * sn1;
    } else if ab == 0.0 {
        cs1 = 1.0;
        sn1 = 0.0;
    } else {
        let tn = -cs / tb;
        cs1 = 1.0 / (1.0 + tn * tn).sqrt();
        sn1 = tn * cs1;
    }
    if sgn1 == sgn2 {
        let tn = cs1;
        cs1 = -sn1;
        sn1 = tn;
    }
    (rt1, rt2, cs1, sn1)
}

/// dlasr with SIDE = 'R', PIVOT = 'V': apply the plane rotations (c[j], s[j]) to the column
/// pairs (first + j, first + j + 1) of z, forward or backward.
fn lasr(forward: bool, c: &[f64], s: &[f64], z: &mut [[f64; 3]; 3], first: usize) {
    let n = c.len();
    let mut apply = |j: usize| {
        let (ct, st) = (c[j], s[j]);
        if ct != 1.0 || st != 0.0 {
            for row in z.iter_mut() {
                let temp = row[first + j + 1];
                row[first + j + 1] = ct * temp - st * row[first + j];
                row[first + j] = st * temp + ct * row[first + j];
            }
        }
    };
    if forward {
        (0..n).for_each(&mut apply);
    } else {
        (0..n).rev().for_each(&mut apply);
    }
}

/// dsteqr with COMPZ = 'I' on the tridiagonal (d, e), accumulating rotations into z, then the
/// selection sort that orders eigenvalues ascending. 0-based transcription of the Fortran.
fn steqr(d: &mut [f64; 3], e: &mut [f64; 2], z: &mut [[f64; 3]; 3]) -> Option<()> {
    const N: usize = 3;
    const MAXIT: usize = 30;
    let eps = f64::EPSILON / 2.0; // dlamch('E'): relative machine precision (rounding)
    let eps2 = eps * eps;
    let safmin = f64::MIN_POSITIVE;
    let nmaxit = N * MAXIT;
    let mut jtot = 0;
    let mut l1 = 0usize;
    let (mut work_c, mut work_s) = ([0.0; N - 1], [0.0; N - 1]);
    loop {
        if l1 >= N {
            break;
        }
        if l1 > 0 {
            e[l1 - 1] = 0.0;
        }
        // Look for a small subdiagonal element to split the matrix.
        let mut m = N - 1;
        for mm in l1..N - 1 {
            let tst = e[mm].abs();
            if tst == 0.0 {
                m = mm;
                break;
            }
            if tst <= (d[mm].abs().sqrt() * d[mm + 1].abs().sqrt()) * eps {
                e[mm] = 0.0;
                m = mm;
                break;
            }
        }
        let mut l = l1;
        let lsv = l;
        let mut lend = m;
        let lendsv = lend;
        l1 = m + 1;
        if lend == l {
            continue;
        }
        let anorm = (l..=lend).map(|i| d[i].abs()).chain((l..lend).map(|i| e[i].abs())).fold(0.0, f64::max);
        if anorm == 0.0 {
            continue;
        }
        // Choose between QL and QR iteration.
        if d[lend].abs() < d[l].abs() {
            lend = lsv;
            l = lendsv;
        }
        if lend > l {
            // QL iteration.
            loop {
                let mut m = lend;
                if l != lend {
                    for mm in l..lend {
                        let tst = e[mm].abs().powi(2);
                        if tst <= (eps2 * d[mm].abs()) * d[mm + 1].abs() + safmin {
                            m = mm;
                            break;
                        }
                    }
                }
                if m < lend {
                    e[m] = 0.0;
                }
                let mut p = d[l];
                if m == l {
                    d[l] = p;
                    l += 1;
                    if l <= lend {
                        continue;
                    }
                    break;
                }
                if m == l + 1 {
                    let (rt1, rt2, c, s) = laev2(d[l], e[l], d[l + 1]);
                    lasr(false, &[c], &[s], z, l);
                    d[l] = rt1;
                    d[l + 1] = rt2;
                    e[l] = 0.0;
                    l += 2;
                    if l <= lend {
                        continue;
                    }
                    break;
                }
                if jtot == nmaxit {
                    break;
                }
                jtot += 1;
                let mut g = (d[l + 1] - p) / (2.0 * e[l]);
                let mut r = lapy2(g, 1.0);
                g = d[m] - p + (e[l] / (g + r.copysign(g)));
                let (mut s, mut c) = (1.0, 1.0);
                p = 0.0;
                for i in (l..m).rev() {
                    let f = s * e[i];
                    let b = c * e[i];
                    (c, s, r) = lartg(g, f);
                    if i != m - 1 {
                        e[i + 1] = r;
                    }
                    g = d[i + 1] - p;
                    r = (d[i] - g) * s + 2.0 * c * b;
                    p = s * r;
                    d[i + 1] = g + p;
                    g = c * r - b;
                    work_c[i] = c;
                    work_s[i] = -s;
                }
                lasr(false, &work_c[l..m], &work_s[l..m], z, l);
                d[l] -= p;
                e[l] = g;
            }
        } else {
            // QR iteration.
            loop {
                let mut m = lend;
                if l != lend {
                    for mm in (lend + 1..=l).rev() {
                        let tst = e[mm - 1].abs().powi(2);
                        if tst <= (eps2 * d[mm].abs()) * d[mm - 1].abs() + safmin {
                            m = mm;
                            break;
                        }
                    }
                }
                if m > lend {
                    e[m - 1] = 0.0;
                }
                let mut p = d[l];
                if m == l {
                    d[l] = p;
                    if l == lend {
                        break;
                    }
                    l -= 1;
                    continue;
                }
                if m + 1 == l {
                    let (rt1, rt2, c, s) = laev2(d[l - 1], e[l - 1], d[l]);
                    lasr(true, &[c], &[s], z, l - 1);
                    d[l - 1] = rt1;
                    d[l] = rt2;
                    e[l - 1] = 0.0;
                    if l < lend + 2 {
                        break;
                    }
                    l -= 2;
                    continue;
                }
                if jtot == nmaxit {
                    break;
                }
                jtot += 1;
                let mut g = (d[l - 1] - p) / (2.0 * e[l - 1]);
                let mut r = lapy2(g, 1.0);
                g = d[m] - p + (e[l - 1] / (g + r.copysign(g)));
                let (mut s, mut c) = (1.0, 1.0);
                p = 0.0;
                for i in m..l {
                    let f = s * e[i];
                    let b = c * e[i];
                    (c, s, r) = lartg(g, f);
                    if i != m {
                        e[i - 1] = r;
                    }
                    g = d[i] - p;
                    r = (d[i + 1] - g) * s + 2.0 * c * b;
                    p = s * r;
                    d[i] = g + p;
                    g = c * r - b;
                    work_c[i] = c;
                    work_s[i] = s;
                }
                lasr(true, &work_c[m..l], &work_s[m..l], z, m);
                d[l] -= p;
                e[l - 1] = g;
            }
        }
        if jtot >= nmaxit {
            return None;
        }
    }
    // Selection sort, ascending, swapping eigenvector columns along.
    for i in 0..N - 1 {
        let mut k = i;
        let mut p = d[i];
        for (j, &dj) in d.iter().enumerate().skip(i + 1) {
            if dj < p {
                k = j;
                p = dj;
            }
        }
        if k != i {
            d[k] = d[i];
            d[i] = p;
            for row in z.iter_mut() {
                row.swap(i, k);
            }
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: [[f64; 3]; 3]) {
        let (w, v) = eigh(&a).unwrap();
        assert!(w[0] <= w[1] && w[1] <= w[2]);
        for k in 0..3 {
            for i in 0..3 {
                let av: f64 = (0..3).map(|j| a[i][j] * v[j][k]).sum();
                assert!((av - w[k] * v[i][k]).abs() < 1e-12 * (1.0 + w[2].abs()), "A v = λ v fails for {a:?}");
            }
            for l in 0..3 {
                let dot: f64 = (0..3).map(|i| v[i][k] * v[i][l]).sum();
                assert!((dot - if k == l { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn decomposes_symmetric_matrices() {
        check([[2.0, 1.0, 0.5], [1.0, 3.0, -0.25], [0.5, -0.25, 1.0]]);
        check([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
        check([[4.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 2.0]]);
        check([[1e-3, 2e-4, 0.0], [2e-4, 5e-3, 1e-4], [0.0, 1e-4, 9e-1]]);
        assert!(eigh(&[[f64::NAN, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]).is_none());
    }

    /// Eigenvectors, signs included, as numpy's eigh gives them (tests/golden/eigh_cases.json,
    /// made by tests/golden/make_eigh_golden.py).
    #[test]
    fn eigenvectors_and_signs_match_numpy() {
        #[derive(serde::Deserialize)]
        struct Case {
            a: [[f64; 3]; 3],
            w: [f64; 3],
            v: [[f64; 3]; 3],
        }
        #[derive(serde::Deserialize)]
        struct Golden {
            cases: Vec<Case>,
        }
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/eigh_cases.json")).unwrap();
        let golden: Golden = serde_json::from_str(&text).unwrap();
        assert!(golden.cases.len() >= 500);
        let mut worst = 0f64;
        for (n, case) in golden.cases.iter().enumerate() {
            let (w, v) = eigh(&case.a).unwrap();
            let scale = case.w.iter().fold(0f64, |m, x| m.max(x.abs()));
            for k in 0..3 {
                assert!((w[k] - case.w[k]).abs() <= 1e-12 * scale, "case {n}: eigenvalues {w:?} vs {:?}", case.w);
                for i in 0..3 {
                    worst = worst.max((v[i][k] - case.v[i][k]).abs());
                }
            }
            let diff = (0..3).flat_map(|i| (0..3).map(move |k| (i, k))).map(|(i, k)| (v[i][k] - case.v[i][k]).abs()).fold(0.0, f64::max);
            assert!(diff < 1e-6, "case {n}: eigenvectors {v:?} vs numpy {:?}", case.v);
        }
        eprintln!("eigh: {} cases, largest eigenvector difference {worst:e}", golden.cases.len());
    }
}
