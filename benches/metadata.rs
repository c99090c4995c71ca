//! Parse and print the metadata of a VG with 2,000 LVs; prints MB/s
//! (median of several rounds). Run: `cargo bench --bench metadata`.

use std::time::Instant;

use lvmetad::model::{
    parse_vg_text, vg_to_text, Area, Lv, Pv, SegType, Segment, TextHeader, TextStyle, Vg,
};

fn big_vg(lvs: usize) -> Vg {
    let pvs: Vec<Pv> = (0..16)
        .map(|i| Pv {
            key: format!("pv{i}"),
            id: lvmetad::uuid::format(&lvmetad::uuid::generate()),
            device: Some(format!("/dev/sd{}", (b'a' + i as u8) as char)),
            status: vec!["ALLOCATABLE".into()],
            flags: vec![],
            tags: vec![],
            dev_size: 1 << 31,
            pe_start: 2048,
            pe_count: 262_000,
            ba_start: None,
            ba_size: None,
            extra: vec![],
        })
        .collect();
    let lvs = (0..lvs)
        .map(|i| {
            let stripes = 1 + i % 3;
            Lv {
                name: format!("lv{i:04}"),
                id: lvmetad::uuid::format(&lvmetad::uuid::generate()),
                status: vec!["READ".into(), "WRITE".into(), "VISIBLE".into()],
                flags: vec![],
                tags: if i % 5 == 0 {
                    vec![format!("tag{i}")]
                } else {
                    vec![]
                },
                creation_time: Some(1_700_000_000 + i as i64),
                creation_host: Some("bench".into()),
                allocation_policy: None,
                read_ahead: None,
                segments: vec![Segment {
                    start_extent: 0,
                    extent_count: 2 * stripes as u64,
                    segtype: SegType::Striped,
                    tags: vec![],
                    areas: (0..stripes)
                        .map(|s| Area::Pv {
                            pv: format!("pv{}", (i + s) % 16),
                            pe: (i as u64) * 2,
                        })
                        .collect(),
                    stripe_size: (stripes > 1).then_some(128),
                    raid: None,
                    extra: vec![],
                }],
                extra: vec![],
            }
        })
        .collect();
    Vg {
        name: "bench".into(),
        id: lvmetad::uuid::format(&lvmetad::uuid::generate()),
        seqno: 1,
        format: Some("lvm2".into()),
        status: vec!["RESIZEABLE".into(), "READ".into(), "WRITE".into()],
        flags: vec![],
        tags: vec![],
        system_id: None,
        extent_size: 8192,
        max_lv: 0,
        max_pv: 0,
        metadata_copies: 0,
        pvs,
        lvs,
        historical_lvs: None,
        extra: vec![],
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let vg = big_vg(2000);
    let header = TextHeader::new("bench", 0);
    let text = vg_to_text(&vg, &header, TextStyle::Disk);
    let mb = text.len() as f64 / 1e6;
    let rounds = 15;
    let mut parse = Vec::new();
    let mut print = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let (back, _) = parse_vg_text(&text).expect("parses");
        parse.push(mb / t.elapsed().as_secs_f64());
        assert_eq!(back.lvs.len(), 2000);
        let t = Instant::now();
        let out = vg_to_text(&back, &header, TextStyle::Disk);
        print.push(mb / t.elapsed().as_secs_f64());
        assert_eq!(out.len(), text.len());
    }
    println!("metadata of a VG with 2,000 LVs: {:.2} MB of text", mb);
    println!(
        "parse: median {:.1} MB/s over {rounds} rounds",
        median(parse)
    );
    println!(
        "print: median {:.1} MB/s over {rounds} rounds",
        median(print)
    );
}
