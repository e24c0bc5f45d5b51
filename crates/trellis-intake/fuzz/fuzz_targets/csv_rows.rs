//! `cargo +nightly fuzz run csv_rows`: arbitrary bytes as an uploaded CSV
//! file. `read` must never panic, row numbers must rise above the header's,
//! and no more than `max_rows` rows may come out. Seed the corpus with
//! tests/fixtures/csv/. On stable Rust the same ground is covered by the
//! proptests in tests/csv_rows.rs (mutated fixtures).
#![no_main]

use libfuzzer_sys::fuzz_target;
use trellis_intake::csv_rows;

fuzz_target!(|data: &[u8]| {
    // The default limit, and a tiny one so the limit path is exercised too.
    for max_rows in [csv_rows::MAX_ROWS, 2] {
        let Ok((header, mut rows)) = csv_rows::read(data, max_rows) else {
            continue;
        };
        let mut last = header.row();
        let mut count = 0;
        for item in rows.by_ref() {
            let number = match &item {
                Ok(row) => row.number,
                Err(error) => error.number,
            };
            assert!(number > last, "row {number} after row {last}");
            last = number;
            count += 1;
        }
        assert!(count <= max_rows);
        let _ = rows.finish();
    }
});
