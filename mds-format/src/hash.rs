//! File hashes as the reference stores them in index.json (reference.md §7).
//!
//! The reference accepts every `hashlib` algorithm that is a module attribute (minus `shake_*`)
//! and every `xxhash` algorithm. Digests are lowercase hex of the default digest; xxhash
//! digests use seed 0 and the canonical big-endian form (`hexdigest()`).

use std::fmt;
use std::str::FromStr;

use sha2::Digest as _;

use crate::error::Error;

/// A hash algorithm the reference can record in index.json.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// `blake2b` (64-byte digest).
    Blake2b,
    /// `blake2s` (32-byte digest).
    Blake2s,
    /// `md5`.
    Md5,
    /// `sha1`.
    Sha1,
    /// `sha224`.
    Sha224,
    /// `sha256`.
    Sha256,
    /// `sha384`.
    Sha384,
    /// `sha512`.
    Sha512,
    /// `sha3_224`.
    Sha3_224,
    /// `sha3_256`.
    Sha3_256,
    /// `sha3_384`.
    Sha3_384,
    /// `sha3_512`.
    Sha3_512,
    /// `xxh32` (seed 0).
    Xxh32,
    /// `xxh64` (seed 0).
    Xxh64,
    /// `xxh3_64` (seed 0).
    Xxh3_64,
    /// `xxh128`: the same function as `xxh3_128` under its other name.
    Xxh128,
    /// `xxh3_128` (seed 0).
    Xxh3_128,
}

impl HashAlgorithm {
    /// Every algorithm, in the order of their names.
    pub const ALL: [HashAlgorithm; 17] = [
        HashAlgorithm::Blake2b,
        HashAlgorithm::Blake2s,
        HashAlgorithm::Md5,
        HashAlgorithm::Sha1,
        HashAlgorithm::Sha224,
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
        HashAlgorithm::Sha3_224,
        HashAlgorithm::Sha3_256,
        HashAlgorithm::Sha3_384,
        HashAlgorithm::Sha3_512,
        HashAlgorithm::Xxh128,
        HashAlgorithm::Xxh32,
        HashAlgorithm::Xxh3_128,
        HashAlgorithm::Xxh3_64,
        HashAlgorithm::Xxh64,
    ];

    /// The name as index.json spells it.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Blake2b => "blake2b",
            HashAlgorithm::Blake2s => "blake2s",
            HashAlgorithm::Md5 => "md5",
            HashAlgorithm::Sha1 => "sha1",
            HashAlgorithm::Sha224 => "sha224",
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha384 => "sha384",
            HashAlgorithm::Sha512 => "sha512",
            HashAlgorithm::Sha3_224 => "sha3_224",
            HashAlgorithm::Sha3_256 => "sha3_256",
            HashAlgorithm::Sha3_384 => "sha3_384",
            HashAlgorithm::Sha3_512 => "sha3_512",
            HashAlgorithm::Xxh32 => "xxh32",
            HashAlgorithm::Xxh64 => "xxh64",
            HashAlgorithm::Xxh3_64 => "xxh3_64",
            HashAlgorithm::Xxh128 => "xxh128",
            HashAlgorithm::Xxh3_128 => "xxh3_128",
        }
    }

    /// Starts an incremental hash.
    pub fn hasher(self) -> Hasher {
        Hasher(match self {
            HashAlgorithm::Blake2b => State::Blake2b(Box::default()),
            HashAlgorithm::Blake2s => State::Blake2s(Box::default()),
            HashAlgorithm::Md5 => State::Md5(Box::default()),
            HashAlgorithm::Sha1 => State::Sha1(Box::default()),
            HashAlgorithm::Sha224 => State::Sha224(Box::default()),
            HashAlgorithm::Sha256 => State::Sha256(Box::default()),
            HashAlgorithm::Sha384 => State::Sha384(Box::default()),
            HashAlgorithm::Sha512 => State::Sha512(Box::default()),
            HashAlgorithm::Sha3_224 => State::Sha3_224(Box::default()),
            HashAlgorithm::Sha3_256 => State::Sha3_256(Box::default()),
            HashAlgorithm::Sha3_384 => State::Sha3_384(Box::default()),
            HashAlgorithm::Sha3_512 => State::Sha3_512(Box::default()),
            HashAlgorithm::Xxh32 => State::Xxh32(Box::new(xxhash_rust::xxh32::Xxh32::new(0))),
            HashAlgorithm::Xxh64 => State::Xxh64(Box::new(xxhash_rust::xxh64::Xxh64::new(0))),
            HashAlgorithm::Xxh3_64 => State::Xxh3_64(Box::default()),
            HashAlgorithm::Xxh128 | HashAlgorithm::Xxh3_128 => State::Xxh3_128(Box::default()),
        })
    }

    /// The lowercase hex digest of `data`.
    pub fn hex_digest(self, data: &[u8]) -> String {
        let mut h = self.hasher();
        h.update(data);
        h.finish_hex()
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HashAlgorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        HashAlgorithm::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| Error::UnknownHash { name: s.to_owned() })
    }
}

/// An incremental hash of one file; see [`HashAlgorithm::hasher`].
#[derive(Clone)]
pub struct Hasher(State);

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher").finish_non_exhaustive()
    }
}

#[derive(Clone)]
enum State {
    Blake2b(Box<blake2::Blake2b512>),
    Blake2s(Box<blake2::Blake2s256>),
    Md5(Box<md5::Md5>),
    Sha1(Box<sha1::Sha1>),
    Sha224(Box<sha2::Sha224>),
    Sha256(Box<sha2::Sha256>),
    Sha384(Box<sha2::Sha384>),
    Sha512(Box<sha2::Sha512>),
    Sha3_224(Box<sha3::Sha3_224>),
    Sha3_256(Box<sha3::Sha3_256>),
    Sha3_384(Box<sha3::Sha3_384>),
    Sha3_512(Box<sha3::Sha3_512>),
    Xxh32(Box<xxhash_rust::xxh32::Xxh32>),
    Xxh64(Box<xxhash_rust::xxh64::Xxh64>),
    Xxh3_64(Box<xxhash_rust::xxh3::Xxh3Default>),
    Xxh3_128(Box<xxhash_rust::xxh3::Xxh3Default>),
}

impl Hasher {
    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            State::Blake2b(h) => h.update(data),
            State::Blake2s(h) => h.update(data),
            State::Md5(h) => h.update(data),
            State::Sha1(h) => h.update(data),
            State::Sha224(h) => h.update(data),
            State::Sha256(h) => h.update(data),
            State::Sha384(h) => h.update(data),
            State::Sha512(h) => h.update(data),
            State::Sha3_224(h) => h.update(data),
            State::Sha3_256(h) => h.update(data),
            State::Sha3_384(h) => h.update(data),
            State::Sha3_512(h) => h.update(data),
            State::Xxh32(h) => h.update(data),
            State::Xxh64(h) => h.update(data),
            State::Xxh3_64(h) | State::Xxh3_128(h) => h.update(data),
        }
    }

    /// The lowercase hex digest of everything fed so far.
    pub fn finish_hex(self) -> String {
        match self.0 {
            State::Blake2b(h) => hex::encode(h.finalize()),
            State::Blake2s(h) => hex::encode(h.finalize()),
            State::Md5(h) => hex::encode(h.finalize()),
            State::Sha1(h) => hex::encode(h.finalize()),
            State::Sha224(h) => hex::encode(h.finalize()),
            State::Sha256(h) => hex::encode(h.finalize()),
            State::Sha384(h) => hex::encode(h.finalize()),
            State::Sha512(h) => hex::encode(h.finalize()),
            State::Sha3_224(h) => hex::encode(h.finalize()),
            State::Sha3_256(h) => hex::encode(h.finalize()),
            State::Sha3_384(h) => hex::encode(h.finalize()),
            State::Sha3_512(h) => hex::encode(h.finalize()),
            State::Xxh32(h) => format!("{:08x}", h.digest()),
            State::Xxh64(h) => format!("{:016x}", h.digest()),
            State::Xxh3_64(h) => format!("{:016x}", h.digest()),
            State::Xxh3_128(h) => format!("{:032x}", h.digest128()),
        }
    }
}

/// Hashes `data` with each algorithm; `(name, hex digest)` pairs in the given order.
pub fn hex_digests(algorithms: &[HashAlgorithm], data: &[u8]) -> Vec<(String, String)> {
    algorithms
        .iter()
        .map(|a| (a.name().to_owned(), a.hex_digest(data)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests_of_abc() {
        // Values from Python: hashlib.new(name, b"abc").hexdigest() / xxhash.<name>(b"abc").hexdigest().
        let cases = [
            ("md5", "900150983cd24fb0d6963f7d28e17f72"),
            ("sha1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (
                "sha256",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            ("xxh32", "32d153ff"),
            ("xxh64", "44bc2cf5ad770999"),
            ("xxh3_64", "78af5f94892f3950"),
            ("xxh128", "06b05ab6733a618578af5f94892f3950"),
            ("xxh3_128", "06b05ab6733a618578af5f94892f3950"),
            (
                "sha224",
                "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
            ),
            (
                "sha3_256",
                "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
            ),
            (
                "blake2s",
                "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982",
            ),
            (
                "blake2b",
                "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1\
                 7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
            ),
        ];
        for (name, want) in cases {
            let alg: HashAlgorithm = name.parse().unwrap();
            assert_eq!(alg.hex_digest(b"abc"), want, "{name}");
        }
        for alg in HashAlgorithm::ALL {
            assert_eq!(alg.name().parse::<HashAlgorithm>().unwrap(), alg);
        }
        assert!("shake_128".parse::<HashAlgorithm>().is_err());
    }
}
