//! Any bytes as index.json: parsing must return, never panic; what parses must write back
//! and parse again to the same index.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mds_format::Index;

fuzz_target!(|data: &[u8]| {
    if let Ok(index) = Index::from_slice(Path::new("index.json"), data) {
        let text = index.to_json_string();
        let again = Index::from_slice(Path::new("index.json"), text.as_bytes()).expect("our own output parses");
        assert_eq!(again.to_json_string(), text);
    }
});
