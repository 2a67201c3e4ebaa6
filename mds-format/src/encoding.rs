//! MDS column encodings (owned by the encodings work; placeholder).
