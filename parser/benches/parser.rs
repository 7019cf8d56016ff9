//! Contact parser throughput, one thread: `cargo bench -p contacts-parser --bench parser`.
//!
//! Generated inputs (fixed seed): CSV of 100k and 1M rows and XLSX of 100k rows (strings
//! inline, and in the shared-string table as Excel writes them), each
//! row `phone,name,company,email` with US numbers in the usual spellings and ~2% bad or
//! duplicate rows. Each case runs several times; the median rows/s is printed with the
//! range. The naive baseline (csv + rlibphonenumber parse + is_valid on every row, nothing
//! else) runs in the same process so the ratio is measured in one run.
//! `PARSER_BENCH_QUICK=1` runs each case once (a smoke test); `PARSER_BENCH_ONLY=<text>` runs
//! only the cases whose label contains the text (for a profiler: `PARSER_BENCH_ONLY="csv 100k"`).

use std::hint::black_box;
use std::time::Instant;

use contacts_parser::{ParseOptions, parse_file};
use rlibphonenumber::{PHONE_NUMBER_UTIL, Region};

#[allow(dead_code)]
#[path = "../src/xlsx_writer.rs"]
mod xlsx_writer;
use xlsx_writer::{XCell, write_xlsx, write_xlsx_shared_strings};

/// NANP area codes in use (a sample across time zones).
const AREA: &[u16] = &[
    201, 202, 203, 205, 206, 207, 208, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224, 225, 228,
    229, 231, 234, 239, 240, 248, 251, 252, 253, 254, 256, 260, 262, 267, 269, 270, 276, 281, 301,
    302, 303, 304, 305, 307, 308, 309, 310, 312, 313, 314, 315, 316, 317, 318, 319, 320, 321, 323,
    325, 330, 334, 336, 337, 339, 347, 351, 352, 360, 361, 386, 401, 402, 404, 405, 406, 407, 408,
    409, 410, 412, 413, 414, 415, 417, 419, 423, 424, 425, 430, 432, 434, 435, 440, 443, 469, 470,
    475, 478, 479, 480, 484, 501, 502, 503, 504, 505, 507, 508, 509, 510, 512, 513, 515, 516, 517,
    518, 520, 530, 540, 541, 551, 559, 561, 562, 563, 567, 570, 571, 573, 574, 575, 580, 585, 586,
    601, 602, 603, 605, 606, 607, 608, 609, 610, 612, 614, 615, 616, 617, 618, 619, 620, 623, 626,
    630, 631, 636, 641, 646, 650, 651, 660, 661, 662, 678, 682, 701, 702, 703, 704, 706, 707, 708,
    712, 713, 714, 715, 716, 717, 718, 719, 720, 724, 727, 731, 732, 734, 740, 754, 757, 760, 763,
    765, 770, 772, 773, 774, 775, 781, 785, 786, 801, 802, 803, 804, 805, 806, 808, 810, 812, 813,
    814, 815, 816, 817, 818, 828, 830, 831, 832, 843, 845, 847, 848, 850, 856, 857, 858, 859, 860,
    862, 863, 864, 865, 870, 878, 901, 903, 904, 906, 907, 908, 909, 910, 912, 913, 914, 915, 916,
    917, 918, 919, 920, 925, 928, 931, 936, 937, 940, 941, 947, 949, 951, 952, 954, 956, 970, 971,
    972, 973, 978, 979, 980, 985, 989,
];

#[allow(dead_code)]
#[path = "../src/test_rng.rs"]
mod test_rng;
use test_rng::Rng;

/// One phone cell: mostly valid US numbers in common spellings, some bad ones.
fn phone(rng: &mut Rng) -> String {
    let area = AREA[rng.below(AREA.len())];
    let exch = 200 + rng.below(800);
    let line = rng.below(10_000);
    match rng.below(100) {
        0 => "n/a".to_string(),
        1 => format!("{area}-{exch}"),
        2..=24 => format!("({area}) {exch}-{line:04}"),
        25..=49 => format!("{area}-{exch}-{line:04}"),
        50..=69 => format!("+1 {area} {exch} {line:04}"),
        70..=84 => format!("{area}{exch}{line:04}"),
        85..=94 => format!("+1{area}{exch}{line:04}"),
        _ => format!("{area}.{exch}.{line:04}"),
    }
}

fn rows(n: usize) -> Vec<[String; 4]> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    (0..n)
        .map(|i| {
            [
                phone(&mut rng),
                format!("Contact {i}"),
                format!("Company {}", i % 997),
                format!("user{i}@example.com"),
            ]
        })
        .collect()
}

fn csv(rows: &[[String; 4]]) -> Vec<u8> {
    let mut out = String::from("phone,name,company,email\n");
    for [p, n, c, e] in rows {
        out.push_str(&format!("{p},{n},{c},{e}\n"));
    }
    out.into_bytes()
}

fn xlsx(rows: &[[String; 4]], shared_strings: bool) -> Vec<u8> {
    let s = |v: &str| XCell::Str(v.to_string());
    let mut sheet = vec![vec![s("phone"), s("name"), s("company"), s("email")]];
    for [p, n, c, e] in rows {
        // Bare digit strings become number cells, as a spreadsheet stores them.
        let pc = match p.parse::<f64>() {
            Ok(f) => XCell::Num(f),
            Err(_) => s(p),
        };
        sheet.push(vec![pc, s(n), s(c), s(e)]);
    }
    if shared_strings {
        write_xlsx_shared_strings(&[("Contacts", sheet)])
    } else {
        write_xlsx(&[("Contacts", sheet)])
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Runs `f` `runs` times; prints and returns the median rows/s.
fn measure(label: &str, rows: usize, runs: usize, mut f: impl FnMut() -> u64) -> f64 {
    if std::env::var("PARSER_BENCH_ONLY").is_ok_and(|only| !label.contains(only.as_str())) {
        return f64::NAN;
    }
    let mut rates = Vec::with_capacity(runs);
    let mut imported = 0;
    for _ in 0..runs {
        let t = Instant::now();
        imported = black_box(f());
        rates.push(rows as f64 / t.elapsed().as_secs_f64());
    }
    let (lo, hi) = (
        rates.iter().cloned().fold(f64::INFINITY, f64::min),
        rates.iter().cloned().fold(0.0, f64::max),
    );
    let med = median(rates);
    println!(
        "{label:<34} {med:>12.0} rows/s  (median of {runs}, range {lo:.0}..{hi:.0}; {imported} valid)"
    );
    med
}

fn naive(bytes: &[u8]) -> u64 {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let mut record = csv::StringRecord::new();
    let mut valid = 0;
    while let Ok(true) = reader.read_record(&mut record) {
        let raw = record.get(0).unwrap_or("");
        if let Ok(n) = PHONE_NUMBER_UTIL.parse(raw, Some(Region::US))
            && PHONE_NUMBER_UTIL.is_valid_number(&n)
        {
            valid += 1;
        }
    }
    valid
}

fn main() {
    let quick = std::env::var_os("PARSER_BENCH_QUICK").is_some();
    let runs = |n: usize| if quick { 1 } else { n };
    let opts = ParseOptions::default();
    // Warm libphonenumber's lazy metadata and regexes outside the measurements.
    let _ = PHONE_NUMBER_UTIL.parse("2025550123", Some(Region::US));

    let rows_100k = rows(100_000);
    let csv_100k = csv(&rows_100k);
    // Generating the 1M input costs seconds (minutes under a profiler): only when it is run.
    let csv_1m = if std::env::var("PARSER_BENCH_ONLY").is_ok_and(|only| !"parse_file csv 1M".contains(only.as_str())) {
        Vec::new()
    } else {
        csv(&rows(1_000_000))
    };
    let xlsx_100k = xlsx(&rows_100k, false);
    let xlsx_shared_100k = xlsx(&rows_100k, true);
    println!(
        "inputs: csv 100k = {} bytes, csv 1M = {} bytes, xlsx 100k = {} bytes, xlsx-shared 100k = {} bytes",
        csv_100k.len(),
        csv_1m.len(),
        xlsx_100k.len(),
        xlsx_shared_100k.len()
    );

    let count = |bytes: &[u8], name: &str| match parse_file(bytes, name, &opts) {
        Ok(p) => p.report.imported,
        Err(e) => panic!("bench input rejected: {e}"),
    };
    let phones: Vec<&str> = rows_100k.iter().map(|r| r[0].as_str()).collect();
    let us = Region::US;
    measure(
        "phone::normalize (fast path) 100k",
        100_000,
        runs(7),
        || {
            phones
                .iter()
                .filter(|p| contacts_parser::phone::normalize(p, us).is_ok())
                .count() as u64
        },
    );
    measure("phone::normalize_full 100k", 100_000, runs(7), || {
        phones
            .iter()
            .filter(|p| contacts_parser::phone::normalize_full(p, us).is_ok())
            .count() as u64
    });
    let naive_rate = measure("naive csv 100k (parse+is_valid)", 100_000, runs(7), || {
        naive(&csv_100k)
    });
    let csv_rate = measure("parse_file csv 100k", 100_000, runs(7), || {
        count(&csv_100k, "c.csv")
    });
    measure("parse_file csv 1M", 1_000_000, runs(5), || {
        count(&csv_1m, "c.csv")
    });
    measure("parse_file xlsx 100k", 100_000, runs(5), || {
        count(&xlsx_100k, "c.xlsx")
    });
    measure("parse_file xlsx-shared 100k", 100_000, runs(5), || {
        count(&xlsx_shared_100k, "c.xlsx")
    });
    println!(
        "parse_file csv 100k / naive baseline = {:.2}x",
        csv_rate / naive_rate
    );
}
