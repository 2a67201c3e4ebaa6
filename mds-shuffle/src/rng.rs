//! numpy's random generation, bit for bit: `SeedSequence`, `PCG64` and the `Generator` methods
//! the reference's shuffles, partitions and stream sampling call.
//!
//! Source of every fact here: numpy 2.1.3 (`numpy/random/bit_generator.pyx`,
//! `_pcg64.pyx`, `_generator.pyx`, `src/distributions/distributions.c`), as written down in the
//! project's `spec/shuffle.md` §A.

use crate::error::{Error, Result};

const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
const XSHIFT: u32 = 16;
const POOL_SIZE: usize = 4;
const PCG_MULT: u128 = 0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645;

/// numpy's `SeedSequence` with the default pool of four `u32` words and no spawn key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedSequence {
    pool: [u32; POOL_SIZE],
}

impl SeedSequence {
    /// Seeds from a non-negative integer, as `SeedSequence(seed)` does.
    pub fn new(seed: u128) -> Self {
        let mut words = Vec::with_capacity(4);
        let mut n = seed;
        while n > 0 {
            words.push((n & 0xffff_ffff) as u32);
            n >>= 32;
        }
        if words.is_empty() {
            words.push(0);
        }
        Self::from_entropy_words(&words)
    }

    /// Seeds from the little-endian `u32` words of an arbitrarily large non-negative integer
    /// (`[0]` for zero), which is how numpy splits Python ints.
    pub fn from_entropy_words(entropy: &[u32]) -> Self {
        let mut hash_const = INIT_A;
        let mut hashmix = |value: u32| {
            let mut v = value ^ hash_const;
            hash_const = hash_const.wrapping_mul(MULT_A);
            v = v.wrapping_mul(hash_const);
            v ^ (v >> XSHIFT)
        };
        let mix = |x: u32, y: u32| {
            let r = MIX_MULT_L
                .wrapping_mul(x)
                .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
            r ^ (r >> XSHIFT)
        };
        let mut pool = [0u32; POOL_SIZE];
        for (i, slot) in pool.iter_mut().enumerate() {
            *slot = hashmix(entropy.get(i).copied().unwrap_or(0));
        }
        for src in 0..POOL_SIZE {
            for dst in 0..POOL_SIZE {
                if src != dst {
                    let h = hashmix(pool[src]);
                    pool[dst] = mix(pool[dst], h);
                }
            }
        }
        for &extra in entropy.iter().skip(POOL_SIZE) {
            for slot in &mut pool {
                let h = hashmix(extra);
                *slot = mix(*slot, h);
            }
        }
        Self { pool }
    }

    /// The mixed entropy pool.
    pub fn pool(&self) -> [u32; 4] {
        self.pool
    }

    /// `generate_state(n, uint32)`.
    pub fn generate_state_u32(&self, n: usize) -> Vec<u32> {
        let mut hash_const = INIT_B;
        (0..n)
            .map(|i| {
                let mut v = self.pool[i % POOL_SIZE] ^ hash_const;
                hash_const = hash_const.wrapping_mul(MULT_B);
                v = v.wrapping_mul(hash_const);
                v ^ (v >> XSHIFT)
            })
            .collect()
    }

    /// `generate_state(n, uint64)`: pairs of `u32` words, little-endian.
    pub fn generate_state_u64(&self, n: usize) -> Vec<u64> {
        let w = self.generate_state_u32(2 * n);
        w.chunks_exact(2)
            .map(|p| u64::from(p[0]) | (u64::from(p[1]) << 32))
            .collect()
    }
}

/// numpy's `PCG64` bit generator (XSL-RR 128/64) including its buffered 32-bit half word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pcg64 {
    state: u128,
    inc: u128,
    has_uint32: bool,
    uinteger: u32,
}

impl Pcg64 {
    /// `PCG64(SeedSequence(seed))`.
    pub fn new(seed: u128) -> Self {
        Self::from_seed_sequence(&SeedSequence::new(seed))
    }

    /// `PCG64(seed_sequence)`.
    pub fn from_seed_sequence(seq: &SeedSequence) -> Self {
        let s = seq.generate_state_u64(4);
        let initstate = (u128::from(s[0]) << 64) | u128::from(s[1]);
        let initseq = (u128::from(s[2]) << 64) | u128::from(s[3]);
        let mut g = Self {
            state: 0,
            inc: (initseq << 1) | 1,
            has_uint32: false,
            uinteger: 0,
        };
        g.step();
        g.state = g.state.wrapping_add(initstate);
        g.step();
        g
    }

    /// The 128-bit LCG state.
    pub fn state(&self) -> u128 {
        self.state
    }

    /// The 128-bit LCG increment (always odd).
    pub fn inc(&self) -> u128 {
        self.inc
    }

    #[inline]
    fn step(&mut self) {
        self.state = self.state.wrapping_mul(PCG_MULT).wrapping_add(self.inc);
    }

    /// One raw 64-bit output (`random_raw`); leaves the 32-bit buffer alone.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let s = self.state;
        let rot = (s >> 122) as u32;
        #[allow(clippy::cast_possible_truncation)] // the XSL step folds 128 bits into 64 on purpose
        let x = ((s >> 64) as u64) ^ (s as u64);
        x.rotate_right(rot)
    }

    /// One 32-bit output: the low half of a fresh word, then its buffered high half.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        if self.has_uint32 {
            self.has_uint32 = false;
            return self.uinteger;
        }
        let v = self.next_u64();
        self.has_uint32 = true;
        self.uinteger = (v >> 32) as u32;
        #[allow(clippy::cast_possible_truncation)] // low half by design
        let low = v as u32;
        low
    }

    /// Moves on as `n` calls of [`Pcg64::next_u64`] would, in O(log n) (the LCG jump of
    /// O'Neill's PCG paper, §4.3.1); the buffered 32-bit half word is left alone, as those
    /// calls leave it (unlike numpy's `advance`, which clears it).
    pub fn skip_u64(&mut self, n: u128) {
        let (mut acc_mult, mut acc_plus) = (1u128, 0u128);
        let (mut mult, mut plus) = (PCG_MULT, self.inc);
        let mut n = n;
        while n > 0 {
            if n & 1 == 1 {
                acc_mult = acc_mult.wrapping_mul(mult);
                acc_plus = acc_plus.wrapping_mul(mult).wrapping_add(plus);
            }
            plus = mult.wrapping_add(1).wrapping_mul(plus);
            mult = mult.wrapping_mul(mult);
            n >>= 1;
        }
        self.state = acc_mult.wrapping_mul(self.state).wrapping_add(acc_plus);
    }

    /// A double in `[0, 1)` from the top 53 bits of a 64-bit word.
    #[inline]
    pub fn next_double(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss)] // 53 bits fit an f64 mantissa exactly
        let v = (self.next_u64() >> 11) as f64;
        v * (1.0 / 9_007_199_254_740_992.0)
    }
}

/// numpy's `Generator` over [`Pcg64`] (what `np.random.default_rng(seed)` returns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generator {
    bg: Pcg64,
}

#[inline]
fn gen_mask(max: u64) -> u64 {
    if max == 0 {
        0
    } else {
        u64::MAX >> max.leading_zeros()
    }
}

impl Generator {
    /// `np.random.default_rng(seed)`.
    pub fn new(seed: u128) -> Self {
        Self {
            bg: Pcg64::new(seed),
        }
    }

    /// Wraps an existing bit generator.
    pub fn from_bit_generator(bg: Pcg64) -> Self {
        Self { bg }
    }

    /// The underlying bit generator (for raw draws).
    pub fn bit_generator(&mut self) -> &mut Pcg64 {
        &mut self.bg
    }

    /// Uniform in `[0, max]` by masked rejection sampling (what `shuffle`/`permutation` use).
    #[inline]
    pub fn random_interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mask = gen_mask(max);
        if max <= 0xffff_ffff {
            loop {
                let v = u64::from(self.bg.next_u32()) & mask;
                if v <= max {
                    return v;
                }
            }
        }
        loop {
            let v = self.bg.next_u64() & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// Uniform in the closed range `[off, off + rng]` by Lemire's rejection method, with
    /// numpy's choice of 32- or 64-bit words (what `integers` and `choice` use).
    #[inline]
    pub fn bounded(&mut self, off: u64, rng: u64) -> u64 {
        if rng == 0 {
            return off;
        }
        if rng < 0xffff_ffff {
            let excl = rng + 1;
            let mut m = u64::from(self.bg.next_u32()) * excl;
            let mut left = m & 0xffff_ffff;
            if left < excl {
                let thr = (0xffff_ffff - rng) % excl;
                while left < thr {
                    m = u64::from(self.bg.next_u32()) * excl;
                    left = m & 0xffff_ffff;
                }
            }
            return off.wrapping_add(m >> 32);
        }
        if rng == 0xffff_ffff {
            return off.wrapping_add(u64::from(self.bg.next_u32()));
        }
        if rng == u64::MAX {
            return off.wrapping_add(self.bg.next_u64());
        }
        let excl = u128::from(rng) + 1;
        let mut m = u128::from(self.bg.next_u64()) * excl;
        let mut left = m & u128::from(u64::MAX);
        if left < excl {
            let thr = (u128::from(u64::MAX) - u128::from(rng)) % excl;
            while left < thr {
                m = u128::from(self.bg.next_u64()) * excl;
                left = m & u128::from(u64::MAX);
            }
        }
        #[allow(clippy::cast_possible_truncation)] // high half of a 64x64 product fits u64
        let hi = (m >> 64) as u64;
        off.wrapping_add(hi)
    }

    fn integer_range(low: i64, high: i64, endpoint: bool) -> Result<u64> {
        let hi = i128::from(high) - i128::from(!endpoint);
        let rng = hi - i128::from(low);
        if rng < 0 {
            return Err(Error::EmptyRange { low, high });
        }
        u64::try_from(rng).map_err(|_| Error::EmptyRange { low, high })
    }

    /// `integers(low, high)` (int64, `endpoint=False`), one value.
    pub fn integer(&mut self, low: i64, high: i64) -> Result<i64> {
        let rng = Self::integer_range(low, high, false)?;
        Ok(Self::offset(low, self.bounded(0, rng)))
    }

    /// `integers(low, high, size, endpoint=endpoint)` (int64); `size == 0` draws and checks
    /// nothing, as numpy does.
    pub fn integers(
        &mut self,
        low: i64,
        high: i64,
        size: usize,
        endpoint: bool,
    ) -> Result<Vec<i64>> {
        if size == 0 {
            return Ok(Vec::new());
        }
        let rng = Self::integer_range(low, high, endpoint)?;
        Ok((0..size)
            .map(|_| Self::offset(low, self.bounded(0, rng)))
            .collect())
    }

    #[inline]
    fn offset(low: i64, v: u64) -> i64 {
        // `low + v` fits i64 because `v <= high - low`; wrapping add of the two's complement is exact.
        #[allow(clippy::cast_possible_wrap)]
        let r = low.wrapping_add(v as i64);
        r
    }

    /// In-place `shuffle` of a list or 1-D array (Fisher–Yates from the back, masked
    /// rejection draws).
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.random_interval(i as u64);
            #[allow(clippy::cast_possible_truncation)] // j <= i < len
            x.swap(i, j as usize);
        }
    }

    /// Draws what [`Generator::shuffle`] of `len` items draws, without moving anything.
    pub(crate) fn skip_shuffle(&mut self, len: usize) {
        for i in (1..len).rev() {
            self.random_interval(i as u64);
        }
    }

    /// `permutation(n)`: a shuffled `0..n`.
    pub fn permutation(&mut self, n: u64) -> Vec<u64> {
        let mut v: Vec<u64> = (0..n).collect();
        self.shuffle(&mut v);
        v
    }

    /// `choice(n, k, replace=False)` with `p=None, shuffle=True`.
    pub fn choice(&mut self, n: u64, k: u64) -> Result<Vec<u64>> {
        if k > n {
            return Err(Error::ChoiceTooLarge {
                population: n,
                size: k,
            });
        }
        let ku = usize::try_from(k).map_err(|_| Error::ChoiceTooLarge {
            population: n,
            size: k,
        })?;
        if n > 10_000 && k > n / 50 {
            let nu = usize::try_from(n).map_err(|_| Error::ChoiceTooLarge {
                population: n,
                size: k,
            })?;
            let mut idx: Vec<u64> = (0..n).collect();
            let stop = (nu - ku).max(1);
            for i in (stop..nu).rev() {
                let j = self.bounded(0, i as u64);
                #[allow(clippy::cast_possible_truncation)]
                idx.swap(i, j as usize);
            }
            return Ok(idx.split_off(nu - ku));
        }
        // Floyd's algorithm; a HashSet has the same membership semantics as numpy's table.
        let mut seen = std::collections::HashSet::with_capacity(ku);
        let mut out = Vec::with_capacity(ku);
        for j in (n - k)..n {
            let val = self.bounded(0, j);
            if seen.insert(val) {
                out.push(val);
            } else {
                seen.insert(j);
                out.push(j);
            }
        }
        for i in (1..ku).rev() {
            let j = self.bounded(0, i as u64);
            #[allow(clippy::cast_possible_truncation)]
            out.swap(i, j as usize);
        }
        Ok(out)
    }

    /// `uniform(low, high, size)`: `low + (high - low) * next_double()`, not fused.
    pub fn uniform(&mut self, low: f64, high: f64, size: usize) -> Result<Vec<f64>> {
        let range = Self::uniform_range(low, high)?;
        Ok((0..size)
            .map(|_| low + range * self.bg.next_double())
            .collect())
    }

    pub(crate) fn uniform_range(low: f64, high: f64) -> Result<f64> {
        let range = high - low;
        if !range.is_finite() || range < 0.0 {
            return Err(Error::UniformRange { low, high });
        }
        Ok(range)
    }

    #[inline]
    pub(crate) fn next_double(&mut self) -> f64 {
        self.bg.next_double()
    }
}

/// numpy's float64 `sum` of a contiguous 1-D array (pairwise, eight accumulators).
pub fn np_sum_f64(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = -0.0;
        for &x in a {
            res += x;
        }
        return res;
    }
    if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for k in 0..8 {
                r[k] += a[i + k];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        return res;
    }
    let n2 = n / 2 - (n / 2) % 8;
    np_sum_f64(&a[..n2]) + np_sum_f64(&a[n2..])
}
