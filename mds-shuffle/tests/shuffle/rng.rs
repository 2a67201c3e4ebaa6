//! pcg64.json and generator.json.

use mds_shuffle::rng::{Generator, Pcg64, SeedSequence};

use crate::util::{cases, decimal_words, i, i_list, load, u, u_list, u128_of};

#[test]
fn pcg64_seeding_and_raw_output() {
    let v = load("pcg64.json");
    for case in cases(&v) {
        let seed = case["seed"].as_str().unwrap();
        let seq = SeedSequence::from_entropy_words(&decimal_words(seed));
        let pool: Vec<u64> = seq.pool().iter().map(|&x| u64::from(x)).collect();
        assert_eq!(pool, u_list(&case["pool"]), "seed {seed}: pool");
        assert_eq!(
            seq.generate_state_u64(4),
            u_list(&case["generate_state_u64x4"]),
            "seed {seed}"
        );
        let g = Pcg64::from_seed_sequence(&seq);
        assert_eq!(g.state(), u128_of(&case["state"]), "seed {seed}: state");
        assert_eq!(g.inc(), u128_of(&case["inc"]), "seed {seed}: inc");
        let mut a = g.clone();
        let got: Vec<u64> = (0..16).map(|_| a.next_u64()).collect();
        assert_eq!(got, u_list(&case["next64"]), "seed {seed}: next64");
        let mut b = g.clone();
        let got: Vec<u64> = (0..9).map(|_| u64::from(b.next_u32())).collect();
        assert_eq!(got, u_list(&case["next32"]), "seed {seed}: next32");
        let mut c = g;
        let got: Vec<String> = (0..4)
            .map(|_| format!("{:016x}", c.next_double().to_bits()))
            .collect();
        let want: Vec<String> = case["next_double_bits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(got, want, "seed {seed}: next_double");
    }
}

#[test]
fn small_seeds_match_word_split() {
    for seed in [0u128, 1, 42, 4_294_967_296, 18_446_744_073_709_551_621] {
        assert_eq!(
            SeedSequence::new(seed),
            SeedSequence::from_entropy_words(&decimal_words(&seed.to_string()))
        );
    }
}

#[test]
fn generator_scripts() {
    let v = load("generator.json");
    let mut checked = 0;
    for case in cases(&v) {
        let seed = case["seed"].as_str().unwrap();
        let mut g = Generator::from_bit_generator(Pcg64::from_seed_sequence(
            &SeedSequence::from_entropy_words(&decimal_words(seed)),
        ));
        let results = case["results"].as_array().unwrap();
        for (k, (op, want)) in case["ops"]
            .as_array()
            .unwrap()
            .iter()
            .zip(results)
            .enumerate()
        {
            let ctx = format!("seed {seed} op {k} {op}");
            let got: serde_json::Value = match op["op"].as_str().unwrap() {
                "integers" => {
                    let (low, high) = (i(&op["low"]), i(&op["high"]));
                    let endpoint = op
                        .get("endpoint")
                        .and_then(serde_json::Value::as_bool)
                        .unwrap_or(false);
                    match op.get("size") {
                        None => serde_json::json!(g.integer(low, high).unwrap()),
                        Some(size) => serde_json::json!(
                            g.integers(low, high, u(size) as usize, endpoint).unwrap()
                        ),
                    }
                }
                "shuffle_list" | "shuffle_array" => {
                    let mut x: Vec<u64> = (0..u(&op["n"])).collect();
                    g.shuffle(&mut x);
                    serde_json::json!(x)
                }
                "permutation" => serde_json::json!(g.permutation(u(&op["n"]))),
                "uniform" => {
                    let low = op["low"].as_f64().unwrap();
                    let high = op["high"].as_f64().unwrap();
                    let xs = g.uniform(low, high, u(&op["size"]) as usize).unwrap();
                    serde_json::json!(
                        xs.iter()
                            .map(|x| format!("{:016x}", x.to_bits()))
                            .collect::<Vec<_>>()
                    )
                }
                "choice" => serde_json::json!(g.choice(u(&op["n"]), u(&op["size"])).unwrap()),
                "random_raw" => {
                    let xs: Vec<String> = (0..u(&op["n"]))
                        .map(|_| g.bit_generator().next_u64().to_string())
                        .collect();
                    serde_json::json!(xs)
                }
                other => panic!("unknown op {other}"),
            };
            if want.is_null() {
                continue;
            }
            checked += 1;
            if let Some(arr) = want.as_array() {
                if arr.first().is_some_and(serde_json::Value::is_string) {
                    assert_eq!(&got, want, "{ctx}");
                } else {
                    assert_eq!(i_list(&got), i_list(want), "{ctx}");
                }
            } else {
                assert_eq!(i(&got), i(want), "{ctx}");
            }
        }
    }
    assert!(checked > 100, "only {checked} results checked");
}

#[test]
fn integers_empty_range_is_an_error() {
    let mut g = Generator::new(0);
    assert!(g.integers(0, 0, 3, false).is_err());
    assert!(g.integer(5, 5).is_err());
    assert_eq!(g.integers(0, 0, 0, false).unwrap(), Vec::<i64>::new());
    assert!(g.choice(3, 4).is_err());
    assert!(g.uniform(1.0, 0.0, 2).is_err());
}

#[test]
fn skip_u64_equals_that_many_draws_and_keeps_the_half_word() {
    for n in [0u64, 1, 2, 3, 63, 64, 1000, 65_537] {
        let mut stepped = Pcg64::new(9176);
        // A buffered 32-bit half word must survive both ways.
        let _ = stepped.next_u32();
        let mut skipped = stepped.clone();
        for _ in 0..n {
            stepped.next_u64();
        }
        skipped.skip_u64(u128::from(n));
        assert_eq!(skipped, stepped, "n {n}");
        assert_eq!(skipped.next_u32(), stepped.next_u32(), "n {n}");
    }
}
